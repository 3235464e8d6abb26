// Validation loss of a checkpoint on a text file: `monoroute eval`, and the reference point of
// fine-tuning comparisons (e.g. the base model before a routed fine-tune). Torch-free header.
#ifndef MONOROUTE_COMMON_ENGINE_EVALUATE_H_
#define MONOROUTE_COMMON_ENGINE_EVALUATE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "common/engine/eval_data.h"

namespace monoroute::engine {

// What to evaluate and on which data: the checkpoint (dense or routed) and the text (EvalInput;
// windows of seq_len tokens at stride seq_len, every token of a window predicted from the ones
// before it in the same window), and how to run the model.
struct EvaluateOptions : EvalInput {
  // seq_len defaults to 256.
  EvaluateOptions() { seq_len = 256; }
  // Evaluate only the dense part of a routed checkpoint.
  bool dense_only = false;
  // "cpu" or "cuda[:N]".
  std::string device = "cpu";
  // "auto" (bf16 matmuls on CUDA), "fp32" or "bf16".
  std::string precision = "auto";
  // Intra-op CPU threads; 0: every CPU this process may run on.
  int threads = 0;
};

// Mean next-token cross-entropy over the file.
struct EvaluateResult {
  // Tokens predicted (windows x seq_len, the last window possibly shorter).
  int64_t tokens = 0;
  // Mean cross-entropy in nats per token, and exp of it.
  double loss = 0.0;
  double perplexity = 0.0;
  // Whether the evaluated model was routed.
  bool routed = false;
};

// Loads the checkpoint and evaluates it on the file. INVALID_ARGUMENT / NOT_FOUND naming the
// field for bad options, a missing file, a checkpoint that does not load or a sequence longer than
// the model's positions. Blocking; thread-compatible.
absl::StatusOr<EvaluateResult> EvaluateModel(const EvaluateOptions& options);

// One-line JSON: {"model","data","tokens","loss","perplexity","routed","seq_len"}.
std::string EvaluateResultToJson(const EvaluateOptions& options, const EvaluateResult& result);

}  // namespace monoroute::engine

#endif  // MONOROUTE_COMMON_ENGINE_EVALUATE_H_
