// Byte-pair merging over token ids: the merge table of a BPE vocabulary and the merge loop.
#ifndef MONOROUTE_COMMON_TOKENIZER_BPE_H_
#define MONOROUTE_COMMON_TOKENIZER_BPE_H_

#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace monoroute {

// Merge rules (left id, right id) -> (rank, merged id). Build once with Add(), then Merge() is
// const and thread-safe.
class BpeMerges {
 public:
  // Adds a rule; a lower rank merges first. Returns false if the pair already has a rule.
  bool Add(int32_t left, int32_t right, int32_t merged, int32_t rank);

  // Number of rules.
  size_t size() const { return table_.size(); }

  // Applies the merges to `symbols` in place (GPT-2 semantics: repeatedly merge the lowest-rank
  // adjacent pair, leftmost first). Picks the quadratic scan for short inputs and a heap for long.
  void Merge(std::vector<int32_t>* symbols) const;

  // The two algorithms, exposed so tests can check they agree.
  void MergeQuadratic(std::vector<int32_t>* symbols) const;
  void MergeHeap(std::vector<int32_t>* symbols) const;

 private:
  struct Rule {
    int32_t rank;
    int32_t merged;
  };
  static uint64_t Key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }
  const Rule* Find(int32_t a, int32_t b) const {
    auto it = table_.find(Key(a, b));
    return it == table_.end() ? nullptr : &it->second;
  }
  absl::flat_hash_map<uint64_t, Rule> table_;
};

}  // namespace monoroute

#endif  // MONOROUTE_COMMON_TOKENIZER_BPE_H_
