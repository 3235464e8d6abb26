// Trainer metrics.
#include "services/trainer/trainer_metrics.h"

#include <string>

#include "common/service/metric_builders.h"

namespace monoroute::trainer {

TrainerMetrics::TrainerMetrics(prometheus::Registry& r)
    : jobs_(GaugeFamily(r, "monoroute_trainer_jobs", "Jobs by state")),
      steps_(CounterFamily(r, "monoroute_trainer_steps_total", "Optimizer steps run, by job_id")),
      tokens_per_s_(
          GaugeFamily(r, "monoroute_trainer_tokens_per_second", "Training throughput, by job_id")),
      loss_(GaugeFamily(r, "monoroute_trainer_loss",
                        "Latest loss by job_id and kind (lm, balance, total, val)")),
      max_violation_(GaugeFamily(r, "monoroute_trainer_load_max_violation",
                                 "max_p |load_p * P - 1| of a routed layer, by job_id and layer")),
      load_entropy_(
          GaugeFamily(r, "monoroute_trainer_load_entropy",
                      "Entropy (nats) of a routed layer's pathway load, by job_id and layer")),
      checkpoint_seconds_(AddHistogram(
          r, "monoroute_trainer_checkpoint_seconds", "Time to write a checkpoint",
          prometheus::Histogram::BucketBoundaries{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10})),
      events_sent_(CounterFamily(r, "monoroute_trainer_events_sent_total",
                                 "Routing events enqueued to the recorder, by job_id")),
      events_dropped_(
          CounterFamily(r, "monoroute_trainer_events_dropped_total",
                        "Routing events dropped (queue full / recorder down), by job_id")) {
  SetJobsByState({});  // every state's gauge exists at zero from the start
}

void TrainerMetrics::SetJobsByState(const std::map<JobState, int>& counts) {
  std::lock_guard<std::mutex> l(mu_);
  for (const EnumName<JobState>& s : kJobStateNames) {
    auto it = counts.find(s.value);
    jobs_.Add({{"state", s.name}}).Set(it == counts.end() ? 0 : it->second);
  }
}

template <typename T>
T& TrainerMetrics::Series(const std::string& job, prometheus::Family<T>& family,
                          const std::map<std::string, std::string>& labels) {
  T& m = family.Add(labels);
  series_[job].try_emplace(&m, [&family, &m]() { family.Remove(&m); });
  return m;
}

void TrainerMetrics::OnJobEnded(const std::string& job) {
  std::lock_guard<std::mutex> l(mu_);
  ended_.try_emplace(job, Clock::now());
}

int TrainerMetrics::RemoveEnded(std::chrono::milliseconds linger) {
  std::lock_guard<std::mutex> l(mu_);
  const Clock::time_point now = Clock::now();
  int removed = 0;
  for (auto it = ended_.begin(); it != ended_.end();) {
    if (now - it->second < linger) {
      ++it;
      continue;
    }
    auto s = series_.find(it->first);
    if (s != series_.end()) {
      for (auto& [metric, remove] : s->second) remove();
      series_.erase(s);
      ++removed;
    }
    last_step_.erase(it->first);
    it = ended_.erase(it);
  }
  return removed;
}

int TrainerMetrics::jobs_with_series() const {
  std::lock_guard<std::mutex> l(mu_);
  return static_cast<int>(series_.size());
}

void TrainerMetrics::OnProgress(const std::string& job, const engine::StepReport& p) {
  std::lock_guard<std::mutex> l(mu_);
  auto [it, inserted] = last_step_.emplace(job, 0);
  if (p.step > it->second) {
    Series(job, steps_, {{"job_id", job}}).Increment(static_cast<double>(p.step - it->second));
    it->second = p.step;
  }
  Series(job, tokens_per_s_, {{"job_id", job}}).Set(p.tokens_per_s);
  Series(job, loss_, {{"job_id", job}, {"kind", "lm"}}).Set(p.lm_loss);
  Series(job, loss_, {{"job_id", job}, {"kind", "balance"}}).Set(p.balance_loss);
  Series(job, loss_, {{"job_id", job}, {"kind", "total"}}).Set(p.total_loss);
  for (const auto& b : p.balance) {
    const std::string layer = std::to_string(b.layer);
    Series(job, max_violation_, {{"job_id", job}, {"layer", layer}}).Set(b.max_violation);
    Series(job, load_entropy_, {{"job_id", job}, {"layer", layer}}).Set(b.load_entropy);
  }
}

void TrainerMetrics::OnEval(const std::string& job, const engine::EvalReport& e) {
  std::lock_guard<std::mutex> l(mu_);
  Series(job, loss_, {{"job_id", job}, {"kind", "val"}}).Set(e.val_loss);
}

void TrainerMetrics::OnCheckpoint(double seconds) {
  std::lock_guard<std::mutex> l(mu_);
  checkpoint_seconds_.Observe(seconds);
}

void TrainerMetrics::OnEventStats(const std::string& job, const JobEventStats& s) {
  std::lock_guard<std::mutex> l(mu_);
  auto& sent = Series(job, events_sent_, {{"job_id", job}});
  if (s.events_enqueued > sent.Value()) sent.Increment(s.events_enqueued - sent.Value());
  auto& dropped = Series(job, events_dropped_, {{"job_id", job}});
  if (s.events_dropped > dropped.Value()) dropped.Increment(s.events_dropped - dropped.Value());
}

}  // namespace monoroute::trainer
