// Document split, deterministic window shuffle and batching.
#include "common/engine/sequence_sampler.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/engine/token_cache.h"

namespace monoroute::engine {
namespace {

// Deterministic uniform integer in [0, n) from a SplitMix64 stream (Lemire's method).
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t Next() {
    s_ += 0x9e3779b97f4a7c15ULL;
    return Mix64(s_);
  }
  uint64_t Below(uint64_t n) {
    unsigned __int128 m = static_cast<unsigned __int128>(Next()) * n;
    uint64_t low = static_cast<uint64_t>(m);
    if (low < n) {
      uint64_t threshold = (0 - n) % n;
      while (low < threshold) {
        m = static_cast<unsigned __int128>(Next()) * n;
        low = static_cast<uint64_t>(m);
      }
    }
    return static_cast<uint64_t>(m >> 64);
  }

 private:
  uint64_t s_;
};

template <typename T>
void Shuffle(std::vector<T>* v, uint64_t seed) {
  Rng rng(seed);
  for (size_t i = v->size(); i > 1; --i) {
    size_t j = rng.Below(i);
    std::swap((*v)[i - 1], (*v)[j]);
  }
}

}  // namespace

uint64_t Mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

absl::StatusOr<DataSplits> MakeDataSplits(const TokenCache& train, const TokenCache* valid,
                                          double valid_fraction, uint64_t seed) {
  DataSplits s;
  int64_t n = train.num_documents();
  std::vector<bool> held(n, false);
  if (valid == nullptr) {
    if (n < 2) {
      return absl::InvalidArgumentError(absl::StrCat(
          "data.train_path: ", n, " document(s); need at least 2 to hold out a validation split"));
    }
    int64_t k = static_cast<int64_t>(std::llround(valid_fraction * static_cast<double>(n)));
    k = std::clamp<int64_t>(k, 1, n - 1);
    std::vector<int64_t> ids(n);
    for (int64_t i = 0; i < n; ++i) ids[i] = i;
    Shuffle(&ids, HashPair(seed, 0x76616c6964ULL /* "valid" */));
    for (int64_t i = 0; i < k; ++i) held[ids[i]] = true;
    for (int64_t d = 0; d < n; ++d) {
      if (held[d]) {
        s.held_out_documents.push_back(d);
        train.AppendDocument(d, &s.valid);
        ++s.valid_documents;
      }
    }
  } else {
    for (int64_t d = 0; d < valid->num_documents(); ++d) valid->AppendDocument(d, &s.valid);
    s.valid_documents = valid->num_documents();
  }
  s.train.reserve(train.num_tokens());
  for (int64_t d = 0; d < n; ++d) {
    if (!held[d]) {
      train.AppendDocument(d, &s.train);
      ++s.train_documents;
    }
  }
  if (s.train.empty()) return absl::InvalidArgumentError("data.train_path: no training text");
  if (s.valid.empty()) return absl::InvalidArgumentError("data: the validation split is empty");
  return s;
}

absl::StatusOr<std::unique_ptr<SequenceSampler>> SequenceSampler::Create(
    const std::vector<int32_t>* tokens, int seq_len, uint64_t seed, bool shuffle) {
  if (seq_len <= 0) return absl::InvalidArgumentError("data.seq_len: must be > 0");
  if (static_cast<int64_t>(tokens->size()) < seq_len + 1) {
    return absl::InvalidArgumentError(absl::StrCat("data: the split has ", tokens->size(),
                                                   " tokens; data.seq_len ", seq_len, " needs ",
                                                   seq_len + 1));
  }
  std::unique_ptr<SequenceSampler> s(new SequenceSampler());
  s->tokens_ = tokens;
  s->seq_len_ = seq_len;
  s->seed_ = seed;
  s->shuffle_ = shuffle;
  s->num_windows_ = (static_cast<int64_t>(tokens->size()) - 1) / seq_len;
  return s;
}

void SequenceSampler::Permute() {
  if (perm_epoch_ == pos_.epoch) return;
  perm_.resize(num_windows_);
  for (int64_t i = 0; i < num_windows_; ++i) perm_[i] = i;
  if (shuffle_) Shuffle(&perm_, HashPair(seed_, static_cast<uint64_t>(pos_.epoch)));
  perm_epoch_ = pos_.epoch;
}

void SequenceSampler::set_position(const SamplerPosition& p) { pos_ = p; }

void SequenceSampler::CopyWindow(int64_t w, int32_t* out) const {
  std::copy_n(tokens_->data() + w * seq_len_, seq_len_ + 1, out);
}

SequenceBatch SequenceSampler::Next(int batch_size) { return NextShard(batch_size, 0, 1); }

SequenceBatch SequenceSampler::NextShard(int batch_size, int shard, int num_shards) {
  const int share = batch_size / num_shards;
  const int first = shard * share;
  SequenceBatch b;
  b.batch = share;
  b.seq_len = seq_len_;
  b.tokens.resize(static_cast<size_t>(share) * (seq_len_ + 1));
  for (int i = 0; i < batch_size; ++i) {
    if (pos_.index >= num_windows_) {
      pos_.index = 0;
      ++pos_.epoch;
    }
    Permute();
    int64_t w = perm_[pos_.index++];
    if (i < first || i >= first + share) continue;
    b.window_ids.push_back(static_cast<uint64_t>(w));
    CopyWindow(w, b.tokens.data() + static_cast<size_t>(i - first) * (seq_len_ + 1));
  }
  return b;
}

std::vector<SequenceBatch> EvalBatches(const std::vector<int32_t>& tokens, int seq_len,
                                       int batch_size, int64_t max_batches) {
  std::vector<SequenceBatch> out;
  if (seq_len <= 0 || batch_size <= 0 || static_cast<int64_t>(tokens.size()) < seq_len + 1) {
    return out;
  }
  int64_t windows = (static_cast<int64_t>(tokens.size()) - 1) / seq_len;
  for (int64_t w0 = 0; w0 < windows; w0 += batch_size) {
    if (max_batches > 0 && static_cast<int64_t>(out.size()) >= max_batches) break;
    SequenceBatch b;
    b.seq_len = seq_len;
    b.batch = std::min<int64_t>(batch_size, windows - w0);
    b.tokens.resize(static_cast<size_t>(b.batch) * (seq_len + 1));
    for (int64_t i = 0; i < b.batch; ++i) {
      b.window_ids.push_back(static_cast<uint64_t>(w0 + i));
      std::copy_n(tokens.data() + (w0 + i) * seq_len, seq_len + 1,
                  b.tokens.data() + i * (seq_len + 1));
    }
    out.push_back(std::move(b));
  }
  return out;
}

}  // namespace monoroute::engine
