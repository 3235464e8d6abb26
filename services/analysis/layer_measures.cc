// ComputePoint (one counting pass per source key, then the measure functions of measures.h and
// category_stats.h) and the measure table.
#include "services/analysis/layer_measures.h"

#include <cmath>

namespace monoroute::analysis {
namespace {

// KL per pathway and MI from sufficient sums (as PathwayKl / MutualInformation do from counts).
void SumsInto(const GroupSums& g, int s, MeasurePoint* pt) {
  const size_t P = g.load.size();
  pt->kl[s].assign(P, kNaN);
  pt->mi[s] = kNaN;
  if (g.total == 0) return;
  const double log_m = std::log(static_cast<double>(g.total));
  double mi = 0.0;
  for (size_t p = 0; p < P; ++p) {
    if (g.load[p] == 0) continue;
    const double n = static_cast<double>(g.load[p]);
    const double kl = std::max(0.0, (g.sums.xlogx[p] - g.sums.xlogc[p]) / n + log_m - std::log(n));
    pt->kl[s][p] = kl;
    mi += n / static_cast<double>(g.total) * kl;
  }
  pt->mi[s] = std::max(0.0, mi);
}

// Per-event weights from per-block weights (null stays null).
const uint32_t* EventWeights(const RoutingTable& t, const uint32_t* block_weight,
                             std::vector<uint32_t>* out) {
  if (block_weight == nullptr) return nullptr;
  out->resize(t.events());
  for (size_t b = 0; b < t.blocks(); ++b) {
    std::fill(out->begin() + t.block_begin[b], out->begin() + t.block_begin[b + 1],
              block_weight[b]);
  }
  return out->data();
}

// One source's KL and MI on `masks` into slot `slot` of the point.
void GroupedSourceInto(const MeasureContext& ctx, int key, const uint64_t* masks,
                       const uint32_t* event_weight, MeasureScratch* scratch, int slot,
                       MeasurePoint* pt) {
  CountGroupSums(*ctx.table, (*ctx.groups)[key], masks, event_weight, &scratch->group_sums);
  SumsInto(scratch->group_sums, slot, pt);
}

// KL per pathway and MI of one source's counts into the point.
void SourceInto(const RoutingCounts& counts, int s, MeasurePoint* pt) {
  const PathwaySums sums = ComputePathwaySums(counts);
  pt->kl[s] = PathwayKl(counts, sums);
  pt->mi[s] = MutualInformation(counts, pt->kl[s]);
  if (s != kCurrentToken) return;
  pt->entropy = PathwayEntropies(counts, sums);
}

void CategoriesInto(const MeasureContext& ctx, const RoutingCounts& counts,
                    const std::vector<int32_t>& labels, MeasureScratch* scratch, MeasurePoint* pt) {
  const CategoryLayout& layout = *ctx.layout;
  CategoryJoint(counts, layout, labels, &scratch->joint);
  const CategoryMeasures m = ComputeCategoryMeasures(scratch->joint, counts.num_pathways,
                                                     layout.num_categories, ctx.table->top_k);
  if (m.total == 0) return;
  pt->category_mi = m.mi;
  pt->category_ceiling = m.ceiling;
  pt->category_kl = m.pathway_kl;
}

double Diff(double a, double b) { return a - b; }

std::vector<double> DiffVec(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> d(a.size(), kNaN);
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) d[i] = a[i] - b[i];
  return d;
}

double PathwayValue(const std::vector<double>& v, uint32_t p) { return p < v.size() ? v[p] : kNaN; }

// I(P; pair) - I(P; `given`) (and per pathway) on `masks`; reuses `same` (this point's own
// sources) when the masks are the point's own.

void ConditionalInto(const MeasureContext& ctx, const uint64_t* masks, const uint64_t* own,
                     const uint32_t* block_weight, const uint32_t* event_weight, int given,
                     MeasureScratch* scratch, const MeasurePoint& same, double* mi,
                     std::vector<double>* kl) {
  if (masks == own) {
    *mi = Diff(same.mi[kPreviousAndCurrent], same.mi[given]);
    *kl = DiffVec(same.kl[kPreviousAndCurrent], same.kl[given]);
    return;
  }
  MeasurePoint tmp;
  GroupedSourceInto(ctx, kPreviousAndCurrent, masks, event_weight, scratch, kPreviousAndCurrent,
                    &tmp);
  if (event_weight == nullptr && ctx.observed != nullptr) {
    // Permuted within `given` groups without weights: the given key's counts are the observed.
    *mi = Diff(tmp.mi[kPreviousAndCurrent], ctx.observed->mi[given]);
    *kl = DiffVec(tmp.kl[kPreviousAndCurrent], ctx.observed->kl[given]);
    return;
  }
  CountKeyed(*ctx.table, given, masks, block_weight, &scratch->other);
  SourceInto(scratch->other, kPreviousToken, &tmp);  // slot reused: any non-current slot
  *mi = Diff(tmp.mi[kPreviousAndCurrent], tmp.mi[kPreviousToken]);
  *kl = DiffVec(tmp.kl[kPreviousAndCurrent], tmp.kl[kPreviousToken]);
}

}  // namespace

