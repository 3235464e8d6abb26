// Cross-layer consistency: how much a token's pathways in one routed layer tell about its
// pathways in the next routed layer (same sequence and position): I(pathway in l; pathway in
// l') over the k x k' routing pairs of each token, against a null that permutes the next layer's
// top-k sets among the tokens of each sequence (keeping both layers' loads and each sequence's
// pathway use), with block-bootstrap intervals (docs/analysis.md, "Cross-layer consistency").
// No gRPC, no LibTorch.
#ifndef MONOROUTE_SERVICES_ANALYSIS_CROSS_LAYER_MEASURE_H_
#define MONOROUTE_SERVICES_ANALYSIS_CROSS_LAYER_MEASURE_H_

#include <cstdint>

#include "services/analysis/analysis_options.h"
#include "services/analysis/effect.h"
#include "services/analysis/routing_table.h"

namespace monoroute::analysis {

// A layer's consistency with the next routed layer.
struct CrossLayerResult {
  // The next routed layer (equal to the layer itself when there is none).
  uint32_t next_layer = 0;
  // Tokens routed in both layers (same sequence key and position) the measure used: whole
  // sequences, at most options.estimand_events tokens (0: all).
  uint64_t tokens = 0;
  // I(pathway in l; pathway in l') in nats against the within-sequence permutation null; its
  // ceiling is ln(P / k) (the smaller of the two layers').
  Effect mi;
};

// Measures `layer` (routed layer `layer_id`) against `next` (routed layer `next_id`) on the
// sequences both have. At most 2 of options.null_replicates permutations (the null level's
// spread is far below the interval's), options.bootstrap block-bootstrap
// replicates (resampled data minus a resampled permutation). An empty result (NaN mi, 0 tokens)
// when no token is in both. Deterministic given options.seed and layer_id. Thread-safe.
CrossLayerResult MeasureCrossLayer(const RoutingTable& layer, const RoutingTable& next,
                                   uint32_t layer_id, uint32_t next_id,
                                   const AnalysisOptions& options);

}  // namespace monoroute::analysis

#endif  // MONOROUTE_SERVICES_ANALYSIS_CROSS_LAYER_MEASURE_H_
