// Prometheus metrics of the trainer (names agreed by the team; the registry is passed in).
#ifndef MONOROUTE_SERVICES_TRAINER_TRAINER_METRICS_H_
#define MONOROUTE_SERVICES_TRAINER_TRAINER_METRICS_H_

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "services/trainer/job.h"

namespace monoroute::trainer {

// Thread-safe. Holds references into `registry`, which must outlive it.
class TrainerMetrics {
 public:
  explicit TrainerMetrics(prometheus::Registry& registry);

  // monoroute_trainer_jobs{state}
  void SetJobsByState(const std::map<JobState, int>& counts);
  // steps_total (by the step delta), tokens_per_second, loss{lm,balance,total}, per-layer balance.
  void OnProgress(const std::string& job, const engine::StepReport& p);
  // loss{kind="val"}
  void OnEval(const std::string& job, const engine::EvalReport& e);
  // checkpoint_seconds histogram
  void OnCheckpoint(double seconds);
  // events_sent_total / events_dropped_total, set to the job's totals (monotone).
  void OnEventStats(const std::string& job, const JobEventStats& s);
  // The job reached a terminal state: its job_id series are removed by the first RemoveEnded
  // called `linger` or more after now (a scrape in between still sees the final values).
  void OnJobEnded(const std::string& job);
  // Removes every job_id series of the jobs that ended `linger` or more ago. Returns how many
  // jobs' series were removed.
  int RemoveEnded(std::chrono::milliseconds linger);
  // Jobs that have job_id series now.
  int jobs_with_series() const;

 private:
  using Clock = std::chrono::steady_clock;
  // family.Add(labels), remembering how to remove it when `job` ends.
  template <typename T>
  T& Series(const std::string& job, prometheus::Family<T>& family,
            const std::map<std::string, std::string>& labels);

  mutable std::mutex mu_;
  prometheus::Family<prometheus::Gauge>& jobs_;
  prometheus::Family<prometheus::Counter>& steps_;
  prometheus::Family<prometheus::Gauge>& tokens_per_s_;
  prometheus::Family<prometheus::Gauge>& loss_;
  prometheus::Family<prometheus::Gauge>& max_violation_;
  prometheus::Family<prometheus::Gauge>& load_entropy_;
  prometheus::Histogram& checkpoint_seconds_;
  prometheus::Family<prometheus::Counter>& events_sent_;
  prometheus::Family<prometheus::Counter>& events_dropped_;
  std::map<std::string, int64_t> last_step_;  // job -> step already counted
  // job -> (series -> its removal from its family).
  std::map<std::string, std::map<const void*, std::function<void()>>> series_;
  std::map<std::string, Clock::time_point> ended_;  // job -> when it ended
};

}  // namespace monoroute::trainer

#endif  // MONOROUTE_SERVICES_TRAINER_TRAINER_METRICS_H_
