// Evaluation data for a checkpoint: a text/JSONL file tokenised into sequential
// [batch, seq_len + 1] windows. Shared by `EvaluateModel` and pathway ablation. A bounded request
// (max_batches > 0) reads only a prefix of the file, as large as the tokens it needs (memory
// follows the request, not the file); the whole file goes through the packed token cache only
// when every batch is asked for, and only below a size cap checked before reading. Torch-free.
#ifndef MONOROUTE_COMMON_ENGINE_EVAL_DATA_H_
#define MONOROUTE_COMMON_ENGINE_EVAL_DATA_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/engine/sequence_sampler.h"

namespace monoroute::engine {

// The checkpoint and its evaluation text, and how the text is cut into batches: what EvalData,
// EvaluateModel (EvaluateOptions) and pathway ablation (AblationOptions) share.
struct EvalInput {
  // The checkpoint being evaluated (config.json + model.safetensors; also the tokenizer default).
  std::string model_dir;
  // Text (stories separated by `<|endoftext|>` lines) or JSONL with a `text` field.
  std::string data_path;
  // "auto" (by extension), "text" or "jsonl".
  std::string format = "auto";
  // Tokenizer directory (tokenizer.json, else vocab.json + merges.txt); empty: model_dir if it
  // holds a tokenizer, else the build default (GPT-2).
  std::string tokenizer_dir;
  // Where the packed token cache goes (whole-file reads only); empty: a temporary directory
  // removed afterwards.
  std::string cache_dir;
  // Tokens per evaluated sequence (> 0 when the data is loaded; EvaluateOptions and
  // AblationOptions have their own defaults).
  int seq_len = 128;
  // Sequences per batch (> 0).
  int batch_size = 16;
  // At most this many batches (0: the whole file).
  int64_t max_batches = 0;
};

// Where the evaluation text is, how to cut it, and the bounds of the load.
struct EvalDataOptions : EvalInput {
  // Token ids must be below this (the model's vocab size); 0 skips the check.
  int64_t vocab_size = 0;
  // max_batches = 0: a larger file is refused (RESOURCE_EXHAUSTED) before anything is read.
  int64_t max_file_bytes = int64_t{1} << 30;
  // max_batches > 0: at most this many bytes are read from the start of the file (the read grows
  // from ~16 bytes per needed token until the tokens are there).
  int64_t max_read_bytes = int64_t{16} << 20;
};

// EvalDataOptions for `input` (an EvaluateOptions or AblationOptions), checking token ids against
// `vocab_size`; the load bounds keep their defaults.
inline EvalDataOptions EvalDataOptionsFrom(const EvalInput& input, int64_t vocab_size) {
  EvalDataOptions e;
  static_cast<EvalInput&>(e) = input;
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
  // Tokens read: the whole file's (documents + joiners), or with max_batches > 0 when the file
  // was read only in part, the tokens the batches need.
  int64_t num_tokens() const { return num_tokens_; }
  // Bytes of the file that were read (its size when it was read whole).
  int64_t bytes_read() const { return bytes_read_; }

  // INVALID_ARGUMENT naming the field for bad sizes, a file with fewer than seq_len + 1 tokens or
  // a token outside vocab_size; data_file.h's errors (prefixed "data: ") for a missing file, a
  // directory or FIFO; RESOURCE_EXHAUSTED for a whole-file read over max_file_bytes, or for a
  // bounded read whose first max_read_bytes hold no place to cut (no line break after a
  // non-space character; JSONL: no complete line).
  //
  // With max_batches > 0 the batches are the first max_batches of the whole file's (same
  // documents, joiners and tokens), provided the part read decides the document layout as the
  // whole file does (an `<|endoftext|>` line within it, or none in the file): the part read ends
  // at a line break after a non-space character, where no token can straddle.
  static absl::StatusOr<std::unique_ptr<EvalData>> Load(const EvalDataOptions& options);

 private:
  EvalData() = default;
  std::vector<SequenceBatch> batches_;
  int64_t num_tokens_ = 0;
  int64_t bytes_read_ = 0;
  std::string temp_dir_;
};

}  // namespace monoroute::engine

#endif  // MONOROUTE_COMMON_ENGINE_EVAL_DATA_H_
