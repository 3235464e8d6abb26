// A job's step and evaluation history, read back from its <output_dir>/metrics.jsonl (written by
// the engine's MetricsLog with the one progress field list, common/engine/progress_fields.h).
// Plain data, no gRPC.
#ifndef MONOROUTE_SERVICES_TRAINER_JOB_METRICS_H_
#define MONOROUTE_SERVICES_TRAINER_JOB_METRICS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/engine/training_observer.h"

namespace monoroute::trainer {

// Default and largest number of step points of one page.
inline constexpr int kDefaultMetricsPoints = 10000;
inline constexpr int kMaxMetricsPoints = 100000;

// One page of a job's history, ascending by step.
struct JobMetricsPage {
  std::vector<engine::StepReport> steps;  // logged steps after since_step, at most max_points
  std::vector<engine::EvalReport> evals;  // evaluations after since_step (up to the last step)
  bool truncated = false;                 // more step points follow the last one returned
};

// Reads `path` (a metrics.jsonl; missing: an empty page) streaming, line by line: the steps after
// `since_step`, at most `max_points` (0: kDefaultMetricsPoints; INVALID_ARGUMENT above
// kMaxMetricsPoints or below 0), and the evaluations up to the last step returned. Torn or
// foreign lines are skipped. Thread-safe.
absl::StatusOr<JobMetricsPage> ReadJobMetrics(const std::string& path, int64_t since_step,
                                              int max_points);

}  // namespace monoroute::trainer

#endif  // MONOROUTE_SERVICES_TRAINER_JOB_METRICS_H_
