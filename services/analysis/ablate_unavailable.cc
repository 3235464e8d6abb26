// RunAblate for builds without the engine (monoroute_engine target absent): UNIMPLEMENTED.
#include "absl/status/status.h"
#include "services/analysis/analysis_service.h"

namespace monoroute::analysis {

absl::StatusOr<v1::AblateResponse> RunAblate(const v1::AblateRequest&) {
  return absl::UnimplementedError(
      "Ablate: this monoroute-analysis was built without the engine (monoroute_engine)");
}

}  // namespace monoroute::analysis
