// MakeSourceGroups (counting sorts), the nested pair sums, the outer-key counts and the
// within-group shuffle of the conditional nulls.
#include "services/analysis/source_groups.h"

#include <algorithm>
#include <utility>

#include "services/analysis/effect.h"

namespace monoroute::analysis {

KeyGroups GroupByKey(const RoutingTable& table, int key) {
  KeyGroups g;
  const uint32_t* k = table.keys(key);
  const size_t V = table.key_count(key);
  g.begin.assign(V + 1, 0);
  for (size_t i = 0; i < table.events(); ++i) ++g.begin[k[i] + 1];
  for (size_t v = 0; v < V; ++v) g.begin[v + 1] += g.begin[v];
  std::vector<uint32_t> next(g.begin.begin(), g.begin.end() - 1);
  g.order.resize(table.events());
  for (size_t i = 0; i < table.events(); ++i) g.order[next[k[i]]++] = static_cast<uint32_t>(i);
  return g;
}

namespace {

// How many events ahead a gather in key order prefetches its top-k set.
constexpr uint32_t kGatherAhead = 16;

// The block of every event.
std::vector<uint32_t> EventBlocks(const RoutingTable& t) {
  std::vector<uint32_t> block(t.events());
  for (size_t b = 0; b < t.blocks(); ++b) {
    std::fill(block.begin() + t.block_begin[b], block.begin() + t.block_begin[b + 1],
              static_cast<uint32_t>(b));
  }
  return block;
}

NestedPairGroups Nest(const RoutingTable& t, const std::vector<uint32_t>& event_block,
                      int outer_key, int inner_key) {
  NestedPairGroups n;
  n.outer_key = outer_key;
  n.outer = GroupByKey(t, outer_key);
  const size_t N = t.events();
  const std::vector<uint32_t>& order = n.outer.order;
  n.outer_block.resize(N);
  for (size_t j = 0; j < N; ++j) n.outer_block[j] = event_block[order[j]];
  if (inner_key < 0) return n;
  // Outer positions by the inner key (stable), then by outer group (stable): (outer, inner, j).
  const uint32_t* inner = t.keys(inner_key);
  const size_t V = t.key_count(inner_key);
  std::vector<uint32_t> start(V + 1, 0);
  for (size_t j = 0; j < N; ++j) ++start[inner[order[j]] + 1];
  for (size_t v = 0; v < V; ++v) start[v + 1] += start[v];
  std::vector<uint32_t> by_inner(N);
  for (size_t j = 0; j < N; ++j) by_inner[start[inner[order[j]]]++] = static_cast<uint32_t>(j);
  const size_t G = n.outer.begin.size() - 1;
  std::vector<uint32_t> group_of(N);
  for (size_t g = 0; g < G; ++g) {
    std::fill(group_of.begin() + n.outer.begin[g], group_of.begin() + n.outer.begin[g + 1],
              static_cast<uint32_t>(g));
  }
  std::vector<uint32_t> next(n.outer.begin.begin(), n.outer.begin.end() - 1);
  n.inner_pos.resize(N);
  for (uint32_t j : by_inner) n.inner_pos[next[group_of[j]]++] = j;
  for (size_t i = 0; i < N; ++i) {
    const uint32_t j = n.inner_pos[i];
    if (i == 0 || group_of[j] != group_of[n.inner_pos[i - 1]] ||
        inner[order[j]] != inner[order[n.inner_pos[i - 1]]]) {
      n.inner_begin.push_back(static_cast<uint32_t>(i));
    }
  }
  n.inner_begin.push_back(static_cast<uint32_t>(N));
  return n;
}

}  // namespace

SourceGroups MakeSourceGroups(const RoutingTable& table, bool sources) {
  const std::vector<uint32_t> block = EventBlocks(table);
  SourceGroups s;
  s.sources = sources;
  s.by_current = Nest(table, block, kCurrentToken, sources ? kPreviousToken : -1);
  if (!sources) return s;
  s.by_previous = Nest(table, block, kPreviousToken, kCurrentToken);
  s.next = GroupByKey(table, kNextToken);
  return s;
}

const KeyGroups& SourceGroups::ByKey(int key) const {
  return key == kPreviousToken ? by_previous.outer : key == kNextToken ? next : by_current.outer;
}

namespace {

// Accumulates a source's sufficient sums group by group: a group's per-pathway counts are
// gathered in `local`, then flushed. Groups of one unweighted event (most token pairs, rare
// tokens) only count their pathways; their x ln c terms (c = k) are added once at the end.
// Masks of kWords words; its arrays hold 64 pathways per word.
template <uint32_t kWords>
class SumsAccumulator {
 public:
  explicit SumsAccumulator(MaskWidth<kWords> width)
      : width_(width), log_table_(LogTable()), xlogx_table_(XLogXTable()) {}

