// Fixed-length training sequences from packed token streams: the train/validation split of
// documents, a deterministic (seeded, platform-independent) shuffle of seq_len+1 windows per
// epoch, and a resumable position. Torch-free.
#ifndef MONOROUTE_COMMON_ENGINE_SEQUENCE_SAMPLER_H_
#define MONOROUTE_COMMON_ENGINE_SEQUENCE_SAMPLER_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"

namespace monoroute::engine {

class TokenCache;

// SplitMix64 finaliser: a well-mixed 64-bit hash of x.
uint64_t Mix64(uint64_t x);
// Hash of a pair (order matters).
inline uint64_t HashPair(uint64_t a, uint64_t b) {
  return Mix64(Mix64(a) ^ (b + 0x9e3779b97f4a7c15ULL));
}

// Packed token streams of the two splits (documents concatenated in file order, each followed by
// its EOT token).
struct DataSplits {
  std::vector<int32_t> train;
  std::vector<int32_t> valid;
  int64_t train_documents = 0;
  int64_t valid_documents = 0;
  // When the validation split is held out of the training file: the held-out document indices
  // (ascending); empty when a separate validation file is used.
  std::vector<int64_t> held_out_documents;
};

// Builds the splits: `valid` (may be null) is the validation file's cache; without it,
// round(valid_fraction * documents) (at least 1) documents of `train`, chosen by a shuffle seeded
// with `seed`, are held out. INVALID_ARGUMENT if a split would be empty.
absl::StatusOr<DataSplits> MakeDataSplits(const TokenCache& train, const TokenCache* valid,
                                          double valid_fraction, uint64_t seed);

// Micro-batch of windows: tokens is [batch, seq_len + 1] row-major; inputs are [:, :seq_len],
// next-token labels [:, 1:].
struct SequenceBatch {
  int64_t batch = 0;
  int64_t seq_len = 0;
  std::vector<int32_t> tokens;
  // Window index of each row in its split's stream (stable ids for recorded events).
  std::vector<uint64_t> window_ids;
};

// Where a sampler is: the epoch and the number of windows of it already consumed.
struct SamplerPosition {
  int64_t epoch = 0;
  int64_t index = 0;
};

// Windows w = [w*seq_len, w*seq_len + seq_len] (inclusive; seq_len+1 tokens) of a stream; with
// shuffle, each epoch visits them in a permutation seeded by (seed, epoch). Batches run across
// epoch boundaries. Not thread-safe; the stream must outlive the sampler.
class SequenceSampler {
 public:
  // INVALID_ARGUMENT when the stream is shorter than seq_len + 1 tokens.
  static absl::StatusOr<std::unique_ptr<SequenceSampler>> Create(const std::vector<int32_t>* tokens,
                                                                 int seq_len, uint64_t seed,
                                                                 bool shuffle);
  int64_t num_windows() const { return num_windows_; }
  int seq_len() const { return seq_len_; }
  // The next `batch_size` windows; advances the position.
  SequenceBatch Next(int batch_size);
  // Rank `shard`'s share of the next `batch_size` windows in a data-parallel job: rows
  // [shard * batch_size / num_shards, (shard + 1) * batch_size / num_shards) of what Next would
  // return (batch_size divisible by num_shards); advances the position by all batch_size windows,
  // so every rank stays at the single-process job's position.
  SequenceBatch NextShard(int batch_size, int shard, int num_shards);
  SamplerPosition position() const { return pos_; }
  void set_position(const SamplerPosition& p);
  // Copies window w (seq_len + 1 tokens) to out.
  void CopyWindow(int64_t w, int32_t* out) const;

 private:
  SequenceSampler() = default;
  void Permute();
  const std::vector<int32_t>* tokens_ = nullptr;
  int seq_len_ = 0;
  uint64_t seed_ = 0;
  bool shuffle_ = false;
  int64_t num_windows_ = 0;
  SamplerPosition pos_;
  int64_t perm_epoch_ = -1;
  std::vector<int64_t> perm_;
};

// Sequential evaluation batches over every window of `tokens` (the last batch may be smaller);
// at most max_batches batches when max_batches > 0.
std::vector<SequenceBatch> EvalBatches(const std::vector<int32_t>& tokens, int seq_len,
                                       int batch_size, int64_t max_batches);

}  // namespace monoroute::engine

#endif  // MONOROUTE_COMMON_ENGINE_SEQUENCE_SAMPLER_H_
