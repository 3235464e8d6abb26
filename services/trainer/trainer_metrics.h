// Prometheus metrics of the trainer (names agreed by the team; the registry is passed in).
#ifndef MONOROUTE_SERVICES_TRAINER_TRAINER_METRICS_H_
#define MONOROUTE_SERVICES_TRAINER_TRAINER_METRICS_H_

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

 private:
  std::mutex mu_;
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
};

}  // namespace monoroute::trainer

#endif  // MONOROUTE_SERVICES_TRAINER_TRAINER_METRICS_H_
