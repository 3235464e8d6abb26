// BPE merge loop: a quadratic scan for short pieces, a heap over a linked list for long ones.
#include "common/tokenizer/bpe.h"

#include <queue>
#include <tuple>

namespace monoroute {

bool BpeMerges::Add(int32_t left, int32_t right, int32_t merged, int32_t rank) {
  return table_.emplace(Key(left, right), Rule{rank, merged}).second;
}

void BpeMerges::Merge(std::vector<int32_t>* symbols) const {
  if (symbols->size() <= 48) {
    MergeQuadratic(symbols);
  } else {
    MergeHeap(symbols);
  }
}

void BpeMerges::MergeQuadratic(std::vector<int32_t>* symbols) const {
  std::vector<int32_t>& s = *symbols;
  while (s.size() >= 2) {
    int32_t best_rank = INT32_MAX;
    int32_t best_merged = -1;
    size_t best_pos = 0;
    for (size_t i = 0; i + 1 < s.size(); ++i) {
      const Rule* r = Find(s[i], s[i + 1]);
      if (r != nullptr && r->rank < best_rank) {
        best_rank = r->rank;
        best_merged = r->merged;
        best_pos = i;
      }
    }
    if (best_merged < 0) return;
    s[best_pos] = best_merged;
    s.erase(s.begin() + static_cast<std::ptrdiff_t>(best_pos) + 1);
  }
}

void BpeMerges::MergeHeap(std::vector<int32_t>* symbols) const {
  std::vector<int32_t>& s = *symbols;
  const int n = static_cast<int>(s.size());
  if (n < 2) return;
  std::vector<int> prev(n), next(n);
  for (int i = 0; i < n; ++i) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  // (rank, left position, left id, right id): popped lowest rank first, then leftmost.
  using Cand = std::tuple<int32_t, int, int32_t, int32_t>;
  std::priority_queue<Cand, std::vector<Cand>, std::greater<Cand>> heap;
  auto push = [&](int left) {
    if (left < 0 || next[left] < 0) return;
    const Rule* r = Find(s[left], s[next[left]]);
    if (r != nullptr) heap.emplace(r->rank, left, s[left], s[next[left]]);
  };
  for (int i = 0; i + 1 < n; ++i) push(i);
  std::vector<bool> dead(n, false);
  while (!heap.empty()) {
    auto [rank, left, lid, rid] = heap.top();
    heap.pop();
    if (dead[left] || s[left] != lid) continue;
    const int right = next[left];
    if (right < 0 || s[right] != rid) continue;
    s[left] = Find(lid, rid)->merged;
    dead[right] = true;
    next[left] = next[right];
    if (next[right] >= 0) prev[next[right]] = left;
    push(prev[left]);
    push(left);
  }
  std::vector<int32_t> out;
  for (int i = 0; i >= 0; i = next[i]) out.push_back(s[i]);
  s.swap(out);
}

}  // namespace monoroute
