// AnalyzeLayer: a short driver over the effect driver (effect_driver.h), the category test
// (category_test.h) and the flags; the result structs are filled by the helpers below.
#include "services/analysis/layer_analysis.h"

#include <algorithm>
#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "services/analysis/category_test.h"
#include "services/analysis/locality_measure.h"
#include "services/analysis/resampling.h"
#include "services/analysis/source_attribution.h"

namespace monoroute::analysis {
namespace {

// One-sided p-value of "effect > threshold" from an estimate and its standard error.
double OneSidedP(double estimate, double threshold, double se) {
  if (!std::isfinite(estimate) || !(se > 0.0)) return kNaN;
  return NormalUpperTail((estimate - threshold) / se);
}

LayerResult LayerBasics(const RoutingTable& table, const LayerContext& ctx,
                        const AnalysisOptions& o, double log_vocab) {
  LayerResult L;
  L.layer = ctx.layer;
  L.num_pathways = table.num_pathways;
  L.top_k = table.top_k;
  L.events_used = table.events();
  L.events = ctx.events_read > 0 ? ctx.events_read : L.events_used;
  L.routings = L.events_used * table.top_k;
  L.blocks = table.blocks();
  L.distinct_tokens = table.columns();
  L.purity_normaliser_nats = log_vocab;
  L.mi_ceiling_nats = std::log(static_cast<double>(table.num_pathways) / table.top_k);
  L.null_replicates = o.null_replicates;
  return L;
}

void FillLoadBalance(const RoutingCounts& obs, LayerResult* L) {
  const uint32_t P = obs.num_pathways;
  L->load = obs.load;
  const double M = static_cast<double>(obs.total);
  uint64_t max_load = 0;
  double h = 0.0;
  for (uint64_t n : obs.load) {
    max_load = std::max(max_load, n);
    h -= n ? (n / M) * std::log(n / M) : 0.0;
  }
  L->max_violation = static_cast<double>(max_load) / (M / P) - 1.0;
  L->load_entropy_normalised = P > 1 ? h / std::log(static_cast<double>(P)) : 0.0;
}

// AMI = the category MI excess over (ceiling - null mean), as an Effect with null level 0.
Effect AmiOf(const Effect& mi, double ceiling) {
  Effect a;
  const double denom = ceiling - mi.null_mean;
  if (!(denom > 1e-12) || !std::isfinite(mi.excess)) return a;
  a.observed = a.excess = mi.excess / denom;
  a.null_mean = 0.0;
  if (std::isfinite(mi.ci.low)) a.ci = {mi.ci.low / denom, mi.ci.high / denom};
  return a;
}

void FillLayerEffects(const EffectRun& run, const AnalysisOptions& o, LayerResult* L) {
  const auto& E = run.effects;
  L->mi = E[kMi][0];
  L->mi_excess_normalised = L->mi.excess / L->mi_ceiling_nats;
  L->mean_purity = E[kMeanPurity][0];
  L->mean_kl = E[kMeanKl][0];
  L->token_specialisation = E[kTokenSpecialisation][0];
  L->token_specialisation_weighted = run.per_token.weighted;
  L->eligible_tokens = run.per_token.eligible;
  L->bootstrap_replicates = run.bootstrap;
  Effect marginal[4];
  for (int s = kCurrentToken; s <= kPosition; ++s) {
    marginal[s] = E[SourceMiMeasure(s)][0];
    if (o.sources) L->sources.push_back({SourceKeyName(s), marginal[s]});
  }
  L->current_given_previous = E[kCurrentGivenPrevious][0];
  L->previous_given_current = E[kPreviousGivenCurrent][0];
  L->routing_source = RoutingSource(marginal, L->current_given_previous, L->previous_given_current,
                                    o.min_source_nats);
}

void FillLayerCategories(const EffectRun& run, const CategoryLayout& layout,
                         const CategoryTestResult& test, uint32_t k, LayerResult* L) {
  std::vector<uint64_t> joint;
  CategoryJoint(run.counts, layout, layout.labels, &joint);
  const CategoryMeasures m =
      ComputeCategoryMeasures(joint, L->num_pathways, layout.num_categories, k);
  L->category_tokens = layout.columns.size();
  L->category_routings = m.total;
  L->category_permutations = test.permutations;
  if (m.total == 0) return;
  L->category_mi_ceiling_nats = m.ceiling;
  L->category_nmi = m.nmi;
  L->category_nmi_ceiling = m.nmi_ceiling;
  if (test.permutations == 0) return;
  L->category_mi = run.effects[kCategoryMi][0];
  L->category_ami = AmiOf(L->category_mi, m.ceiling);
}

// Tokens routed to p at least min_count times, by lift (ties: count, then token id).
void FillTopTokens(const RoutingTable& table, const RoutingCounts& counts, uint32_t p,
                   const LayerContext& ctx, const AnalysisOptions& o, PathwayResult* r) {
  struct Cell {
    double lift;
    uint32_t count, column;
  };
  std::vector<Cell> cells;
  uint64_t distinct = 0;
  const double M = static_cast<double>(counts.total);
  for (size_t c = 0; c < counts.columns(); ++c) {
    const uint32_t x = counts.cell(c, p);
    if (x == 0) continue;
    ++distinct;
    if (x < o.min_lift_count) continue;
    const double lift = (x / static_cast<double>(r->load)) / (counts.column_total[c] / M);
    cells.push_back({lift, x, static_cast<uint32_t>(c)});
  }
  r->distinct_tokens = distinct;
  const size_t n = std::min<size_t>(cells.size(), static_cast<size_t>(std::max(0, o.top_tokens)));
  std::partial_sort(cells.begin(), cells.begin() + n, cells.end(),
                    [](const Cell& a, const Cell& b) {
                      if (a.lift != b.lift) return a.lift > b.lift;
                      return a.count != b.count ? a.count > b.count : a.column < b.column;
                    });
  for (size_t i = 0; i < n; ++i) {
    TokenCountResult t;
    t.token_id = table.column_token[cells[i].column];
    t.count = cells[i].count;
    t.share = static_cast<double>(t.count) / static_cast<double>(r->load);
    t.layer_count = counts.column_total[cells[i].column];
    t.lift = cells[i].lift;
    if (ctx.decode) t.token = ctx.decode(t.token_id);
    r->top_tokens.push_back(std::move(t));
  }
}

void FillPathwaySources(const EffectRun& run, uint32_t p, const AnalysisOptions& o,
                        PathwayResult* r) {
  const auto& E = run.effects;
  Effect marginal[4];
  for (int s = kCurrentToken; s <= kPosition; ++s) {
    marginal[s] = E[SourceKlMeasure(s)][p];
    if (o.sources) r->sources.push_back({SourceKeyName(s), marginal[s]});
  }
  r->current_given_previous = E[kPathwayCurrentGivenPrevious][p];
  r->previous_given_current = E[kPathwayPreviousGivenCurrent][p];
  r->routing_source = RoutingSource(marginal, r->current_given_previous, r->previous_given_current,
                                    o.min_source_nats);
}

void FillPathwayCategories(const EffectRun& run, const CategoryLayout& layout,
                           const CategoryMap& cats, const CategoryTestResult& test, uint32_t p,
                           bool summary_only, PathwayResult* r) {
  std::vector<uint64_t> y(layout.num_categories, 0);
  for (size_t i = 0; i < layout.columns.size(); ++i) {
    y[layout.labels[i]] += run.counts.cell(layout.columns[i], p);
  }
  for (uint64_t x : y) r->category_routings += x;
  if (test.permutations > 0) r->category_kl = run.effects[kPathwayCategoryKl][p];
  r->category_p_value = test.p_value[p];
  if (test.best_category[p] >= 0) r->enrichment = test.enrichment[p];
  if (summary_only || r->category_routings == 0) return;
  std::vector<size_t> order;
  for (size_t c = 0; c < y.size(); ++c) {
    if (y[c] > 0) order.push_back(c);
  }
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return y[a] != y[b] ? y[a] > y[b] : a < b; });
  for (size_t c : order) {
    r->categories.push_back(
        {cats.names[c], y[c],
         static_cast<double>(y[c]) / static_cast<double>(r->category_routings)});
  }
}

