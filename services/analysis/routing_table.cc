// RoutingTableBuilder: validation of raw events, block grouping and dense token columns.
#include "services/analysis/routing_table.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/base/hash.h"

namespace monoroute::analysis {

uint64_t BlockKey(uint64_t sequence_id) { return SplitMix64(sequence_id ^ 0x626c6f636bULL); }

absl::StatusOr<RoutingTableBuilder> RoutingTableBuilder::Create(uint32_t num_pathways,
                                                                uint32_t top_k) {
  if (num_pathways == 0 || num_pathways > kMaxAnalysisPathways) {
    return absl::InvalidArgumentError(absl::StrCat("num_pathways ", num_pathways,
                                                   " not in [1, ", kMaxAnalysisPathways, "]"));
  }
  if (top_k == 0 || top_k > num_pathways) {
    return absl::InvalidArgumentError(
        absl::StrCat("top_k ", top_k, " not in [1, num_pathways ", num_pathways, "]"));
  }
  return RoutingTableBuilder(num_pathways, top_k);
}

absl::Status RoutingTableBuilder::Add(size_t n, const uint64_t* sequence_id,
                                      const uint32_t* token_id, const uint32_t* pathways) {
  if (token_.size() + n > max_events_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("more than ", max_events_, " events in one layer of the selection"));
  }
  token_.reserve(token_.size() + n);
  block_.reserve(block_.size() + n);
  mask_.reserve(mask_.size() + n);
  for (size_t i = 0; i < n; ++i) {
    uint64_t m = 0;
    for (uint32_t j = 0; j < top_k_; ++j) {
      const uint32_t p = pathways[i * top_k_ + j];
      if (p >= num_pathways_) {
        return absl::InvalidArgumentError(absl::StrCat("event ", token_.size() + i, ": pathway ",
                                                       p, " >= num_pathways ", num_pathways_));
      }
      const uint64_t bit = uint64_t{1} << p;
      if (m & bit) {
        return absl::InvalidArgumentError(absl::StrCat(
            "event ", token_.size() + i, ": pathway ", p, " repeated within its top-k"));
      }
      m |= bit;
    }
    const uint64_t key = BlockKey(sequence_id[i]);
    auto [it, inserted] = block_index_.try_emplace(key, static_cast<uint32_t>(block_keys_.size()));
    if (inserted) block_keys_.push_back(key);
    token_.push_back(token_id[i]);
    block_.push_back(it->second);
    mask_.push_back(m);
  }
  return absl::OkStatus();
}

RoutingTable RoutingTableBuilder::Build() {
  RoutingTable t;
  t.num_pathways = num_pathways_;
  t.top_k = top_k_;
  const size_t n = token_.size();
  const size_t nb = block_keys_.size();
  // Dense columns in ascending token id.
  std::vector<uint32_t> ids = token_;
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  t.column_token = ids;
  t.column_events.assign(ids.size(), 0);
  absl::flat_hash_map<uint32_t, uint32_t> col_of;
  col_of.reserve(ids.size());
  for (uint32_t c = 0; c < ids.size(); ++c) col_of[ids[c]] = c;
  // Counting sort by block (stable: arrival order within a block).
  t.block_begin.assign(nb + 1, 0);
  for (uint32_t b : block_) ++t.block_begin[b + 1];
  for (size_t b = 0; b < nb; ++b) t.block_begin[b + 1] += t.block_begin[b];
  std::vector<uint32_t> next(t.block_begin.begin(), t.block_begin.end() - 1);
  t.column.resize(n);
  t.mask.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const uint32_t at = next[block_[i]]++;
    const uint32_t c = col_of[token_[i]];
    t.column[at] = c;
    t.mask[at] = mask_[i];
    ++t.column_events[c];
  }
  t.block_key = std::move(block_keys_);
  *this = RoutingTableBuilder(num_pathways_, top_k_);
  return t;
}

}  // namespace monoroute::analysis
