// RunEffects: observed point, routing-null points (with the conditional nulls), bootstrap point
// pairs, then one Effect per registered measure and index.
#include "services/analysis/effect_driver.h"

#include <algorithm>

#include "common/base/hash.h"
#include "services/analysis/resampling.h"

namespace monoroute::analysis {
namespace {

// Streams of the seeded draws (mixed into the user's seed).
constexpr uint64_t kNullStream = 0x6e756c6c;
constexpr uint64_t kBootNullStream = 0x626f6f74;

size_t Width(const MeasureSpec& m, uint32_t P) { return m.per_pathway ? P : 1; }

bool Enabled(const MeasureSpec& m, const MeasureContext& ctx) {
  if (m.needs_sources && !ctx.sources) return false;
  if (m.needs_categories && (ctx.layout == nullptr || ctx.layout->num_categories == 0)) {
    return false;
  }
  return true;
}

// null[m][r][i]: the routing-null replicates (and, for label-null measures, label permutations
// of the observed routing).
using Values = std::array<std::vector<std::vector<double>>, kNumMeasures>;

void Append(const MeasureContext& ctx, const MeasurePoint& a, const MeasurePoint* b, Values* out) {
  const uint32_t P = ctx.table->num_pathways;
  for (int m = 0; m < kNumMeasures; ++m) {
    const MeasureSpec& spec = Measures()[m];
    if (!Enabled(spec, ctx)) continue;
    std::vector<double> row(Width(spec, P));
    for (uint32_t i = 0; i < row.size(); ++i) {
      row[i] = spec.value(a, i) - (b != nullptr ? spec.value(*b, i) : 0.0);
    }
    (*out)[m].push_back(std::move(row));
  }
}

// The conditional nulls: top-k sets permuted within previous-token groups (for
// I(P; t_i | t_{i-1})) and within current-token groups (for I(P; t_{i-1} | t_i)), so the routing's
// relation to the conditioning token is kept and only the other token's extra information is
// broken, with the bias of that relation.
struct ConditionalNull {
  std::vector<uint64_t> cgp, pgc;
  ConditionalMasks masks;