void FillPathways(const RoutingTable& table, const LayerContext& ctx, const AnalysisOptions& o,
                  const EffectRun& run, LayerResult* L) {
  const uint32_t P = table.num_pathways, k = table.top_k;
  const RoutingCounts& obs = run.counts;
  const double M = static_cast<double>(obs.total);
  L->pathways.resize(P);
  std::vector<uint64_t> owned(P, 0);
  std::vector<double> owned_sum(P, 0.0);
  for (size_t c = 0; c < run.per_token.owner.size(); ++c) {
    const uint32_t owner = run.per_token.owner[c];
    if (owner == kNoOwner) continue;
    ++owned[owner];
    owned_sum[owner] += run.per_token.share[c];
  }
  uint32_t utilised = 0;
  for (uint32_t p = 0; p < P; ++p) {
    PathwayResult& r = L->pathways[p];
    r.layer = ctx.layer;
    r.pathway = p;
    r.load = obs.load[p];
    r.load_share = obs.load[p] / M;
    r.utilised = r.load > 0 && r.load_share >= o.utilisation_threshold / P;
    utilised += r.utilised;
    r.owned_tokens = owned[p];
    r.mean_token_specialisation = owned[p] ? owned_sum[p] / owned[p] : kNaN;
    if (r.load == 0) continue;
    r.entropy_nats = run.observed.entropy[p];
    r.purity = run.effects[kPathwayPurity][p];
    r.kl = run.effects[kPathwayKl][p];
    r.kl_ceiling_nats = -std::log(k * r.load_share);
    r.kl_excess_share = r.kl_ceiling_nats > 0 ? r.kl.excess / r.kl_ceiling_nats : kNaN;
    FillPathwaySources(run, p, o, &r);
    if (!ctx.summary_only) FillTopTokens(table, obs, p, ctx, o, &r);
  }
  L->utilisation = static_cast<double>(utilised) / P;
}

