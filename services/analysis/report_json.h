// llm_routing_results.json: the report document (schema documented field by field in
// docs/analysis.md). nlohmann::json stays inside the .cc.
#ifndef MONOROUTE_SERVICES_ANALYSIS_REPORT_JSON_H_
#define MONOROUTE_SERVICES_ANALYSIS_REPORT_JSON_H_

#include <cstdint>
#include <string>

#include "services/analysis/layer_analysis.h"
#include "services/analysis/run_analysis.h"

namespace monoroute::analysis {

// Version of the report document; bumped on any incompatible change.
inline constexpr int kReportSchemaVersion = 1;

// Builds the report document. `baseline` (may be null) adds the "baseline" section comparing
// the run with e.g. the dense model's equal slices. Pure; thread-safe.
std::string ReportToJson(const RunAnalysis& run, const RunAnalysis* baseline,
                         const AnalysisOptions& options, int64_t generated_unix_ms);

// One layer (summary and, when `with_pathways`, every pathway) as a JSON object.
std::string LayerToJson(const LayerResult& layer, bool with_pathways);

// Per-layer comparison of `run` with `baseline` (layers routed in both) as a JSON object.
std::string ComparisonToJson(const RunAnalysis& run, const RunAnalysis& baseline);

}  // namespace monoroute::analysis

#endif  // MONOROUTE_SERVICES_ANALYSIS_REPORT_JSON_H_
