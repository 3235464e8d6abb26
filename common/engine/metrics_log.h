// JSONL metrics log of a training job (<output_dir>/metrics.jsonl): one line per logged step
// (losses, lr, throughput, per routed layer load / MaxVio / load entropy / balancing loss) and one
// per evaluation. On resume, lines past the resumed step are dropped so the log reads as one
// uninterrupted run. Torch-free.
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
  // {"type":"step", "step", "total_steps", "lm_loss", "balance_loss", "total_loss", "lr",
  //  "tokens_per_s", "eta_s", "tokens_seen", "layers":[{"layer","load","max_vio","load_entropy",
  //  "balance_loss"}]}
  void WriteStep(const StepReport& r);
  // {"type":"eval", "step", "split", "val_loss", "perplexity"}
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
