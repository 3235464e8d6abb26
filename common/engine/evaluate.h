// Validation loss of a checkpoint on a text file: `monoroute eval`, and the reference point of
// fine-tuning comparisons (e.g. the base model before a routed fine-tune). Torch-free header.
#ifndef MONOROUTE_COMMON_ENGINE_EVALUATE_H_
#define MONOROUTE_COMMON_ENGINE_EVALUATE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace monoroute::engine {

// What to evaluate and on which data.
struct EvaluateOptions {
  // HF checkpoint directory (dense or routed).
  std::string model_dir;
  // Evaluation text (text or JSONL, as training data).
  std::string data_path;
  // "auto", "text" or "jsonl".
  std::string format = "auto";
  // Tokens per evaluated window (windows at stride seq_len; every token of a window is predicted
  // from the ones before it in the same window).
  int seq_len = 256;
  // Windows per forward pass.
  int batch_size = 16;
  // At most this many batches (0: the whole file).
  int64_t max_batches = 0;
  // Evaluate only the dense part of a routed checkpoint.
  bool dense_only = false;
  // Tokenizer directory (tokenizer.json, else vocab.json + merges.txt); empty: model_dir if it
  // holds a tokenizer, else the build default (GPT-2).
  std::string tokenizer_dir;
  // Packed token cache directory; empty: a temporary one removed afterwards.
  std::string cache_dir;
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
