// llm_monosemanticity.png: the report's figure, rendered with cairo. Four panels: the token
// information in the routing (MI excess over the null) for the trained routing and each control;
// trained minus control with paired intervals; every pathway's KL excess with its interval and
// the specialised ones in red; the list of specialised pathways (or "none") and per-layer token
// specialisation against its chance, category AMI and load balance.
#ifndef MONOROUTE_SERVICES_ANALYSIS_REPORT_PNG_H_
#define MONOROUTE_SERVICES_ANALYSIS_REPORT_PNG_H_

#include <string>

#include "absl/status/statusor.h"
#include "services/analysis/run_analysis.h"

namespace monoroute::analysis {

// Renders the figure as PNG bytes. `baseline` (may be null) is named in the subtitle; `options`
// (may be null) draws the minimum effect. INTERNAL if cairo fails. Thread-safe.
absl::StatusOr<std::string> RenderReportPng(const RunAnalysis& run, const RunAnalysis* baseline,
                                            const AnalysisOptions* options = nullptr);

}  // namespace monoroute::analysis

#endif  // MONOROUTE_SERVICES_ANALYSIS_REPORT_PNG_H_
