// The table of registered measures of one layer: everything one replicate (the observed data, a
// routing-null replicate, a bootstrap replicate) measures is a MeasurePoint, and each registered
// measure reads one value (a layer measure) or one value per pathway from it. The effect driver
// (effect_driver.h) runs every registered measure through the same observed / null / bootstrap
// machinery, so adding a measure is one entry here. No gRPC, no LibTorch.
#ifndef MONOROUTE_SERVICES_ANALYSIS_LAYER_MEASURES_H_
#define MONOROUTE_SERVICES_ANALYSIS_LAYER_MEASURES_H_

#include <array>
#include <cstdint>
#include <vector>

#include "services/analysis/category_stats.h"
#include "services/analysis/effect.h"
#include "services/analysis/measures.h"
#include "services/analysis/routing_counts.h"
#include "services/analysis/routing_table.h"
#include "services/analysis/source_groups.h"

namespace monoroute::analysis {

// What one replicate measures. NaN where undefined (no load, no labels, sources not computed).
struct MeasurePoint {
  // Per source key: each pathway's KL to the layer's distribution of that key, and
  // I(pathway; key) = sum_p load share * KL_p.
  std::array<std::vector<double>, kNumSourceKeys> kl;
  std::array<double, kNumSourceKeys> mi{kNaN, kNaN, kNaN, kNaN, kNaN};
  // Per pathway (current token): 1 - entropy / ln(vocab).
  std::vector<double> purity;
  std::vector<double> entropy;
  double mean_purity = kNaN;
  double mean_kl = kNaN;
  double token_specialisation = kNaN;
  // The conditionals I(P; t_i | t_{i-1}) and I(P; t_{i-1} | t_i) (layer and per-pathway KL):
  // I(P; pair) - I(P; previous) and I(P; pair) - I(P; current), measured on the routing given to
  // ComputePoint for them (the conditional nulls permute top-k sets within previous-token /
  // current-token groups).
  double current_given_previous = kNaN;
  double previous_given_current = kNaN;
  std::vector<double> current_given_previous_kl;
  std::vector<double> previous_given_current_kl;
  // I(pathway; category) over the categorised routings, its ceiling, per-pathway category KL.
  double category_mi = kNaN;
  double category_ceiling = kNaN;
  std::vector<double> category_kl;
};

// What every replicate of one layer shares.
struct MeasureContext {
  const RoutingTable* table = nullptr;
  uint64_t min_token_count = 10;
  // ln(vocab size): the purity normaliser.
  double log_vocab = 1.0;
  // Measure the sources (previous / next token, position, the token pair) besides the token.
  bool sources = true;
  // Category layout (null: no categories).
  const CategoryLayout* layout = nullptr;
  // The observed point, once computed: without block weights a permutation within groups of a
  // key leaves that key's counts unchanged, so the conditionals reuse its I(P; key).
  const MeasurePoint* observed = nullptr;
  // The table's source layout (MakeSourceGroups of `table`, or of a table with the same keys
  // such as a HashRouting of it), when `sources`; RunEffects builds one when null.
  const SourceGroups* groups = nullptr;
  // table.mask in the outer orders of groups->by_previous and groups->by_current (GatherOuter;
  // by_previous's only with `sources`).
  const std::vector<uint64_t>* previous_order_masks = nullptr;
  const std::vector<uint64_t>* current_order_masks = nullptr;
};

// Buffers reused across replicates.
struct MeasureScratch {
  RoutingCounts current;
  RoutingCounts other;
  GroupSums group_sums;
  std::vector<uint64_t> gathered;
  std::vector<uint32_t> event_weight;
  std::vector<uint64_t> joint;
};

// The top-k sets the two conditionals are measured on, in the outer order of
// ctx.groups->by_previous for I(P; t_i | t_{i-1}) and of ctx.groups->by_current for
// I(P; t_{i-1} | t_i) (ShuffleWithinOuter results: the conditional nulls); a null entry: the
// point's own routing.
struct ConditionalMasks {
  const uint64_t* current_given_previous = nullptr;
  const uint64_t* previous_given_current = nullptr;
};

// What one replicate is measured on.
struct PointRequest {
  // Top-k sets in event order (table.mask or a permutation, table.mask_words words per event)
  // and block weights (null: 1).
  const uint64_t* masks = nullptr;
  const uint32_t* weights = nullptr;
  // Categories are measured on `category_counts` (null: this replicate's own token counts)
  // under `labels` (null: the observed labels): how the label null reuses the unpermuted routing.
  const RoutingCounts* category_counts = nullptr;
  const std::vector<int32_t>* labels = nullptr;
  // The conditionals' top-k sets (null: the point's own routing).
  const ConditionalMasks* conditional = nullptr;
  // Receives the token specialisation details (may be null).
  TokenSpecialisation* per_token = nullptr;
  // Leave the token counts in scratch.current (else the token's measures may come from sums
  // counted token by token, without the token x pathway matrix).
  bool keep_counts = false;
};

// Measures one replicate. Thread-compatible (one scratch per thread).
MeasurePoint ComputePoint(const MeasureContext& ctx, const PointRequest& request,
                          MeasureScratch* scratch);

// The registered measures.
enum MeasureId : int {
  kMi = 0,                // I(pathway; current token)
  kMiPrevious,            // I(pathway; previous token)
  kMiNext,                // I(pathway; next token)
  kMiPosition,            // I(pathway; position)
  kCurrentGivenPrevious,  // I(pathway; t_i | t_{i-1})
  kPreviousGivenCurrent,  // I(pathway; t_{i-1} | t_i)
  kMeanPurity,
  kMeanKl,
  kTokenSpecialisation,
  kCategoryMi,  // label null
  kPathwayPurity,
  kPathwayKl,
  kPathwayKlPrevious,
  kPathwayKlNext,
  kPathwayKlPosition,
  kPathwayCurrentGivenPrevious,
  kPathwayPreviousGivenCurrent,
  kPathwayCategoryKl,  // label null
  kNumMeasures,
};

// One registered measure.
struct MeasureSpec {
  const char* name;
  // One value per pathway (else one per layer).
  bool per_pathway;
  // Its null is the category-label permutation (else the routing null).
  bool label_null;
  // Needs the source keys / a category layout.
  bool needs_sources;
  bool needs_categories;
  // The value of pathway `p` (ignored for a layer measure) in a point.
  double (*value)(const MeasurePoint& point, uint32_t p);
};

// The table, indexed by MeasureId.
const std::array<MeasureSpec, kNumMeasures>& Measures();

// The layer MI measure and the per-pathway KL measure of source key s (kCurrentToken, ...,
// kPosition).
MeasureId SourceMiMeasure(int s);
MeasureId SourceKlMeasure(int s);

}  // namespace monoroute::analysis

#endif  // MONOROUTE_SERVICES_ANALYSIS_LAYER_MEASURES_H_
