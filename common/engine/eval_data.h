// Evaluation data for a checkpoint: a text/JSONL file tokenised (through the packed token cache)
// into sequential [batch, seq_len + 1] windows. Shared by `EvaluateModel` and pathway ablation.
// Torch-free.
#ifndef MONOROUTE_COMMON_ENGINE_EVAL_DATA_H_
#define MONOROUTE_COMMON_ENGINE_EVAL_DATA_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/engine/sequence_sampler.h"

namespace monoroute::engine {

// Where the evaluation text is and how to cut it.
struct EvalDataOptions {
  // Text (stories separated by `<|endoftext|>` lines) or JSONL with a `text` field.
  std::string data_path;
  // "auto" (by extension), "text" or "jsonl".
  std::string format = "auto";
  // GPT-2 tokenizer directory; empty: model_dir if it has vocab.json, else the build default.
  std::string tokenizer_dir;
  // The checkpoint being evaluated (for the tokenizer default).
  std::string model_dir;
  // Where the packed token cache goes; empty: a temporary directory removed with the EvalData.
  std::string cache_dir;
  // Tokens per evaluated sequence (> 0).
  int seq_len = 128;
  // Sequences per batch (> 0).
  int batch_size = 16;
  // At most this many batches (0: the whole file).
  int64_t max_batches = 0;
  // Token ids must be below this (the model's vocab size); 0 skips the check.
  int64_t vocab_size = 0;
};

// EvalDataOptions from an options struct with the same field names (AblationOptions,
// EvaluateOptions), checking token ids against `vocab_size`.
template <typename Options>
EvalDataOptions EvalDataOptionsFrom(const Options& o, int64_t vocab_size) {
  EvalDataOptions e;
  e.data_path = o.data_path;
  e.format = o.format;
  e.tokenizer_dir = o.tokenizer_dir;
  e.model_dir = o.model_dir;
  e.cache_dir = o.cache_dir;
  e.seq_len = o.seq_len;
  e.batch_size = o.batch_size;
  e.max_batches = o.max_batches;
  e.vocab_size = vocab_size;
  return e;
}

// The batches of one evaluation file. Owns the temporary cache directory (removed on
// destruction). Not thread-safe.
class EvalData {
 public:
  ~EvalData();
  EvalData(const EvalData&) = delete;
  EvalData& operator=(const EvalData&) = delete;

  // Sequential windows of seq_len + 1 tokens at stride seq_len over the concatenated documents
  // (each followed by EOT), the last batch possibly smaller.
  const std::vector<SequenceBatch>& batches() const { return batches_; }
  // Tokens of the whole file (documents + EOTs).
  int64_t num_tokens() const { return num_tokens_; }

  // INVALID_ARGUMENT naming the field for bad sizes, a file with fewer than seq_len + 1 tokens or
  // a token outside vocab_size; the token cache's error (prefixed "data: ") for an unreadable file.
  static absl::StatusOr<std::unique_ptr<EvalData>> Load(const EvalDataOptions& options);

 private:
  EvalData() = default;
  std::vector<SequenceBatch> batches_;
  int64_t num_tokens_ = 0;
  std::string temp_dir_;
};

}  // namespace monoroute::engine

#endif  // MONOROUTE_COMMON_ENGINE_EVAL_DATA_H_
