// llm_monosemanticity.png: the report's figure, rendered with cairo (four panels: purity per
// layer with the null band, distribution of pathway purities, top specialised pathways with
// their top tokens, utilisation per layer).
#ifndef MONOROUTE_SERVICES_ANALYSIS_REPORT_PNG_H_
#define MONOROUTE_SERVICES_ANALYSIS_REPORT_PNG_H_

#include <string>

#include "absl/status/statusor.h"
#include "services/analysis/run_analysis.h"

namespace monoroute::analysis {

// Renders the figure as PNG bytes. `baseline` (may be null) adds its per-layer mean purity.
// INTERNAL if cairo fails. Thread-safe (no shared state).
absl::StatusOr<std::string> RenderReportPng(const RunAnalysis& run, const RunAnalysis* baseline);

}  // namespace monoroute::analysis

#endif  // MONOROUTE_SERVICES_ANALYSIS_REPORT_PNG_H_
