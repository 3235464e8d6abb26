// ComputePoint (one counting pass per source key, then the measure functions of measures.h and
// category_stats.h) and the measure table.
#include "services/analysis/layer_measures.h"

#include <algorithm>
#include <cmath>

namespace monoroute::analysis {
namespace {

// The token pair's KL and MI on top-k sets in the outer order of `groups` into `kl` / `mi`.
void PairInto(const MeasureContext& ctx, const NestedPairGroups& groups, const uint64_t* masks,
              const uint32_t* weights, MeasureScratch* scratch, std::vector<double>* kl,
              double* mi) {
  CountPairSums(groups, masks, weights, ctx.table->num_pathways, ctx.table->top_k,
                &scratch->group_sums);
  KlFromSums(scratch->group_sums, kl, mi);
}

// KL per pathway and MI of one source's sums into the point (and, for the current token, the
// entropies, as PathwayEntropies computes them).
void KeySumsInto(const GroupSums& g, int s, MeasurePoint* pt) {
  KlFromSums(g, &pt->kl[s], &pt->mi[s]);
  if (s != kCurrentToken) return;
  pt->entropy.assign(g.load.size(), kNaN);
  for (size_t p = 0; p < g.load.size(); ++p) {
    if (g.load[p] == 0) continue;
    const double n = static_cast<double>(g.load[p]);
    pt->entropy[p] = std::max(0.0, std::log(n) - g.sums.xlogx[p] / n);
  }
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

// I(P; pair) - I(P; given) (and per pathway), given = groups.outer_key, on top-k sets `masks` in
// the outer order of `groups`; null `masks`: the point's own routing (`same`, whose pair and
// given sources are measured).
void ConditionalInto(const MeasureContext& ctx, const NestedPairGroups& groups,
                     const uint64_t* masks, const uint32_t* weights, MeasureScratch* scratch,
                     const MeasurePoint& same, double* mi, std::vector<double>* kl) {
  const int given = groups.outer_key;
  if (masks == nullptr) {
    *mi = Diff(same.mi[kPreviousAndCurrent], same.mi[given]);
    *kl = DiffVec(same.kl[kPreviousAndCurrent], same.kl[given]);
    return;
  }
  MeasurePoint tmp;
  PairInto(ctx, groups, masks, weights, scratch, &tmp.kl[kPreviousAndCurrent],
           &tmp.mi[kPreviousAndCurrent]);
  if (weights == nullptr && ctx.observed != nullptr) {
    // Permuted within `given` groups without weights: the given key's counts are the observed.
    *mi = Diff(tmp.mi[kPreviousAndCurrent], ctx.observed->mi[given]);
    *kl = DiffVec(tmp.kl[kPreviousAndCurrent], ctx.observed->kl[given]);
    return;
  }
  CountOuterKeyed(groups, masks, weights, ctx.table->num_pathways, &scratch->other);
  SourceInto(scratch->other, kPreviousToken, &tmp);  // slot reused: any non-current slot
  *mi = Diff(tmp.mi[kPreviousAndCurrent], tmp.mi[kPreviousToken]);
  *kl = DiffVec(tmp.kl[kPreviousAndCurrent], tmp.kl[kPreviousToken]);
}

// The sources besides the current token: dense counts of the few-valued keys, the token pair
// (when a conditional is measured on the point's own routing) and the two conditionals.
void SourcesInto(const MeasureContext& ctx, const PointRequest& req, const uint32_t* event_weight,
                 MeasureScratch* scratch, MeasurePoint* pt) {
  const RoutingTable& table = *ctx.table;
  const SourceGroups& groups = *ctx.groups;
  for (int s : {kPreviousToken, kNextToken}) {
    CountKeySums(groups.ByKey(s), req.masks, event_weight, table.num_pathways, table.top_k, 0,
                 &scratch->group_sums, nullptr);
    KeySumsInto(scratch->group_sums, s, pt);
  }
  CountKeyed(table, kPosition, req.masks, req.weights, &scratch->other);
  SourceInto(scratch->other, kPosition, pt);
  const ConditionalMasks* cond = req.conditional;
  const uint64_t* cgp = cond != nullptr ? cond->current_given_previous : nullptr;
  const uint64_t* pgc = cond != nullptr ? cond->previous_given_current : nullptr;
  if (cgp == nullptr || pgc == nullptr) {
    const uint64_t* own = ctx.previous_order_masks->data();
    if (req.masks != table.mask.data()) {
      GatherOuter(groups.by_previous, table.mask_words, req.masks, &scratch->gathered);
      own = scratch->gathered.data();
    }
    PairInto(ctx, groups.by_previous, own, req.weights, scratch, &pt->kl[kPreviousAndCurrent],
             &pt->mi[kPreviousAndCurrent]);
  }
  ConditionalInto(ctx, groups.by_previous, cgp, req.weights, scratch, *pt,
                  &pt->current_given_previous, &pt->current_given_previous_kl);
  ConditionalInto(ctx, groups.by_current, pgc, req.weights, scratch, *pt,
                  &pt->previous_given_current, &pt->previous_given_current_kl);
}

// The current token's KL, MI, entropies, loads and token specialisation: from the dense counts
// (left in scratch->current) when they are asked for or needed, else from sums.
void CurrentInto(const MeasureContext& ctx, const PointRequest& req, const uint32_t* event_weight,
                 MeasureScratch* scratch, MeasurePoint* pt, std::vector<uint64_t>* load) {
  const RoutingTable& table = *ctx.table;
  const bool categories = ctx.layout != nullptr && ctx.layout->num_categories > 0;
  TokenSpecialisation ts;
  if (req.keep_counts || req.per_token != nullptr || (categories && !req.category_counts)) {
    CountKeyed(table, kCurrentToken, req.masks, req.weights, &scratch->current);
    SourceInto(scratch->current, kCurrentToken, pt);
    *load = scratch->current.load;
    ts = ComputeTokenSpecialisation(scratch->current, table.top_k, ctx.min_token_count,
                                    req.per_token != nullptr);
  } else {
    const uint64_t min_routings = std::max<uint64_t>(1, ctx.min_token_count) * table.top_k;
    CountKeySums(ctx.groups->by_current.outer, req.masks, event_weight, table.num_pathways,
                 table.top_k, min_routings, &scratch->group_sums, &ts);
    KeySumsInto(scratch->group_sums, kCurrentToken, pt);
    *load = scratch->group_sums.load;
  }
  pt->token_specialisation = ts.mean;
  if (req.per_token != nullptr) *req.per_token = std::move(ts);
}

}  // namespace

MeasurePoint ComputePoint(const MeasureContext& ctx, const PointRequest& req,
                          MeasureScratch* scratch) {
  const RoutingTable& table = *ctx.table;
  MeasurePoint pt;
  const uint32_t* ew = EventWeights(table, req.weights, &scratch->event_weight);
  std::vector<uint64_t> load;
  CurrentInto(ctx, req, ew, scratch, &pt, &load);
  const uint32_t P = table.num_pathways;
  pt.purity.assign(P, kNaN);
  double purity = 0.0, kl = 0.0;
  int active = 0;
  for (uint32_t p = 0; p < P; ++p) {
    if (load[p] == 0) continue;
    pt.purity[p] = 1.0 - pt.entropy[p] / ctx.log_vocab;
    purity += pt.purity[p];
    kl += pt.kl[kCurrentToken][p];
    ++active;
  }
  if (active > 0) {
    pt.mean_purity = purity / active;
    pt.mean_kl = kl / active;
  }
  if (ctx.sources) SourcesInto(ctx, req, ew, scratch, &pt);
  if (ctx.layout != nullptr && ctx.layout->num_categories > 0) {
    CategoriesInto(ctx, req.category_counts != nullptr ? *req.category_counts : scratch->current,
                   req.labels != nullptr ? *req.labels : ctx.layout->labels, scratch, &pt);
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