// specialised_vs_null: KL excess > min_effect_nats, one-sided with the bootstrap SE, BH.
void FlagVsNull(const LayerReplicates& reps, const AnalysisOptions& o, LayerResult* L) {
  const uint32_t P = L->num_pathways;
  std::vector<double> p_values(P, kNaN);
  for (uint32_t p = 0; p < P; ++p) {
    PathwayResult& r = L->pathways[p];
    if (r.load == 0) continue;
    r.p_value =
        OneSidedP(r.kl.excess, o.min_effect_nats, ReplicateSd(reps.by_measure[kPathwayKl], p));
    p_values[p] = r.p_value;
  }
  const std::vector<double> q = BenjaminiHochberg(p_values);
  for (uint32_t p = 0; p < P; ++p) {
    PathwayResult& r = L->pathways[p];
    r.q_value = q[p];
    r.specialised_vs_null = std::isfinite(q[p]) && q[p] <= o.fdr;
    L->specialised_vs_null_pathways += r.specialised_vs_null;
  }
}

void FlagCategories(const CategoryMap& cats, const CategoryTestResult& test,
                    const AnalysisOptions& o, LayerResult* L) {
  const std::vector<double> q = BenjaminiHochberg(test.p_value);
  for (uint32_t p = 0; p < L->num_pathways; ++p) {
    PathwayResult& r = L->pathways[p];
    r.category_q_value = q[p];
    r.category_specialised =
        std::isfinite(q[p]) && q[p] <= o.fdr && r.enrichment >= o.min_category_enrichment;
    if (r.category_specialised) r.category = cats.names[test.best_category[p]];
    L->category_specialised_pathways += r.category_specialised;
  }
}

}  // namespace

absl::StatusOr<LayerResult> AnalyzeLayer(const RoutingTable& table, const LayerContext& ctx,
                                         const AnalysisOptions& o, LayerReplicates* reps) {
  RETURN_IF_ERROR(ValidateAnalysisOptions(o));
  const uint32_t P = table.num_pathways, k = table.top_k;
  if (k == 0 || k > P) {
    return absl::InvalidArgumentError(
        absl::StrCat("layer ", ctx.layer, ": top_k ", k, " not in [1, ", P, "]"));
  }
  if (table.events() == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("layer ", ctx.layer, ": no routings recorded in the selection"));
  }
  const double log_vocab = std::log(static_cast<double>(std::max<uint32_t>(2, ctx.vocab_size)));
  LayerResult L = LayerBasics(table, ctx, o, log_vocab);
  L.cross_layer.next_layer = ctx.layer;
  const bool with_cats = ctx.categories != nullptr && !ctx.categories->names.empty();
  CategoryLayout layout;
  CategoryTestResult test;
  if (with_cats) {
    layout = MakeCategoryLayout(table, *ctx.categories, o.category_stratum_types);
    RoutingCounts obs;
    CountRoutings(table, nullptr, &obs);
    test = RunCategoryTest(obs, layout, k, o, ctx.layer);
  }
  MeasureContext mctx;
  mctx.table = &table;
  mctx.min_token_count = o.min_token_count;
  mctx.log_vocab = log_vocab;
  mctx.sources = o.sources;
  mctx.layout = with_cats ? &layout : nullptr;
  mctx.groups = ctx.source_groups;
  LayerReplicates local;
  LayerReplicates& R = reps != nullptr ? *reps : local;
  const EffectRun run =
      RunEffects(mctx, o, ctx.layer, with_cats && test.permutations > 0 ? &test.null : nullptr, &R);
  FillLayerEffects(run, o, &L);
  FillLoadBalance(run.counts, &L);
  FillPathways(table, ctx, o, run, &L);
  if (run.bootstrap > 0) FlagVsNull(R, o, &L);
  if (!ctx.summary_only) {
    L.coactivation = MeasureCoactivation(table, o, ctx.layer);
    L.locality = MeasureLocality(table, o);
  }
  if (with_cats) {
    FillLayerCategories(run, layout, test, k, &L);
    for (uint32_t p = 0; p < P; ++p) {
      FillPathwayCategories(run, layout, *ctx.categories, test, p, ctx.summary_only,
                            &L.pathways[p]);
    }
    if (test.permutations > 0) FlagCategories(*ctx.categories, test, o, &L);
  }
  return L;
}

}  // namespace monoroute::analysis