  // Gathers one group: the events rows[lo..hi) (event r's mask at masks + r * words, its weight
  // weight_of(r)), prefetching kGatherAhead entries ahead within rows[0..n). A lone event of
  // weight 1 is only counted (Singleton) when `singletons` holds; otherwise the group's counts are
  // added and flushed. Returns {the group's routings c, its largest count}; {0, 0} when nothing
  // was flushed.
  template <class WeightOf>
  std::pair<uint64_t, uint64_t> Group(const uint64_t* masks, const uint32_t* rows, size_t n,
                                      uint32_t lo, uint32_t hi, bool singletons, uint32_t top_k,
                                      const WeightOf& weight_of) {
    const uint32_t W = width_.words();
    if (hi - lo == 1 && singletons) {
      if (lo + kGatherAhead < n) __builtin_prefetch(masks + size_t{rows[lo + kGatherAhead]} * W);
      const uint32_t r = rows[lo];
      if (weight_of(r) == 1) {
        Singleton(masks + size_t{r} * W);
        return {0, 0};
      }
    }
    uint64_t c = 0;
    for (uint32_t j = lo; j < hi; ++j) {
      if (j + kGatherAhead < n) __builtin_prefetch(masks + size_t{rows[j + kGatherAhead]} * W);
      const uint32_t r = rows[j];
      const uint32_t w = weight_of(r);
      Add(masks + size_t{r} * W, w, j);
      c += static_cast<uint64_t>(w) * top_k;
    }
    if (c == 0) return {0, 0};
    return {c, Flush(c)};
  }

  void Finish(uint32_t P, uint32_t top_k, GroupSums* out) {
    const double logk = LogCount(top_k, log_table_);
    for (uint32_t p = 0; p < P; ++p) {
      if (single_[p] == 0) continue;
      xlogc_[p] += static_cast<double>(single_[p]) * logk;
      load_[p] += single_[p];
    }
    out->sums.xlogx.assign(xlogx_, xlogx_ + P);
    out->sums.xlogc.assign(xlogc_, xlogc_ + P);
    out->load.assign(load_, load_ + P);
    out->total = total_ + singles_ * top_k;
  }

 private:
  // Adds weight w to every pathway of m in the current group, and (when w > 0) m to touched_.
  // Consecutive events of a group often share pathways; `bank` (cycled by the caller) spreads
  // their adds over kBanks counters so that they do not wait on each other.
  void Add(const uint64_t* m, uint64_t w, uint32_t bank) {
    uint64_t* local = local_[bank % kBanks];
    ForEachPathway(width_, m, [&](uint32_t p) { local[p] += w; });
    const uint64_t keep = w != 0 ? ~uint64_t{0} : 0;
    for (uint32_t i = 0; i < width_.words(); ++i) touched_[i] |= m[i] & keep;
  }
  // A group of one event of weight 1.
  void Singleton(const uint64_t* m) {
    ForEachPathway(width_, m, [&](uint32_t p) { ++single_[p]; });
    ++singles_;
  }
  // Ends the current group (pathways touched_, c routings), clearing touched_; returns its
  // largest count.
  uint64_t Flush(uint64_t c) {
    const double logc = LogCount(c, log_table_);
    uint64_t best = 0;
    ForEachPathway(width_, touched_, [&](uint32_t p) {
      uint64_t x = 0;
      for (uint64_t* local : local_) {
        x += local[p];
        local[p] = 0;
      }
      xlogx_[p] += x < kSmallCount ? xlogx_table_[x] : XLogX(x);
      xlogc_[p] += static_cast<double>(x) * logc;
      load_[p] += x;
      best = std::max(best, x);
    });
    for (uint32_t i = 0; i < width_.words(); ++i) touched_[i] = 0;
    total_ += c;
    return best;
  }

