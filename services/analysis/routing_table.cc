// RoutingTableBuilder: validation of raw events, block grouping and dense token columns.
#include "services/analysis/routing_table.h"

#include <algorithm>
#include <numeric>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/base/hash.h"

namespace monoroute::analysis {

uint64_t BlockKey(uint64_t sequence_id) { return SplitMix64(sequence_id ^ 0x626c6f636bULL); }

const char* SourceKeyName(int key) {
  switch (key) {
    case kCurrentToken:
      return "current_token";
    case kPreviousToken:
      return "previous_token";
    case kNextToken:
      return "next_token";
    case kPosition:
      return "position";
    default:
      return "previous_and_current";
  }
}

namespace {

// Remaps `keys` to dense ids in ascending order of the old id; returns their number.
uint32_t Densify(std::vector<uint32_t>* keys) {
  std::vector<uint32_t> ids = *keys;
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  absl::flat_hash_map<uint32_t, uint32_t> dense;
  dense.reserve(ids.size());
  for (uint32_t i = 0; i < ids.size(); ++i) dense[ids[i]] = i;
  for (uint32_t& k : *keys) k = dense[k];
  return static_cast<uint32_t>(ids.size());
}

// Densify for keys already dense in [0, bound): a remap array instead of a sort and a hash map.
uint32_t DensifyBounded(std::vector<uint32_t>* keys, size_t bound) {
  std::vector<uint32_t> remap(bound, 0);
  for (uint32_t k : *keys) remap[k] = 1;
  uint32_t n = 0;
  for (uint32_t& r : remap) r = r ? n++ : 0;
  for (uint32_t& k : *keys) k = remap[k];
  return n;
}

// Token of the event at position pos - 1 (dir -1) or pos + 1 (dir +1) of each event of block
// [lo, hi) (sorted by position), kNoToken when absent.
void Neighbours(const RoutingTable& t, uint32_t lo, uint32_t hi, int dir, uint32_t* out) {
  const int64_t step = dir < 0 ? 1 : -1;
  int64_t i = dir < 0 ? lo : static_cast<int64_t>(hi) - 1;
  const int64_t end = dir < 0 ? hi : static_cast<int64_t>(lo) - 1;
  uint32_t last_pos = 0, last_tok = kNoToken;  // the most recent distinct position seen
  uint32_t run_pos = 0, run_tok = kNoToken;    // the current run of equal positions
  bool have_run = false;
  for (; i != end; i += step) {
    const uint32_t pos = t.position[i];
    if (!have_run || pos != run_pos) {
      if (have_run) {
        last_pos = run_pos;
        last_tok = run_tok;
      }
      run_pos = pos;
      have_run = true;
    }
    run_tok = t.column_token[t.column[i]];
    const bool adjacent =
        last_tok != kNoToken && (dir < 0 ? last_pos + 1 == pos : pos + 1 == last_pos);
    out[i] = adjacent ? last_tok : kNoToken;
  }
}

}  // namespace

void DeriveSourceKeys(const std::vector<uint32_t>& next_token, RoutingTable* t) {
  const size_t n = t->events();
  std::vector<uint32_t> prev(n), next(n);
  for (size_t b = 0; b < t->blocks(); ++b) {
    Neighbours(*t, t->block_begin[b], t->block_begin[b + 1], -1, prev.data());
    Neighbours(*t, t->block_begin[b], t->block_begin[b + 1], +1, next.data());
  }
  for (size_t i = 0; i < n; ++i) {
    if (i < next_token.size() && next_token[i] != kNoToken) next[i] = next_token[i];
  }
  t->num_keys[kCurrentToken] = static_cast<uint32_t>(t->columns());
  t->num_keys[kPreviousToken] = Densify(&prev);
  t->num_keys[kNextToken] = Densify(&next);
  std::vector<uint32_t> pos = t->position;
  t->num_keys[kPosition] = Densify(&pos);
  // Pairs (previous key, current column) densified through a 64-bit key.
  std::vector<uint64_t> pair(n);
  for (size_t i = 0; i < n; ++i) pair[i] = (uint64_t{prev[i]} << 32) | t->column[i];
  absl::flat_hash_map<uint64_t, uint32_t> dense;
  std::vector<uint32_t> pk(n);
  for (size_t i = 0; i < n; ++i) {
    pk[i] = dense.try_emplace(pair[i], static_cast<uint32_t>(dense.size())).first->second;
  }
  t->num_keys[kPreviousAndCurrent] = static_cast<uint32_t>(dense.size());
  t->source_key[kPreviousToken] = std::move(prev);
  t->source_key[kNextToken] = std::move(next);
  t->source_key[kPosition] = std::move(pos);
  t->source_key[kPreviousAndCurrent] = std::move(pk);
}

std::vector<uint64_t> SharedSequenceKeys(const RoutingTable& t,
                                         const std::vector<const RoutingTable*>& others,
                                         uint64_t max_events) {
  std::vector<absl::flat_hash_set<uint64_t>> have(others.size());
  for (size_t i = 0; i < others.size(); ++i) {
    have[i].insert(others[i]->block_key.begin(), others[i]->block_key.end());
  }
  std::vector<uint32_t> order;
  for (uint32_t b = 0; b < t.blocks(); ++b) {
    bool shared = true;
    for (const auto& h : have) shared = shared && h.contains(t.block_key[b]);
    if (shared) order.push_back(b);
  }
  auto hash = [&](uint32_t b) { return SplitMix64(t.block_key[b] ^ 0x73756273ULL); };
  std::sort(order.begin(), order.end(),
            [&](uint32_t a, uint32_t b) { return hash(a) != hash(b) ? hash(a) < hash(b) : a < b; });
  std::vector<uint64_t> keys;
  uint64_t total = 0;
  for (uint32_t b : order) {
    const uint64_t len = t.block_begin[b + 1] - t.block_begin[b];
    if (max_events > 0 && total > 0 && total + len > max_events) continue;
    keys.push_back(t.block_key[b]);
    total += len;
  }
  return keys;
}

RoutingTable SelectSequences(const RoutingTable& t, const std::vector<uint64_t>& keys) {
  const absl::flat_hash_set<uint64_t> keep(keys.begin(), keys.end());
  RoutingTable s;
  s.num_pathways = t.num_pathways;
  s.top_k = t.top_k;
  s.mask_words = t.mask_words;
  s.block_begin.push_back(0);
  std::vector<uint32_t> cols;
  for (size_t b = 0; b < t.blocks(); ++b) {
    if (!keep.contains(t.block_key[b])) continue;
    for (uint32_t i = t.block_begin[b]; i < t.block_begin[b + 1]; ++i) {
      cols.push_back(t.column[i]);
      s.mask.insert(s.mask.end(), t.mask_row(i), t.mask_row(i) + t.mask_words);
      s.position.push_back(t.position[i]);
      for (int k = 1; k < kNumSourceKeys; ++k) s.source_key[k].push_back(t.source_key[k][i]);
    }
    s.block_key.push_back(t.block_key[b]);
    s.block_begin.push_back(static_cast<uint32_t>(cols.size()));
  }
  s.column = cols;
  const uint32_t V = DensifyBounded(&s.column, t.columns());
  s.column_token.resize(V);
  s.column_events.assign(V, 0);
  for (size_t i = 0; i < cols.size(); ++i) {
    s.column_token[s.column[i]] = t.column_token[cols[i]];
    ++s.column_events[s.column[i]];
  }
  s.num_keys[kCurrentToken] = V;
  for (int k = 1; k < kNumSourceKeys; ++k) {
    s.num_keys[k] = DensifyBounded(&s.source_key[k], t.num_keys[k]);
  }
  return s;
}

bool SubsampleBySequence(const RoutingTable& t, uint64_t max_events, RoutingTable* out) {
  if (max_events == 0 || t.events() <= max_events) return false;
  *out = SelectSequences(t, SharedSequenceKeys(t, {}, max_events));
  return true;
}

absl::StatusOr<RoutingTableBuilder> RoutingTableBuilder::Create(uint32_t num_pathways,
                                                                uint32_t top_k) {
  if (absl::Status s = CheckLayerShape(num_pathways, top_k); !s.ok()) return s;
  return RoutingTableBuilder(num_pathways, top_k);
}

absl::Status RoutingTableBuilder::Add(size_t n, const uint64_t* sequence_id,
                                      const uint32_t* token_id, const uint32_t* pathways,
                                      const uint32_t* position, const uint32_t* next_token_id) {
  if (token_.size() + n > max_events_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("more than ", max_events_, " events in one layer of the selection"));
  }
  token_.reserve(token_.size() + n);
  block_.reserve(block_.size() + n);
  const uint32_t W = MaskWords(num_pathways_);
  mask_.reserve(mask_.size() + n * W);
  position_.reserve(position_.size() + n);
  next_.reserve(next_.size() + n);
  for (size_t i = 0; i < n; ++i) {
    uint64_t m[kMaxMaskWords] = {0, 0, 0, 0};
    for (uint32_t j = 0; j < top_k_; ++j) {
      const uint32_t p = pathways[i * top_k_ + j];
      if (p >= num_pathways_) {
        return absl::InvalidArgumentError(absl::StrCat("event ", token_.size() + i, ": pathway ", p,
                                                       " >= num_pathways ", num_pathways_));
      }
      if (MaskHas(m, p)) {
        return absl::InvalidArgumentError(absl::StrCat("event ", token_.size() + i, ": pathway ", p,
                                                       " repeated within its top-k"));
      }
      MaskSet(m, p);
    }
    const uint64_t key = BlockKey(sequence_id[i]);
    auto [it, inserted] = block_index_.try_emplace(key, static_cast<uint32_t>(block_keys_.size()));
    if (inserted) {
      block_keys_.push_back(key);
      block_events_.push_back(0);
    }
    const uint32_t arrival = block_events_[it->second]++;
    token_.push_back(token_id[i]);
    block_.push_back(it->second);
    mask_.insert(mask_.end(), m, m + W);
    position_.push_back(position != nullptr ? position[i] : arrival);
    next_.push_back(next_token_id != nullptr ? next_token_id[i] : kNoToken);
  }
  return absl::OkStatus();
}

