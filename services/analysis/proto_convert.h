// Conversions from analysis_core results to the analysis.v1 wire messages.
#ifndef MONOROUTE_SERVICES_ANALYSIS_PROTO_CONVERT_H_
#define MONOROUTE_SERVICES_ANALYSIS_PROTO_CONVERT_H_

#include "monoroute/analysis/v1/analysis.pb.h"
#include "services/analysis/layer_analysis.h"

namespace monoroute::analysis {

// Fills `out` from `in` (all fields). Pure.
void ToProto(const PathwayResult& in, v1::PathwaySummary* out);
// Fills the layer summary (no pathways). Pure.
void ToProto(const LayerResult& in, v1::LayerSummary* out);

}  // namespace monoroute::analysis

#endif  // MONOROUTE_SERVICES_ANALYSIS_PROTO_CONVERT_H_
