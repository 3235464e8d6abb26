// Synthetic routing events with known truth, for the statistics tests and
// `monoroute bench analysis`: Zipf tokens in sequences, top-k sets that ignore the token, follow
// a per-token preference, or follow a planted per-category preference. No gRPC, no LibTorch.
#ifndef MONOROUTE_SERVICES_ANALYSIS_SYNTHETIC_ROUTING_H_
#define MONOROUTE_SERVICES_ANALYSIS_SYNTHETIC_ROUTING_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "services/analysis/category_stats.h"
#include "services/analysis/routing_table.h"

namespace monoroute::analysis {

struct SyntheticRoutingOptions {
  // Events (token occurrences), cut into sequences of seq_len events.
  uint64_t events = 100000;
  uint32_t seq_len = 128;
  // Pathways and pathways per event.
  uint32_t num_pathways = 16;
  uint32_t top_k = 4;
  // Token ids drawn from [0, vocab) with Zipf exponent `zipf` (rank = id + 1).
  uint32_t vocab = 50257;
  double zipf = 1.1;
  // Probability that an event's top-k is its token's own preferred set (a fixed random k-set per
  // token id); otherwise a random set. 0: routing ignores the token.
  double token_preference = 0.0;
  // Random sets favour low pathway ids: weight of pathway p is exp(-pathway_skew * p / P)
  // (0: uniform), so loads are unequal like a real unbalanced router.
  double pathway_skew = 0.0;
  // Planted categories: an event whose token has category c < planted_categories uses the set
  // {c*k mod P, ...} (k consecutive pathways starting at c*k) with probability category_preference.
  const CategoryMap* categories = nullptr;
  uint32_t planted_categories = 0;
  double category_preference = 0.0;
  // Seed of the events' draws.
  uint64_t seed = 1;
  // Seed of the model: each token's preferred set (fixed while `seed` varies the sample).
  uint64_t model_seed = 1;
};

// Events as the recorder would stream them for one layer.
struct SyntheticEvents {
  std::vector<uint64_t> sequence_id;
  std::vector<uint32_t> token_id;
  std::vector<uint32_t> pathways;  // events * top_k
};

// Token `token`'s preferred k-set under `model_seed` (what token_preference routes to).
std::vector<uint32_t> SyntheticPreferredSet(uint64_t model_seed, uint32_t token,
                                            uint32_t num_pathways, uint32_t top_k);

// Generates the events; deterministic given the options. INVALID_ARGUMENT for bad sizes.
absl::StatusOr<SyntheticEvents> GenerateSyntheticEvents(const SyntheticRoutingOptions& options);

// The events as a RoutingTable.
absl::StatusOr<RoutingTable> SyntheticRoutingTable(const SyntheticRoutingOptions& options);

// Token categories assigned uniformly at random (unrelated to any routing): each of the first
// `vocab` ids gets one of `num_categories` names "c0", "c1", ... with probability
// `labelled_share`, else none.
CategoryMap RandomCategories(uint32_t vocab, uint32_t num_categories, double labelled_share,
                             uint64_t seed);

// Normalised Zipf probabilities of ids [0, vocab) (rank = id + 1).
std::vector<double> ZipfProbabilities(uint32_t vocab, double exponent);

}  // namespace monoroute::analysis

#endif  // MONOROUTE_SERVICES_ANALYSIS_SYNTHETIC_ROUTING_H_
