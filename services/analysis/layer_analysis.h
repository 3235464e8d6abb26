// Monosemanticity statistics of one routed layer from its routing events: every measure as an
// excess over a null that respects the data, with block-bootstrap intervals, FDR-controlled
// per-pathway flags, category statistics against a label-permutation null, and the comparison
// with controls recorded on the same sequences. Plain C++ types in and out: no gRPC, no LibTorch.
// docs/analysis.md defines every field.
#ifndef MONOROUTE_SERVICES_ANALYSIS_LAYER_ANALYSIS_H_
#define MONOROUTE_SERVICES_ANALYSIS_LAYER_ANALYSIS_H_

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/analysis/analysis_options.h"
#include "services/analysis/category_stats.h"
#include "services/analysis/coactivation_measure.h"
#include "services/analysis/cross_layer_measure.h"
#include "services/analysis/effect.h"
#include "services/analysis/effect_driver.h"
#include "services/analysis/routing_table.h"
#include "services/analysis/source_groups.h"

namespace monoroute::analysis {

// Printable text of a token id (e.g. Gpt2Tokenizer::RenderToken); may be empty. Must be safe to
// call from several threads.
using TokenDecoder = std::function<std::string(uint32_t)>;

struct TokenCountResult {
  uint32_t token_id = 0;
  std::string token;         // decoded text ("" without a decoder)
  uint64_t count = 0;        // routings of the token to the pathway
  double share = 0.0;        // count / pathway load
  uint64_t layer_count = 0;  // routings of the token in the layer
  // share / (layer_count / layer routings): how much more often the pathway sees the token than
  // the layer does.
  double lift = 0.0;
};

struct CategoryCountResult {
  std::string category;
  uint64_t count = 0;
  double share = 0.0;  // of the pathway's categorised routings
};

// I(pathway; source) of a layer against the routing null (source: "current_token",
// "previous_token", "next_token", "position").
struct SourceMi {
  std::string source;
  Effect mi;
};

// A pathway's KL to the layer's distribution of a source, against the routing null.
struct SourceKl {
  std::string source;
  Effect kl;
};

// Statistics of one pathway; doubles are NaN where undefined (no load, no bootstrap, no labels).
struct PathwayResult {
  uint32_t layer = 0;
  uint32_t pathway = 0;
  uint64_t load = 0;
  double load_share = kNaN;
  bool utilised = false;
  uint64_t distinct_tokens = 0;
  double entropy_nats = kNaN;
  // 1 - entropy / ln(vocab size) (a fixed normaliser, comparable across runs), against the null.
  Effect purity;
  // KL(pathway's tokens || layer's token distribution) against the null, its ceiling
  // -ln(k * load share) and the excess as a share of that ceiling (load-invariant).
  Effect kl;
  double kl_ceiling_nats = kNaN;
  double kl_excess_share = kNaN;
  // One-sided test of kl.excess > min_effect_nats; BH q-value over the layer's pathways.
  double p_value = kNaN;
  double q_value = kNaN;
  bool specialised_vs_null = false;
  // Against the fresh-router control: observed = kl_excess_share, null_mean = the control's
  // load-weighted mean share, excess = the difference with a paired interval.
  Effect kl_vs_control;
  double control_q_value = kNaN;
  bool specialised_vs_control = false;
  // specialised_vs_null and specialised_vs_control (false without a fresh-router control).
  bool specialised = false;
  // What the pathway responds to: its KL per source, the conditionals and the verdict.
  std::vector<SourceKl> sources;
  Effect current_given_previous;
  Effect previous_given_current;
  std::string routing_source = "none";
  // Tokens whose most frequent pathway this is, and their mean token specialisation.
  uint64_t owned_tokens = 0;
  double mean_token_specialisation = kNaN;
  // Categories (with a label set): categorised routings; the enrichment test (max-T over
  // categories, permutation p-value, BH q-value) and flag; `category` names the enriched
  // category only when the pathway is category_specialised; category KL against the label null.
  uint64_t category_routings = 0;
  std::string category;
  double enrichment = kNaN;
  Effect category_kl;
  double category_p_value = kNaN;
  double category_q_value = kNaN;
  bool category_specialised = false;
  std::vector<CategoryCountResult> categories;  // sorted by count, descending
  // Ranked by lift among tokens routed here at least min_lift_count times.
  std::vector<TokenCountResult> top_tokens;
};

// The layer-level numbers every routing of a layer reports, measured the same way: the trained
// layer's (LayerResult) and each control's own (ControlComparison).
struct LayerEffects {
  // Events read, and the events every excess was computed on (the fixed-N estimand).
  uint64_t events = 0;
  uint64_t events_used = 0;
  // I(pathway; token) over routings against the null.
  Effect mi;
  // Mean KL over pathways with load.
  Effect mean_kl;
  // Token specialisation against its chance (the same estimator under the routing null, at the
  // observed per-token counts).
  Effect token_specialisation;
  // Category AMI = excess / (ceiling - null mean) as an Effect (null level 0; NaN without a
  // label set).
  Effect category_ami;
  // Load balance: max load / mean load - 1.
  double max_violation = kNaN;
  // What the routing responds to (docs/analysis.md, "Sources").
  std::string routing_source = "none";
  // Pathways flagged against the null (token-specialised, category-specialised).
  uint32_t specialised_vs_null_pathways = 0;
  uint32_t category_specialised_pathways = 0;
};

// A layer measured against one control on the same sequences (recorded: fresh routers at step 0,
// the dense model's neuron slices; synthetic: routing by a hash of the current or of the previous
// token): the control's own effects (the LayerEffects base) and trained - control deltas with
// paired intervals (a delta is an Effect: observed = trained excess, null_mean = control excess,
// excess = difference).
struct ControlComparison : LayerEffects {
  std::string control;
  // Recorder split the control was read from ("" for a synthetic control).
  std::string split;
  // Trained minus control.
  Effect mi_delta;
  Effect mean_kl_delta;
  Effect mean_purity_delta;
  Effect token_specialisation_delta;
  Effect category_ami_delta;
};

// Statistics of one layer and its pathways (the layer-level effects in the LayerEffects base).
struct LayerResult : LayerEffects {
  uint32_t layer = 0;
  uint32_t num_pathways = 0;
  uint32_t top_k = 0;
  uint64_t routings = 0;  // events_used * top_k
  uint64_t blocks = 0;    // sequences used (bootstrap units)
  uint64_t distinct_tokens = 0;
  // ln(vocab size): the fixed purity normaliser.
  double purity_normaliser_nats = kNaN;
  // The ceiling ln(P/k) of `mi` and its excess as a share of the ceiling.
  double mi_ceiling_nats = kNaN;
  double mi_excess_normalised = kNaN;
  // Mean purity over pathways with load.
  Effect mean_purity;
  // Tokens eligible for token specialisation; its event-weighted variant.
  uint64_t eligible_tokens = 0;
  double token_specialisation_weighted = kNaN;
  // What the routing responds to: I(pathway; source) per source and the conditionals
  // I(P; t_i | t_{i-1}) and I(P; t_{i-1} | t_i) (the verdict is `routing_source`).
  std::vector<SourceMi> sources;
  Effect current_given_previous;
  Effect previous_given_current;
  // Load balance.
  double utilisation = kNaN;
  std::vector<uint64_t> load;
  double load_entropy_normalised = kNaN;
  // Categories (NaN without a label set): I(pathway; category) against the label null, its
  // ceiling, NMI (AMI is `category_ami`).
  uint64_t category_tokens = 0;
  uint64_t category_routings = 0;
  Effect category_mi;
  double category_mi_ceiling_nats = kNaN;
  double category_nmi = kNaN;
  double category_nmi_ceiling = kNaN;
  // Flag counts: `specialised_pathways` counts only flags against the fresh-router control.
  uint32_t specialised_pathways = 0;
  // "fresh_routers" when a fresh-router control judged the flags, else "none"; "gated" when the
  // layer's MI was not shown above the control's (nothing flagged).
  std::string specialised_reference = "none";
  // How the numbers were obtained.
  std::string null_method = "within_sequence_topk_permutation";
  int null_replicates = 0;
  std::string bootstrap_method = "poisson_block_bootstrap_normal_interval";
  int bootstrap_replicates = 0;
  int category_permutations = 0;
  std::vector<ControlComparison> controls;
  std::vector<PathwayResult> pathways;
  // Routing structure (docs/analysis.md; not in summaries): co-activation of pathway pairs,
  // locality (the previous token's pathways chosen again) and the consistency with the next
  // routed layer (set by AnalyzeLayers).
  CoactivationResult coactivation;
  Effect locality;
  CrossLayerResult cross_layer;
};

// What AnalyzeLayer needs besides the events.
struct LayerContext {
  uint32_t layer = 0;
  // Vocabulary size of the run: the fixed purity normaliser is ln(vocab_size).
  uint32_t vocab_size = 50257;
  // Optional token categories (not owned; must outlive the call).
  const CategoryMap* categories = nullptr;
  // Optional decoder of top tokens.
  TokenDecoder decode;
  // Skip the per-pathway details (over-training summaries).
  bool summary_only = false;
  // Events read for the layer when `table` is a subsample of them (0: table.events()).
  uint64_t events_read = 0;
  // The table's source layout when already built (MakeSourceGroups of a table with the same
  // events and keys, e.g. the trained table for its HashRouting controls; not owned); null:
  // built here.
  const SourceGroups* source_groups = nullptr;
};

// Computes every statistic of one layer (controls and vs-control fields are filled by
// CompareWithControl). FAILED_PRECONDITION when the table is empty; INVALID_ARGUMENT for bad
// options. `replicates` (may be null) receives the bootstrap replicates. Thread-safe (pure).
absl::StatusOr<LayerResult> AnalyzeLayer(const RoutingTable& table, const LayerContext& context,
                                         const AnalysisOptions& options,
                                         LayerReplicates* replicates = nullptr);

// Adds `control` (its result and replicates, recorded on the same sequences) to `trained`: the
// ControlComparison entry and, for the fresh-router control, the per-pathway vs-control tests
// and the final `specialised` flags. Replicates of both must come from the same options (seed,
// bootstrap count).
void CompareWithControl(const std::string& control_name, const std::string& split,
                        const LayerResult& control, const LayerReplicates& control_replicates,
                        const LayerReplicates& trained_replicates, const AnalysisOptions& options,
                        LayerResult* trained);

}  // namespace monoroute::analysis

#endif  // MONOROUTE_SERVICES_ANALYSIS_LAYER_ANALYSIS_H_
