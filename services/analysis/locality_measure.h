// Locality of a layer's routing: the share of a token's top-k pathways that the previous token of
// its sequence (position i - 1) also selected, against the within-sequence permutation null (the
// sequence's top-k sets shuffled among its tokens), whose expectation is exact and computed by
// counting; a block-bootstrap interval (docs/analysis.md, "Locality"). No gRPC, no LibTorch.
#ifndef MONOROUTE_SERVICES_ANALYSIS_LOCALITY_MEASURE_H_
#define MONOROUTE_SERVICES_ANALYSIS_LOCALITY_MEASURE_H_

#include <cstdint>

#include "services/analysis/analysis_options.h"
#include "services/analysis/effect.h"
#include "services/analysis/routing_table.h"

namespace monoroute::analysis {

// The layer's locality: observed = |S_i and S_{i-1}| / k averaged over adjacent token pairs
// (consecutive positions of one sequence), null_mean = its expectation when each sequence's sets
// are permuted among its tokens (sum over adjacent pairs of sum_p c_p (c_p - 1) / (n (n - 1)) / k,
// c_p: the sequence's tokens selecting p, n: its tokens), excess and interval (options.bootstrap
// replicates over sequences). NaN without adjacent pairs. Thread-safe.
Effect MeasureLocality(const RoutingTable& table, const AnalysisOptions& options);

}  // namespace monoroute::analysis

#endif  // MONOROUTE_SERVICES_ANALYSIS_LOCALITY_MEASURE_H_