void CountGroupSums(const RoutingTable& table, const KeyGroups& groups, const uint64_t* masks,
                    const uint32_t* event_weight, GroupSums* out) {
  const uint32_t P = table.num_pathways;
  out->sums.xlogx.assign(P, 0.0);
  out->sums.xlogc.assign(P, 0.0);
  out->load.assign(P, 0);
  out->total = 0;
  uint64_t local[kMaxAnalysisPathways] = {0};
  const uint32_t* order = groups.order.data();
  for (size_t g = 0; g + 1 < groups.begin.size(); ++g) {
    uint64_t touched = 0, c = 0;
    for (uint32_t j = groups.begin[g]; j < groups.begin[g + 1]; ++j) {
      const uint32_t e = order[j];
      const uint32_t w = event_weight != nullptr ? event_weight[e] : 1;
      if (w == 0) continue;
      const uint64_t m = masks[e];
      touched |= m;
      for (uint64_t b = m; b != 0; b &= b - 1) local[__builtin_ctzll(b)] += w;
      c += static_cast<uint64_t>(w) * table.top_k;
    }
    if (c == 0) continue;
    const double logc = std::log(static_cast<double>(c));
    for (uint64_t b = touched; b != 0; b &= b - 1) {
      const int p = __builtin_ctzll(b);
      const uint64_t x = local[p];
      out->sums.xlogx[p] += XLogX(x);
      out->sums.xlogc[p] += static_cast<double>(x) * logc;
      out->load[p] += x;
      local[p] = 0;
    }
    out->total += c;
  }
}

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

void PermuteWithinGroups(const KeyGroups& groups, const std::vector<uint64_t>& base,
                         Xoshiro256& rng, std::vector<uint64_t>* out) {
  out->resize(base.size());
  std::vector<uint64_t> buf(groups.order.size());
  for (size_t i = 0; i < buf.size(); ++i) buf[i] = base[groups.order[i]];
  for (size_t g = 0; g + 1 < groups.begin.size(); ++g) {
    uint64_t* b = buf.data() + groups.begin[g];
    const uint32_t n = groups.begin[g + 1] - groups.begin[g];
    for (uint32_t i = n; i > 1; --i) std::swap(b[i - 1], b[static_cast<uint32_t>(rng.Below(i))]);
  }
  for (size_t i = 0; i < buf.size(); ++i) (*out)[groups.order[i]] = buf[i];
}

