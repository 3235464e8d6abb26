// Synthetic pathway-by-token counts for benchmarks and tests: a Zipf token stream of `events`
// events routed to top-k of P pathways with a tunable per-token preference.
#ifndef MONOROUTE_SERVICES_ANALYSIS_SYNTHETIC_COUNTS_H_
#define MONOROUTE_SERVICES_ANALYSIS_SYNTHETIC_COUNTS_H_

#include <cstdint>
#include <vector>

#include "services/analysis/count_matrix.h"

namespace monoroute::analysis {

struct SyntheticOptions {
  // Events (token occurrences) of the layer.
  uint64_t events = 1000000;
  // Pathways and pathways per event.
  uint32_t num_pathways = 16;
  uint32_t top_k = 4;
  // Token ids are drawn from [0, vocab) with Zipf exponent `zipf` (rank = id + 1).
  uint32_t vocab = 50257;
  double zipf = 1.1;
  // 0: routing independent of the token; larger: each token prefers a few pathways (log-weight
  // scale of its random per-pathway preference).
  double preference = 1.0;
  // Seed of every random draw.
  uint64_t seed = 1;
};

// Builds the counts without materialising events: each token's occurrences are its expected
// Zipf share (rounded stochastically); pathway p's count is Binomial(occurrences, pi_p) with
// pi_p = k w_p / sum(w) capped at 1, w_p = exp(preference * N(0,1)) per token (so routings sum to
// about occurrences * k). Deterministic given the options. Thread-safe.
std::vector<CountTriple> SyntheticCounts(const SyntheticOptions& options);

}  // namespace monoroute::analysis

#endif  // MONOROUTE_SERVICES_ANALYSIS_SYNTHETIC_COUNTS_H_
