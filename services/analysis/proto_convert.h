// Conversions between analysis_core's plain types and the analysis.v1 wire messages. Result
// messages are filled by protobuf reflection from report_fields.h's field list (the proto field
// names equal the report's JSON names), so no field is listed here.
#ifndef MONOROUTE_SERVICES_ANALYSIS_PROTO_CONVERT_H_
#define MONOROUTE_SERVICES_ANALYSIS_PROTO_CONVERT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "monoroute/analysis/v1/analysis.pb.h"
#include "services/analysis/layer_analysis.h"
#include "services/analysis/router_saturation.h"

namespace monoroute::analysis {

// Fill `out` from `in`. A field name the message lacks is a programming error: it is appended to
// `*missing` (may be null) and skipped. Pure.
void ToProto(const PathwayResult& in, v1::PathwaySummary* out,
             std::vector<std::string>* missing = nullptr);
// The layer summary (no pathways).
void ToProto(const LayerResult& in, v1::LayerSummary* out,
             std::vector<std::string>* missing = nullptr);
void ToProto(const ControlComparison& in, v1::ControlComparison* out,
             std::vector<std::string>* missing = nullptr);
// The report's router saturation (`router_saturation`, one point per checkpoint).
void ToProto(const std::vector<SaturationPoint>& in, v1::ReportResponse* out,
             std::vector<std::string>* missing = nullptr);

// Request options -> core options (unset = default); INVALID_ARGUMENT naming the field for
// out-of-range values.
absl::StatusOr<AnalysisOptions> OptionsFromProto(const v1::AnalysisOptions& proto, int threads);

}  // namespace monoroute::analysis

#endif  // MONOROUTE_SERVICES_ANALYSIS_PROTO_CONVERT_H_
