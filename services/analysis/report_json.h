// llm_routing_results.json: the report document (schema documented field by field in
// docs/analysis.md; the result fields come from report_fields.h). nlohmann::json stays inside
// the .cc.
#ifndef MONOROUTE_SERVICES_ANALYSIS_REPORT_JSON_H_
#define MONOROUTE_SERVICES_ANALYSIS_REPORT_JSON_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "services/analysis/run_analysis.h"

namespace monoroute::analysis {

// Version of the report document; bumped on any incompatible change (3: every effect is an
// Effect object {observed, null_mean, excess, ci}; sources; events_used).
inline constexpr int kReportSchemaVersion = 3;

// Builds the report document. `baseline` (may be null) adds the "baseline" section comparing
// the run with another run (e.g. a dense run's slices, or another balancing method). Pure;
// thread-safe.
std::string ReportToJson(const RunAnalysis& run, const RunAnalysis* baseline,
                         const AnalysisOptions& options, int64_t generated_unix_ms);

// One layer (summary and, when `with_pathways`, every pathway) as a JSON object.
std::string LayerToJson(const LayerResult& layer, bool with_pathways);

// Per-layer comparisons of a run with a baseline (CompareRuns) as a JSON object.
std::string ComparisonToJson(const RunAnalysis& run, const RunAnalysis& baseline,
                             const std::vector<std::pair<uint32_t, ControlComparison>>& rows);

// The effective options as a JSON object (also used by the balancing study).
std::string OptionsToJson(const AnalysisOptions& options);

// Mean purity over all (layer, pathway) with load; NaN if none.
double AveragePurity(const std::vector<LayerResult>& layers);

}  // namespace monoroute::analysis

#endif  // MONOROUTE_SERVICES_ANALYSIS_REPORT_JSON_H_