  // Draws both permutations (in the outer orders of ctx.groups); null when the sources are off.
  const ConditionalMasks* Draw(const MeasureContext& ctx, Xoshiro256& rng) {
    if (!ctx.sources) return nullptr;
    ShuffleWithinOuter(ctx.groups->by_previous, ctx.table->mask_words, *ctx.previous_order_masks,
                       rng, &cgp);
    ShuffleWithinOuter(ctx.groups->by_current, ctx.table->mask_words, *ctx.current_order_masks, rng,
                       &pgc);
    masks = {cgp.data(), pgc.data()};
    return &masks;
  }
};

Values NullReplicates(const MeasureContext& ctx, const AnalysisOptions& o, uint32_t layer,
                      const RoutingCounts& observed, ConditionalNull* cond,
                      MeasureScratch* scratch) {
  Values null;
  Xoshiro256 rng(HashPair(o.seed ^ kNullStream, layer));
  std::vector<uint64_t> masks;
  std::vector<int32_t> labels;
  for (int r = 0; r < o.null_replicates; ++r) {
    PermuteMasks(*ctx.table, rng, &masks);
    if (ctx.layout != nullptr) PermuteLabels(*ctx.layout, rng, &labels);
    const ConditionalMasks* cm = cond->Draw(ctx, rng);
    PointRequest req;
    req.masks = masks.data();
    req.category_counts = &observed;
    req.labels = ctx.layout != nullptr ? &labels : nullptr;
    req.conditional = cm;
    const MeasurePoint q = ComputePoint(ctx, req, scratch);
    Append(ctx, q, nullptr, &null);
  }
  return null;
}

void BootstrapReplicates(const MeasureContext& ctx, const AnalysisOptions& o, uint32_t layer, int B,
                         ConditionalNull* cond, MeasureScratch* scratch, Values* reps) {
  std::vector<uint32_t> w;
  std::vector<uint64_t> masks;
  std::vector<int32_t> labels;
  RoutingCounts weighted;
  for (int r = 0; r < B; ++r) {
    BlockWeights(*ctx.table, o.seed, static_cast<uint32_t>(r), &w);
    Xoshiro256 rng(HashPair(HashPair(o.seed ^ kBootNullStream, layer), r));
    PointRequest ra;
    ra.masks = ctx.table->mask.data();
    ra.weights = w.data();
    ra.keep_counts = ctx.layout != nullptr;
    const MeasurePoint a = ComputePoint(ctx, ra, scratch);
    if (ra.keep_counts) weighted = scratch->current;
    PermuteMasks(*ctx.table, rng, &masks);
    if (ctx.layout != nullptr) PermuteLabels(*ctx.layout, rng, &labels);
    const ConditionalMasks* cm = cond->Draw(ctx, rng);
    PointRequest rb;
    rb.masks = masks.data();
    rb.weights = w.data();
    rb.category_counts = &weighted;
    rb.labels = ctx.layout != nullptr ? &labels : nullptr;
    rb.conditional = cm;
    const MeasurePoint b = ComputePoint(ctx, rb, scratch);
    Append(ctx, a, &b, reps);
  }
}

}  // namespace

Interval Around(double point, double se, double z) {
  if (!std::isfinite(point) || !std::isfinite(se)) return {};
  return {point - z * se, point + z * se};
}

double IntervalZ(double confidence) { return NormalQuantile(0.5 + confidence / 2.0); }

double ReplicateSd(const std::vector<std::vector<double>>& replicates, size_t index) {
  std::vector<double> col;
  col.reserve(replicates.size());
  for (const auto& row : replicates) col.push_back(index < row.size() ? row[index] : kNaN);
  return Summarise(col).sd;
}

EffectRun RunEffects(const MeasureContext& context, const AnalysisOptions& o, uint32_t layer,
                     const LabelNull* label_null, LayerReplicates* replicates) {
  EffectRun run;
  MeasureScratch scratch;
  MeasureContext ctx = context;
  SourceGroups groups;
  if (ctx.groups == nullptr || (ctx.sources && !ctx.groups->sources)) {
    groups = MakeSourceGroups(*ctx.table, ctx.sources);
    ctx.groups = &groups;
  }
  std::vector<uint64_t> previous_order, current_order;
  if (ctx.sources) {
    GatherOuter(ctx.groups->by_current, ctx.table->mask_words, ctx.table->mask.data(),
                &current_order);
    GatherOuter(ctx.groups->by_previous, ctx.table->mask_words, ctx.table->mask.data(),
                &previous_order);
  }
  ctx.previous_order_masks = &previous_order;
  ctx.current_order_masks = &current_order;
  PointRequest observed;
  observed.masks = ctx.table->mask.data();
  observed.per_token = &run.per_token;
  observed.keep_counts = true;
  run.observed = ComputePoint(ctx, observed, &scratch);
  ctx.observed = &run.observed;
  run.counts = scratch.current;
  ConditionalNull cond;
  const Values null = NullReplicates(ctx, o, layer, run.counts, &cond, &scratch);
  const bool boot = o.bootstrap > 0 && ctx.table->blocks() >= static_cast<size_t>(o.min_blocks);
  run.bootstrap = boot ? o.bootstrap : 0;
  Values reps;
  BootstrapReplicates(ctx, o, layer, run.bootstrap, &cond, &scratch, &reps);
  const double z = IntervalZ(o.confidence);
  const uint32_t P = ctx.table->num_pathways;
  for (int m = 0; m < kNumMeasures; ++m) {
    const MeasureSpec& spec = Measures()[m];
    run.effects[m].assign(Width(spec, P), Effect{});
    if (!Enabled(spec, ctx)) continue;
    for (uint32_t i = 0; i < run.effects[m].size(); ++i) {
      Effect& e = run.effects[m][i];
      e.observed = spec.value(run.observed, i);
      if (!std::isfinite(e.observed)) continue;
      std::vector<double> col;
      for (const auto& row : null[m]) col.push_back(row[i]);
      e.null_mean = Summarise(col).mean;
      if (spec.label_null && label_null != nullptr) {
        e.null_mean = m == kCategoryMi ? label_null->category_mi
                                       : (i < label_null->pathway_category_kl.size()
                                              ? label_null->pathway_category_kl[i]
                                              : kNaN);
      }
      e.excess = e.observed - e.null_mean;
      if (run.bootstrap > 0) e.ci = Around(e.excess, ReplicateSd(reps[m], i), z);
    }
  }
  if (replicates != nullptr) replicates->by_measure = std::move(reps);
  return run;
}

}  // namespace monoroute::analysis