RoutingTable RoutingTableBuilder::Build() {
  RoutingTable t;
  t.num_pathways = num_pathways_;
  t.top_k = top_k_;
  t.mask_words = MaskWords(num_pathways_);
  const uint32_t W = t.mask_words;
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
  std::vector<uint32_t> at_of(n);
  for (size_t i = 0; i < n; ++i) at_of[i] = next[block_[i]]++;
  // Within a block by position (stable: arrival order for equal positions).
  std::vector<uint32_t> by_slot(n);
  for (size_t i = 0; i < n; ++i) by_slot[at_of[i]] = static_cast<uint32_t>(i);
  for (size_t b = 0; b < nb; ++b) {
    std::stable_sort(by_slot.begin() + t.block_begin[b], by_slot.begin() + t.block_begin[b + 1],
                     [&](uint32_t x, uint32_t y) { return position_[x] < position_[y]; });
  }
  t.column.resize(n);
  t.mask.resize(n * W);
  t.position.resize(n);
  std::vector<uint32_t> next_token(n);
  for (size_t at = 0; at < n; ++at) {
    const uint32_t i = by_slot[at];
    const uint32_t c = col_of[token_[i]];
    t.column[at] = c;
    std::copy_n(mask_.begin() + size_t{i} * W, W, t.mask.begin() + at * W);
    t.position[at] = position_[i];
    next_token[at] = next_[i];
    ++t.column_events[c];
  }
  t.block_key = std::move(block_keys_);
  DeriveSourceKeys(next_token, &t);
  *this = RoutingTableBuilder(num_pathways_, top_k_);
  return t;
}

}  // namespace monoroute::analysis
