// RouteText and ComputePathwayLogits in builds without the engine: UNIMPLEMENTED.
#include "absl/status/status.h"
#include "services/analysis/explorer/pathway_logits.h"
#include "services/analysis/explorer/try_routing.h"

namespace monoroute::analysis::explorer {

absl::StatusOr<TryResult> RouteText(const TryOptions&) {
  return absl::UnimplementedError(
      "try: this monoroute-analysis was built without the engine (MONOROUTE_ANALYSIS_ABLATION)");
}

absl::StatusOr<PathwayLogits> ComputePathwayLogits(const PathwayLogitsOptions&) {
  return absl::UnimplementedError(
      "logits: this build has no engine (MONOROUTE_ANALYSIS_ABLATION) to read the checkpoint");
}

}  // namespace monoroute::analysis::explorer
