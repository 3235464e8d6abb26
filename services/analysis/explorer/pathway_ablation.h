// A pathway's controlled ablation result as the pathway page shows it: `monoroute ablate --save`
// (or anyone) stores engine::AblationResultToJson's document at AblationResultPath(checkpoint,
// layer, pathway), beside the run's checkpoint; the explorer reads it from there (under
// --allowed-root). No gRPC, no LibTorch.
#ifndef MONOROUTE_SERVICES_ANALYSIS_EXPLORER_PATHWAY_ABLATION_H_
#define MONOROUTE_SERVICES_ANALYSIS_EXPLORER_PATHWAY_ABLATION_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/engine/ablation.h"

namespace monoroute::analysis::explorer {

// <checkpoint>/ablations/layer<L>_pathway<P>.json.
std::string AblationResultPath(const std::string& checkpoint, uint32_t layer, uint32_t pathway);

// What the page shows of one stored ablation, or why there is none.
struct PathwayAblation {
  // A stored result was read (else `note` says why not: none stored, no checkpoint, ...).
  bool found = false;
  std::string note;
  // The file it was read from.
  std::string path;
  // The document's "version" (1 when it has none: written before the per-category breakdown).
  int version = 1;
  // The stored result, the engine's own type (a field the document lacks keeps its default).
  engine::AblationResult result;
};

// Parses engine::AblationResultToJson's document (engine::AblationResultFromJson, any version).
// INVALID_ARGUMENT when it is not a JSON object or is for another (layer, pathway).
absl::StatusOr<PathwayAblation> ParseAblationJson(const std::string& json, uint32_t layer,
                                                  uint32_t pathway);

}  // namespace monoroute::analysis::explorer

#endif  // MONOROUTE_SERVICES_ANALYSIS_EXPLORER_PATHWAY_ABLATION_H_
