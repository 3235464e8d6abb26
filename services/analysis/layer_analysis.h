// Monosemanticity measures of one routed layer from its pathway-by-token counts: token entropy,
// purity, KL to the layer's unigram, permutation-null z-scores, utilisation, per-token (OLMoE
// style) and category specialisation. No gRPC, no LibTorch.
#ifndef MONOROUTE_SERVICES_ANALYSIS_LAYER_ANALYSIS_H_
#define MONOROUTE_SERVICES_ANALYSIS_LAYER_ANALYSIS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/analysis/count_matrix.h"

namespace monoroute::analysis {

// Knobs of the measures; every field has a usable default.
struct AnalysisOptions {
  // Top tokens listed per pathway.
  int top_tokens = 10;
  // A pathway is "utilised" when its load share is >= utilisation_threshold / P.
  double utilisation_threshold = 0.1;
  // Per-token specialisation considers tokens with at least this many occurrences (events).
  uint64_t min_token_count = 10;
  // Monte Carlo samples for the token null's standard deviation; < 2 (default): the closed form
  // (within a few % of Monte Carlo, see docs/analysis.md). The null mean is always closed form.
  int null_samples = 0;
  // Largest number of random draws one layer's Monte Carlo may take; above it the closed-form
  // standard deviation is used instead (keeps big runs fast).
  double mc_budget = 4e6;
  // Monte Carlo samples for the category-purity null (cheap: one draw per category).
  int category_null_samples = 200;
  // Seed of every Monte Carlo draw (results are deterministic given the seed).
  uint64_t seed = 1;
  // Step ranges of the over-training summary (0: none).
  int training_ranges = 4;
  // Pathways with purity_z >= z_threshold are flagged "specialised".
  double z_threshold = 5.0;
  // Threads used to analyse layers in parallel (0: hardware concurrency).
  int threads = 0;
};

// Token id -> category index (-1: no category) with the category names. Copyable value.
struct CategoryMap {
  std::vector<std::string> names;
  std::vector<int16_t> category_of_token;
  // Category index of `token`, -1 when none or out of range.
  int Get(uint32_t token) const {
    return token < category_of_token.size() ? category_of_token[token] : -1;
  }
};

// Printable text of a token id (e.g. Gpt2Tokenizer::RenderToken); may be empty. Must be safe to
// call from several threads.
using TokenDecoder = std::function<std::string(uint32_t)>;

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

// Measures of one pathway; doubles are NaN where undefined (no load, no lexicon).
struct PathwayResult {
  uint32_t layer = 0;
  uint32_t pathway = 0;
  uint64_t load = 0;
  double load_share = 0.0;
  uint64_t distinct_tokens = 0;
  double entropy_nats = 0.0;
  double entropy_bits = 0.0;
  double normalised_entropy = 0.0;
  double purity = 0.0;
  double kl_nats = 0.0;
  double null_purity_mean = 0.0;
  double null_purity_std = 0.0;
  double purity_z = 0.0;
  double null_kl_mean = 0.0;
  double null_kl_std = 0.0;
  double kl_z = 0.0;
  uint64_t owned_tokens = 0;
  double mean_token_specialisation = 0.0;
  double category_purity = 0.0;
  double null_category_purity_mean = 0.0;
  double null_category_purity_std = 0.0;
  double category_purity_z = 0.0;
  std::vector<TokenCountResult> top_tokens;
  std::vector<CategoryCountResult> categories;  // sorted by count, descending
  bool specialised = false;
  bool utilised = false;
};

// Measures of one layer and its pathways.
struct LayerResult {
  uint32_t layer = 0;
  uint32_t num_pathways = 0;
  uint32_t top_k = 0;
  uint64_t events = 0;    // routings / top_k
  uint64_t routings = 0;  // all cells summed
  uint64_t distinct_tokens = 0;
  double mean_purity = 0.0;
  double null_purity_mean = 0.0;
  double null_purity_std = 0.0;
  double purity_z = 0.0;
  double mean_kl_nats = 0.0;
  double null_kl_mean = 0.0;
  double null_kl_std = 0.0;
  double kl_z = 0.0;
  double utilisation = 0.0;
  std::vector<uint64_t> load;
  double load_entropy_normalised = 0.0;
  uint64_t eligible_tokens = 0;
  double token_specialisation = 0.0;
  double token_specialisation_weighted = 0.0;
  double token_specialisation_chance = 0.0;  // top_k / P
  double category_nmi = 0.0;
  double category_purity = 0.0;
  uint32_t specialised_pathways = 0;
  std::string null_method;  // "closed_form" or "closed_form_mean+monte_carlo_std"
  int null_samples = 0;     // Monte Carlo samples behind the std (0: closed form)
  std::vector<PathwayResult> pathways;
};

// What AnalyzeLayer needs besides the counts.
struct LayerContext {
  uint32_t layer = 0;
  // Pathways per event (to turn routings into occurrences); >= 1.
  uint32_t top_k = 1;
  // Optional token categories (not owned; must outlive the call).
  const CategoryMap* categories = nullptr;
  // Optional decoder of top tokens.
  TokenDecoder decode;
};

// Computes every measure of one layer. FAILED_PRECONDITION when the matrix is empty;
// INVALID_ARGUMENT when top_k is 0 or exceeds the number of pathways. Thread-safe (pure).
absl::StatusOr<LayerResult> AnalyzeLayer(const CountMatrix& counts, const LayerContext& context,
                                         const AnalysisOptions& options);

// Shannon entropy (nats) of the distribution proportional to `counts` (0 for an empty vector).
double EntropyNats(const std::vector<uint64_t>& counts);

// Normalised mutual information 2 I(R;C) / (H(R) + H(C)) of a joint count table
// (rows x cols, row-major). 0 when either marginal has zero entropy.
double NormalisedMutualInformation(const std::vector<uint64_t>& joint, size_t rows, size_t cols);

}  // namespace monoroute::analysis

#endif  // MONOROUTE_SERVICES_ANALYSIS_LAYER_ANALYSIS_H_