MeasurePoint ComputePoint(const MeasureContext& ctx, const uint64_t* masks, const uint32_t* weights,
                          const RoutingCounts* category_counts, const std::vector<int32_t>* labels,
                          MeasureScratch* scratch, TokenSpecialisation* per_token,
                          const ConditionalMasks* cond) {
  const RoutingTable& table = *ctx.table;
  MeasurePoint pt;
  CountKeyed(table, kCurrentToken, masks, weights, &scratch->current);
  const RoutingCounts& cur = scratch->current;
  SourceInto(cur, kCurrentToken, &pt);
  const uint32_t P = table.num_pathways;
  pt.purity.assign(P, kNaN);
  double purity = 0.0, kl = 0.0;
  int active = 0;
  for (uint32_t p = 0; p < P; ++p) {
    if (cur.load[p] == 0) continue;
    pt.purity[p] = 1.0 - pt.entropy[p] / ctx.log_vocab;
    purity += pt.purity[p];
    kl += pt.kl[kCurrentToken][p];
    ++active;
  }
  if (active > 0) {
    pt.mean_purity = purity / active;
    pt.mean_kl = kl / active;
  }
  TokenSpecialisation ts =
      ComputeTokenSpecialisation(cur, table.top_k, ctx.min_token_count, per_token != nullptr);
  pt.token_specialisation = ts.mean;
  if (per_token != nullptr) *per_token = std::move(ts);
  if (ctx.sources) {
    const uint32_t* ew = EventWeights(table, weights, &scratch->event_weight);
    // Keys with few values: a dense count (sequential, cache-friendly); the token pair, whose
    // values are nearly as many as the events: counted group by group.
    for (int s = kPreviousToken; s < kPreviousAndCurrent; ++s) {
      CountKeyed(table, s, masks, weights, &scratch->other);
      SourceInto(scratch->other, s, &pt);
    }
    GroupedSourceInto(ctx, kPreviousAndCurrent, masks, ew, scratch, kPreviousAndCurrent, &pt);
    const uint64_t* cgp = cond != nullptr && cond->current_given_previous != nullptr
                              ? cond->current_given_previous
                              : masks;
    const uint64_t* pgc = cond != nullptr && cond->previous_given_current != nullptr
                              ? cond->previous_given_current
                              : masks;
    ConditionalInto(ctx, cgp, masks, weights, ew, kPreviousToken, scratch, pt,
                    &pt.current_given_previous, &pt.current_given_previous_kl);
    ConditionalInto(ctx, pgc, masks, weights, ew, kCurrentToken, scratch, pt,
                    &pt.previous_given_current, &pt.previous_given_current_kl);
  }
  if (ctx.layout != nullptr && ctx.layout->num_categories > 0) {
    CategoriesInto(ctx, category_counts != nullptr ? *category_counts : cur,
                   labels != nullptr ? *labels : ctx.layout->labels, scratch, &pt);
  }
  return pt;
}

const std::array<MeasureSpec, kNumMeasures>& Measures() {
  using P = const MeasurePoint&;
  static const std::array<MeasureSpec, kNumMeasures> kTable = {{
      {"mi", false, false, false, false, [](P pt, uint32_t) { return pt.mi[kCurrentToken]; }},
      {"mi_previous_token", false, false, true, false,
       [](P pt, uint32_t) { return pt.mi[kPreviousToken]; }},
      {"mi_next_token", false, false, true, false,
       [](P pt, uint32_t) { return pt.mi[kNextToken]; }},
      {"mi_position", false, false, true, false, [](P pt, uint32_t) { return pt.mi[kPosition]; }},
      {"current_given_previous", false, false, true, false,
       [](P pt, uint32_t) { return pt.current_given_previous; }},
      {"previous_given_current", false, false, true, false,
       [](P pt, uint32_t) { return pt.previous_given_current; }},
      {"mean_purity", false, false, false, false, [](P pt, uint32_t) { return pt.mean_purity; }},
      {"mean_kl", false, false, false, false, [](P pt, uint32_t) { return pt.mean_kl; }},
      {"token_specialisation", false, false, false, false,
       [](P pt, uint32_t) { return pt.token_specialisation; }},
      {"category_mi", false, true, false, true, [](P pt, uint32_t) { return pt.category_mi; }},
      {"purity", true, false, false, false,
       [](P pt, uint32_t p) { return PathwayValue(pt.purity, p); }},
      {"kl", true, false, false, false,
       [](P pt, uint32_t p) { return PathwayValue(pt.kl[kCurrentToken], p); }},
      {"kl_previous_token", true, false, true, false,
       [](P pt, uint32_t p) { return PathwayValue(pt.kl[kPreviousToken], p); }},
      {"kl_next_token", true, false, true, false,
       [](P pt, uint32_t p) { return PathwayValue(pt.kl[kNextToken], p); }},
      {"kl_position", true, false, true, false,
       [](P pt, uint32_t p) { return PathwayValue(pt.kl[kPosition], p); }},
      {"kl_current_given_previous", true, false, true, false,
       [](P pt, uint32_t p) { return PathwayValue(pt.current_given_previous_kl, p); }},
      {"kl_previous_given_current", true, false, true, false,
       [](P pt, uint32_t p) { return PathwayValue(pt.previous_given_current_kl, p); }},
      {"category_kl", true, true, false, true,
       [](P pt, uint32_t p) { return PathwayValue(pt.category_kl, p); }},
  }};
  return kTable;
}

MeasureId SourceMiMeasure(int s) {
  static const MeasureId kIds[] = {kMi, kMiPrevious, kMiNext, kMiPosition};
  return kIds[s];
}

MeasureId SourceKlMeasure(int s) {
  static const MeasureId kIds[] = {kPathwayKl, kPathwayKlPrevious, kPathwayKlNext,
                                   kPathwayKlPosition};
  return kIds[s];
}

}  // namespace monoroute::analysis
