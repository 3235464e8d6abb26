// AblationResultPath and ParseAblationJson (the engine's reader, plus the layer/pathway check).
#include "services/analysis/explorer/pathway_ablation.h"

#include <filesystem>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace monoroute::analysis::explorer {

std::string AblationResultPath(const std::string& checkpoint, uint32_t layer, uint32_t pathway) {
  return (std::filesystem::path(checkpoint) / "ablations" /
          absl::StrCat("layer", layer, "_pathway", pathway, ".json"))
      .string();
}

absl::StatusOr<PathwayAblation> ParseAblationJson(const std::string& text, uint32_t layer,
                                                  uint32_t pathway) {
  PathwayAblation a;
  absl::StatusOr<engine::AblationResult> r = engine::AblationResultFromJson(text, &a.version);
  if (!r.ok()) return r.status();
  if (r->layer != static_cast<int64_t>(layer) || r->pathway != static_cast<int64_t>(pathway)) {
    return absl::InvalidArgumentError(absl::StrCat("ablation result: layer ", r->layer, " pathway ",
                                                   r->pathway, ", not layer ", layer, " pathway ",
                                                   pathway));
  }
  a.found = true;
  a.result = *std::move(r);
  return a;
}

}  // namespace monoroute::analysis::explorer
