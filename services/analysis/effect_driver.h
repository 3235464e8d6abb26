// The one statistics driver: runs every registered measure (layer_measures.h) on the observed
// data, on the routing-null replicates (top-k sets permuted within sequences) and on the block
// bootstrap replicates (e_r = measure(resample) - measure(resampled null)), and turns each into
// an Effect {observed, null_mean, excess, ci}. No gRPC, no LibTorch.
#ifndef MONOROUTE_SERVICES_ANALYSIS_EFFECT_DRIVER_H_
#define MONOROUTE_SERVICES_ANALYSIS_EFFECT_DRIVER_H_

#include <array>
#include <cstdint>
#include <vector>

#include "services/analysis/analysis_options.h"
#include "services/analysis/effect.h"
#include "services/analysis/layer_measures.h"

namespace monoroute::analysis {

// Bootstrap replicates of a layer's excesses, [measure][replicate][index] (index: 0 for a layer
// measure, the pathway otherwise), kept to pair a run with its controls. Empty without a
// bootstrap.
struct LayerReplicates {
  std::array<std::vector<std::vector<double>>, kNumMeasures> by_measure;
  size_t count() const { return by_measure[kMi].size(); }
};

// The label null's levels, from the category permutation test (category_test.h): they replace
// the driver's own (few) label permutations for the label-null measures.
struct LabelNull {
  double category_mi = kNaN;
  std::vector<double> pathway_category_kl;
};

// Everything the driver computed for one layer.
struct EffectRun {
  MeasurePoint observed;
  // Observed token counts and per-token specialisation details.
  RoutingCounts counts;
  TokenSpecialisation per_token;
  // [measure][index]: 1 entry for a layer measure, P for a pathway measure.
  std::array<std::vector<Effect>, kNumMeasures> effects;
  // Bootstrap replicates used (0: no intervals).
  int bootstrap = 0;
};

// Runs the table over ctx.table. `label_null` may be null. `replicates` (may be null) receives
// the bootstrap replicates. Deterministic given options.seed and `layer`. Thread-safe.
EffectRun RunEffects(const MeasureContext& ctx, const AnalysisOptions& options, uint32_t layer,
                     const LabelNull* label_null, LayerReplicates* replicates);

// point +- z * se; NaN bounds when either is not finite.
Interval Around(double point, double se, double z);

// The z of a two-sided interval at `confidence`.
double IntervalZ(double confidence);

// Standard deviation over replicates of column `index` of [replicate][index] values.
double ReplicateSd(const std::vector<std::vector<double>>& replicates, size_t index);

}  // namespace monoroute::analysis

#endif  // MONOROUTE_SERVICES_ANALYSIS_EFFECT_DRIVER_H_
