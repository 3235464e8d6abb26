// Router saturation of a recorded run: reads the checkpoint evaluation splits ("eval@step<N>",
// record.eval_at_checkpoints) of every routed layer from the recorder and computes each
// checkpoint's saturation against the last checkpoint's routing (router_saturation.h). The
// report's `router_saturation`.
#ifndef MONOROUTE_SERVICES_ANALYSIS_ROUTER_SATURATION_READER_H_
#define MONOROUTE_SERVICES_ANALYSIS_ROUTER_SATURATION_READER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/analysis/analysis_options.h"
#include "services/analysis/recorder_reader.h"
#include "services/analysis/router_saturation.h"
#include "services/analysis/run_analysis.h"

namespace monoroute::analysis {

// Most checkpoint splits read for one report (the latest ones are kept when a run has more).
inline constexpr size_t kMaxSaturationCheckpoints = 64;

// The run's saturation curve from the splits of `run_splits` that are checkpoint evaluations
// (empty when there are none); each table bounded by options.max_events_per_layer.
absl::StatusOr<std::vector<SaturationPoint>> ReadRouterSaturation(
    const RecorderReader& reader, const RunInfo& info, const std::vector<std::string>& run_splits,
    const AnalysisOptions& options);

}  // namespace monoroute::analysis

#endif  // MONOROUTE_SERVICES_ANALYSIS_ROUTER_SATURATION_READER_H_
