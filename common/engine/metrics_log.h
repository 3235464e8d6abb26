// JSONL metrics log of a training job (<output_dir>/metrics.jsonl): one line per logged step
// (losses, lr, throughput, per routed layer load / MaxVio / load entropy / balancing loss) and one
// per evaluation. On resume, lines past the resumed step are dropped so the log reads as one
// uninterrupted run. The fields are those of progress_fields.h (the trainer's GetJobMetrics reads
// them back with ProgressFromJson). Torch-free.
#ifndef MONOROUTE_COMMON_ENGINE_METRICS_LOG_H_
#define MONOROUTE_COMMON_ENGINE_METRICS_LOG_H_

#include <cstdint>
#include <fstream>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/engine/training_observer.h"

namespace monoroute::engine {

// Appends JSON lines to a file. Not thread-safe.
class MetricsLog {
 public:
  // Opens `path` for appending after dropping every line whose "step" is > keep_up_to_step
  // (keep_up_to_step < 0: start a new file).
  static absl::StatusOr<std::unique_ptr<MetricsLog>> Open(const std::string& path,
                                                          int64_t keep_up_to_step);
  // {"type":"step", then the StepReport's fields (progress_fields.h: "step", "total_steps",
  //  "lm_loss", ..., "balance":[{"layer","load","max_violation","load_entropy","balance_loss"}])}
  void WriteStep(const StepReport& r);
  // {"type":"eval", then the EvalReport's fields ("step", "val_loss", "perplexity", "split",
  //  "sequences", "balance")}
  void WriteEval(const EvalReport& r);
  const std::string& path() const { return path_; }

 private:
  MetricsLog() = default;
  void WriteLine(const std::string& line);
  std::string path_;
  std::ofstream out_;
};

}  // namespace monoroute::engine

#endif  // MONOROUTE_COMMON_ENGINE_METRICS_LOG_H_