  static constexpr uint32_t kPathways = 64 * kWords;
  static constexpr uint32_t kBanks = 4;
  const MaskWidth<kWords> width_;
  const double* log_table_;
  const double* xlogx_table_;
  double xlogx_[kPathways] = {0}, xlogc_[kPathways] = {0};
  uint64_t local_[kBanks][kPathways] = {};
  uint64_t load_[kPathways] = {0}, single_[kPathways] = {0};
  uint64_t touched_[kWords] = {};  // pathways of the current group
  uint64_t total_ = 0, singles_ = 0;
};

// Running token specialisation (ComputeTokenSpecialisation's sums).
struct SpecialisationSums {
  uint64_t eligible = 0;
  double sum = 0.0, wsum = 0.0, wtotal = 0.0;

  void Add(uint64_t best, uint64_t c, uint32_t top_k) {
    const double s = std::min(1.0, static_cast<double>(best) * top_k / static_cast<double>(c));
    ++eligible;
    sum += s;
    wsum += s * static_cast<double>(c);
    wtotal += static_cast<double>(c);
  }
  void Into(TokenSpecialisation* spec) const {
    *spec = TokenSpecialisation{};
    spec->eligible = eligible;
    spec->mean = eligible ? sum / static_cast<double>(eligible) : kNaN;
    spec->weighted = wtotal > 0 ? wsum / wtotal : kNaN;
  }
};

}  // namespace

namespace {

// CountKeySums for masks of `width`.
template <uint32_t kWords>
void KeySums(MaskWidth<kWords> width, const KeyGroups& groups, const uint64_t* masks,
             const uint32_t* event_weight, uint32_t P, uint32_t top_k, uint64_t min_routings,
             GroupSums* out, TokenSpecialisation* spec) {
  SumsAccumulator<kWords> acc(width);
  SpecialisationSums sp;
  // A single event (k routings) never counts for the specialisation when min_routings > k.
  const bool fast_singletons = min_routings == 0 || min_routings > top_k;
  const size_t G = groups.begin.size() - 1;
  auto weight_of = [&](uint32_t e) { return event_weight != nullptr ? event_weight[e] : 1u; };
  for (size_t g = 0; g < G; ++g) {
    const auto [c, best] =
        acc.Group(masks, groups.order.data(), groups.order.size(), groups.begin[g],
                  groups.begin[g + 1], fast_singletons, top_k, weight_of);
    if (c != 0 && min_routings > 0 && c >= min_routings) sp.Add(best, c, top_k);
  }
  acc.Finish(P, top_k, out);
  if (spec != nullptr) sp.Into(spec);
}

// CountPairSums for masks of `width`.
template <uint32_t kWords>
void PairSums(MaskWidth<kWords> width, const NestedPairGroups& groups, const uint64_t* masks,
              const uint32_t* block_weight, uint32_t P, uint32_t top_k, GroupSums* out) {
  SumsAccumulator<kWords> acc(width);
  const uint32_t* blk = groups.outer_block.data();
  const size_t G = groups.inner_begin.size() - 1;
  auto weight_of = [&](uint32_t j) { return block_weight != nullptr ? block_weight[blk[j]] : 1u; };
  for (size_t g = 0; g < G; ++g) {
    acc.Group(masks, groups.inner_pos.data(), groups.inner_pos.size(), groups.inner_begin[g],
              groups.inner_begin[g + 1], /*singletons=*/true, top_k, weight_of);
  }
  acc.Finish(P, top_k, out);
}

}  // namespace

void CountKeySums(const KeyGroups& groups, const uint64_t* masks, const uint32_t* event_weight,
                  uint32_t P, uint32_t top_k, uint64_t min_routings, GroupSums* out,
                  TokenSpecialisation* spec) {
  DispatchMaskWidth(MaskWords(P), [&](auto width) {
    KeySums(width, groups, masks, event_weight, P, top_k, min_routings, out, spec);
  });
}

void CountPairSums(const NestedPairGroups& groups, const uint64_t* masks,
                   const uint32_t* block_weight, uint32_t P, uint32_t top_k, GroupSums* out) {
  DispatchMaskWidth(MaskWords(P), [&](auto width) {
    PairSums(width, groups, masks, block_weight, P, top_k, out);
  });
}

void CountOuterKeyed(const NestedPairGroups& groups, const uint64_t* masks,
                     const uint32_t* block_weight, uint32_t P, RoutingCounts* out) {
  const size_t G = groups.outer.begin.size() - 1;
  out->num_pathways = P;
  out->cells.assign(G * P, 0);
  out->column_total.assign(G, 0);
  const uint32_t* blk = groups.outer_block.data();
  DispatchMaskWidth(MaskWords(P), [&](auto width) {
    const uint32_t W = width.words();
    for (size_t g = 0; g < G; ++g) {
      uint32_t* row = out->cells.data() + g * P;
      for (uint32_t j = groups.outer.begin[g]; j < groups.outer.begin[g + 1]; ++j) {
        const uint32_t w = block_weight != nullptr ? block_weight[blk[j]] : 1;
        ForEachPathway(width, masks + size_t{j} * W, [&](uint32_t p) { row[p] += w; });
      }
    }
  });
  FinishCounts(out);
}

void ShuffleWithinOuter(const NestedPairGroups& groups, uint32_t mask_words,
                        const std::vector<uint64_t>& base, Xoshiro256& rng,
                        std::vector<uint64_t>* out) {
  *out = base;
  const std::vector<uint32_t>& begin = groups.outer.begin;
  DispatchMaskWidth(mask_words, [&](auto width) {
    for (size_t g = 0; g + 1 < begin.size(); ++g) {
      uint64_t* b = out->data() + size_t{begin[g]} * mask_words;
      const uint32_t n = begin[g + 1] - begin[g];
      for (uint32_t i = n; i > 1; --i) {
        SwapMasks(width, b, i - 1, static_cast<uint32_t>(rng.Below(i)));
      }
    }
  });
}

void GatherOuter(const NestedPairGroups& groups, uint32_t mask_words, const uint64_t* masks,
                 std::vector<uint64_t>* out) {
  const std::vector<uint32_t>& order = groups.outer.order;
  out->resize(order.size() * mask_words);
  DispatchMaskWidth(mask_words, [&](auto width) {
    const uint32_t W = width.words();
    for (size_t j = 0; j < order.size(); ++j) {
      if (j + kGatherAhead < order.size()) {
        __builtin_prefetch(masks + size_t{order[j + kGatherAhead]} * W);
      }
      std::copy_n(masks + size_t{order[j]} * W, W, out->data() + j * W);
    }
  });
}

void KlFromSums(const GroupSums& g, std::vector<double>* kl, double* mi) {
  const size_t P = g.load.size();
  kl->assign(P, kNaN);
  *mi = kNaN;
  if (g.total == 0) return;
  const double log_m = std::log(static_cast<double>(g.total));
  double sum = 0.0;
  for (size_t p = 0; p < P; ++p) {
    if (g.load[p] == 0) continue;
    const double n = static_cast<double>(g.load[p]);
    const double k = std::max(0.0, (g.sums.xlogx[p] - g.sums.xlogc[p]) / n + log_m - std::log(n));
    (*kl)[p] = k;
    sum += n / static_cast<double>(g.total) * k;
  }
  *mi = std::max(0.0, sum);
}

}  // namespace monoroute::analysis
