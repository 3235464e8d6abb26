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
#include "services/analysis/category_stats.h"
#include "services/analysis/routing_table.h"

namespace monoroute::analysis {

// Knobs of the statistics; every field has a usable default.
struct AnalysisOptions {
  // Top tokens listed per pathway.
  int top_tokens = 10;
  // A pathway is "utilised" when its load share is >= utilisation_threshold / P.
  double utilisation_threshold = 0.1;
  // Per-token specialisation considers tokens with at least this many events.
  uint64_t min_token_count = 10;
  // Replicates of the routing null (top-k sets permuted within sequences); >= 2.
  int null_replicates = 8;
  // Block-bootstrap replicates behind every interval and flag (0: no intervals, no flags).
  int bootstrap = 200;
  // Fewer sequences (blocks) than this: no intervals (the bootstrap would be meaningless).
  int min_blocks = 10;
  // Label permutations of the category null (0: no category tests); raised to 2 P / fdr - 1 when
  // fewer, so that a lone category-specialised pathway can pass the FDR control.
  int category_permutations = 999;
  // Token-frequency strata the category labels are permuted within.
  int category_strata = 10;
  // Smallest KL excess (nats) a pathway must exceed, by its lower confidence bound, to be
  // `specialised` (over the null and, when a control exists, over the control's typical pathway).
  double min_effect_nats = 0.1;
  // Smallest enrichment (see PathwayResult::enrichment) of a `category_specialised` pathway.
  double min_category_enrichment = 1.5;
  // False-discovery rate controlled over a layer's pathways (Benjamini-Hochberg).
  double fdr = 0.05;
  // Confidence level of every interval.
  double confidence = 0.95;
  // Seed of every random draw (results are deterministic given the seed).
  uint64_t seed = 1;
  // Step ranges of the over-training summary (0: none).
  int training_ranges = 4;
  // Threads used to analyse layers in parallel (0: hardware concurrency).
  int threads = 0;
  // Events of one layer (and selection) read at most; more is RESOURCE_EXHAUSTED.
  uint64_t max_events_per_layer = 50000000;
};

// Printable text of a token id (e.g. Gpt2Tokenizer::RenderToken); may be empty. Must be safe to
// call from several threads.
using TokenDecoder = std::function<std::string(uint32_t)>;

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A confidence interval [low, high]; NaN bounds when not computed.
struct Interval {
  double low = kNaN;
  double high = kNaN;
};

struct TokenCountResult {
  uint32_t token_id = 0;
  std::string token;  // decoded text ("" without a decoder)
  uint64_t count = 0;
  double share = 0.0;  // count / pathway load
};

struct CategoryCountResult {
  std::string category;
  uint64_t count = 0;
  double share = 0.0;  // of the pathway's categorised routings
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
  // 1 - entropy / ln(vocab size): a fixed normaliser, comparable across runs.
  double purity = kNaN;
  double purity_null_mean = kNaN;
  double purity_excess = kNaN;
  Interval purity_excess_ci;
  // KL(pathway's tokens || layer's token distribution), its null mean/sd, excess and interval.
  double kl_nats = kNaN;
  double kl_null_mean = kNaN;
  double kl_null_sd = kNaN;
  double kl_z = kNaN;
  double kl_excess_nats = kNaN;
  Interval kl_excess_ci;
  // One-sided test of kl_excess > min_effect_nats; BH q-value over the layer's pathways.
  double p_value = kNaN;
  double q_value = kNaN;
  bool specialised_vs_null = false;
  // Against the layer's fresh-router control: kl_excess - the control's mean pathway kl_excess.
  double kl_excess_vs_control_nats = kNaN;
  Interval kl_excess_vs_control_ci;
  double control_q_value = kNaN;
  bool specialised_vs_control = false;
  // specialised_vs_control when the fresh-router control exists, else specialised_vs_null.
  bool specialised = false;
  // Tokens whose most frequent pathway this is, and their mean token specialisation.
  uint64_t owned_tokens = 0;
  double mean_token_specialisation = kNaN;
  // Categories (with a label set): categorised routings, most frequent category and its share,
  // category KL to the layer's category distribution and its excess over the label-permutation
  // null; the enrichment test (max-T over categories, permutation p-value, BH q-value) and flag.
  uint64_t category_routings = 0;
  std::string top_category;
  double category_purity = kNaN;
  // The category whose over-representation is most significant (largest standardised excess of
  // its token types' mean share routed here over the label-permutation null) and its enrichment:
  // that mean share / the median over categories of the same mean share (their mean when the
  // median is 0).
  std::string enriched_category;
  double enrichment = kNaN;
  double category_kl_nats = kNaN;
  double category_kl_null_mean = kNaN;
  double category_kl_excess = kNaN;
  Interval category_kl_excess_ci;
  double category_p_value = kNaN;
  double category_q_value = kNaN;
  bool category_specialised = false;
  std::vector<CategoryCountResult> categories;  // sorted by count, descending
  std::vector<TokenCountResult> top_tokens;
};

// A layer measured against one control recorded on the same sequences (fresh routers at step 0,
// or the dense model's neuron slices): the control's excesses and trained - control differences
// with paired block-bootstrap intervals.
struct ControlComparison {
  // "fresh_routers" or "dense_slices".
  std::string control;
  // Recorder split the control was read from.
  std::string split;
  uint64_t events = 0;
  // The control's own excesses over its null, with intervals.
  double mi_excess_nats = kNaN;
  Interval mi_excess_ci;
  double mean_kl_excess_nats = kNaN;
  Interval mean_kl_excess_ci;
  double mean_purity_excess = kNaN;
  double token_specialisation = kNaN;
  double token_specialisation_excess = kNaN;
  Interval token_specialisation_excess_ci;
  double category_ami = kNaN;
  Interval category_ami_ci;
  double max_violation = kNaN;
  // The control's own pathways flagged against the null (token-specialised, category-specialised):
  // what an untrained router or the dense slices already show.
  uint32_t specialised_vs_null_pathways = 0;
  uint32_t category_specialised_pathways = 0;
  // Trained minus control.
  double mi_excess_delta = kNaN;
  Interval mi_excess_delta_ci;
  double mean_kl_excess_delta = kNaN;
  Interval mean_kl_excess_delta_ci;
  double mean_purity_excess_delta = kNaN;
  Interval mean_purity_excess_delta_ci;
  double token_specialisation_excess_delta = kNaN;
  Interval token_specialisation_excess_delta_ci;
  double category_ami_delta = kNaN;
  Interval category_ami_delta_ci;
};

// Statistics of one layer and its pathways.
struct LayerResult {
  uint32_t layer = 0;
  uint32_t num_pathways = 0;
  uint32_t top_k = 0;
  uint64_t events = 0;
  uint64_t routings = 0;  // events * top_k
  uint64_t blocks = 0;    // sequences (bootstrap units)
  uint64_t distinct_tokens = 0;
  // ln(vocab size): the fixed purity normaliser.
  double purity_normaliser_nats = kNaN;
  // I(pathway; token) over routings, its null mean, excess (+ interval), the ceiling ln(P/k) and
  // the excess as a share of the ceiling.
  double mi_nats = kNaN;
  double mi_null_mean = kNaN;
  double mi_excess_nats = kNaN;
  Interval mi_excess_ci;
  double mi_ceiling_nats = kNaN;
  double mi_excess_normalised = kNaN;
  // Means over pathways with load.
  double mean_purity = kNaN;
  double mean_purity_null = kNaN;
  double mean_purity_excess = kNaN;
  Interval mean_purity_excess_ci;
  double mean_kl_nats = kNaN;
  double mean_kl_null = kNaN;
  double mean_kl_excess_nats = kNaN;
  Interval mean_kl_excess_ci;
  // Token specialisation, its chance (the same estimator under the routing null, at the observed
  // per-token counts), the excess and its interval; event-weighted variant.
  uint64_t eligible_tokens = 0;
  double token_specialisation = kNaN;
  double token_specialisation_chance = kNaN;
  double token_specialisation_excess = kNaN;
  Interval token_specialisation_excess_ci;
  double token_specialisation_weighted = kNaN;
  // Load balance.
  double utilisation = kNaN;
  std::vector<uint64_t> load;
  double max_violation = kNaN;
  double load_entropy_normalised = kNaN;
  // Categories (NaN without a label set).
  uint64_t category_tokens = 0;
  uint64_t category_routings = 0;
  double category_mi_nats = kNaN;
  double category_mi_null_mean = kNaN;
  double category_mi_ceiling_nats = kNaN;
  double category_ami = kNaN;
  Interval category_ami_ci;
  double category_nmi = kNaN;
  double category_nmi_ceiling = kNaN;
  uint32_t specialised_pathways = 0;
  uint32_t category_specialised_pathways = 0;
  // "fresh_routers" when `specialised` was judged against that control, "null" otherwise,
  // "none" without a bootstrap.
  std::string specialised_reference = "none";
  // How the numbers were obtained.
  std::string null_method = "within_sequence_topk_permutation";
  int null_replicates = 0;
  std::string bootstrap_method = "poisson_block_bootstrap_normal_interval";
  int bootstrap_replicates = 0;
  int category_permutations = 0;
  std::vector<ControlComparison> controls;
  std::vector<PathwayResult> pathways;
};

// Bootstrap replicates of one layer's excesses (e_r = measure(resample) - measure(resampled
// null)), kept to pair a run with its controls. Empty without a bootstrap.
struct LayerReplicates {
  std::vector<double> mi, mean_kl, mean_purity, token_specialisation, category_ami;
  // [replicate][pathway]
  std::vector<std::vector<double>> pathway_kl;
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

// INVALID_ARGUMENT naming the option when a knob is out of range.
absl::Status ValidateAnalysisOptions(const AnalysisOptions& options);

}  // namespace monoroute::analysis

#endif  // MONOROUTE_SERVICES_ANALYSIS_LAYER_ANALYSIS_H_
