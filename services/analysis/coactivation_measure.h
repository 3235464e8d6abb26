// Co-activation of a layer's pathways: how often each pair (a, b) is selected together by one
// token, over its load-matched expectation, and a layer summary (the total-variation distance
// between the co-selected pairs and that expectation), each an Effect against a load-matched null
// with block-bootstrap intervals (docs/analysis.md, "Co-activation"). The explorer's
// same-layer partners use the same expectation. No gRPC, no LibTorch.
#ifndef MONOROUTE_SERVICES_ANALYSIS_COACTIVATION_MEASURE_H_
#define MONOROUTE_SERVICES_ANALYSIS_COACTIVATION_MEASURE_H_

#include <cstdint>
#include <vector>

#include "services/analysis/analysis_options.h"
#include "services/analysis/effect.h"
#include "services/analysis/routing_table.h"

namespace monoroute::analysis {

// The load-matched expectation of every pair of pathways, [a * P + b] (symmetric): tokens
// selecting both a and b if pathways were co-selected as independently as their loads allow:
// E_ab = x_a x_b for a != b, x fitted so that each pathway's expected partners add up to its
// observed load_a (k - 1) (quasi-independence of the symmetric pair table with an empty diagonal,
// the maximum-entropy pair table with the observed pathway totals). 0 on the diagonal and for a
// pathway without load; all 0 when top_k < 2. `load`: tokens selecting each pathway.
std::vector<double> PairExpectations(const std::vector<double>& load, uint32_t top_k);

// One pathway pair (a < b): tokens selecting both, the load-matched expectation and the lift
// together / expected as an Effect (null_mean: the lift's mean under the null).
struct CoactivationPair {
  uint32_t pathway_a = 0;
  uint32_t pathway_b = 0;
  uint64_t together = 0;
  double expected = kNaN;
  Effect lift;
};

// Most pairs a result lists: every pair up to P = 32 (496 pairs); for wider layers the strongest
// (see CoactivationResult::pairs), so a 256-pathway layer's report stays small.
inline constexpr size_t kMaxListedPairs = 496;

// A layer's co-activation: `distance` = sum over pairs |together - expected| / (2 * pairs
// selected), the share of co-selected pairs away from the load-matched expectation (0: pathways
// co-selected as their loads predict, 1: maximal), against the null, over every pair; the pairs
// with an expectation in (a, b) order: all of them when there are at most kMaxListedPairs, else
// the kMaxListedPairs with the largest |lift excess| among those whose interval excludes the null
// (all pairs without intervals). NaN / empty when top_k < 2.
struct CoactivationResult {
  Effect distance;
  std::vector<CoactivationPair> pairs;
};

// Measures `table`: observed counts, options.null_replicates draws of the load-matched null
// (each pair's count binomial with the expectation of the replicate's loads, loads and
// expectations then recomputed from the draw, as on the data) and options.bootstrap block
// bootstrap replicates (resampled data minus a null draw at the resampled loads). Deterministic
// given options.seed and `layer`. Thread-safe.
CoactivationResult MeasureCoactivation(const RoutingTable& table, const AnalysisOptions& options,
                                       uint32_t layer);

}  // namespace monoroute::analysis

#endif  // MONOROUTE_SERVICES_ANALYSIS_COACTIVATION_MEASURE_H_
