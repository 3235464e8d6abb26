// ReadRouterSaturation: one routing table per (checkpoint split, layer), then RouterSaturation.
#include "services/analysis/router_saturation_reader.h"

#include <algorithm>
#include <map>

#include "common/base/status_macros.h"

namespace monoroute::analysis {

absl::StatusOr<std::vector<SaturationPoint>> ReadRouterSaturation(
    const RecorderReader& reader, const RunInfo& info, const std::vector<std::string>& run_splits,
    const AnalysisOptions& options) {
  std::vector<int64_t> steps;
  for (const std::string& s : run_splits) {
    if (std::optional<int64_t> step = CheckpointEvalStep(s)) steps.push_back(*step);
  }
  if (steps.empty()) return std::vector<SaturationPoint>{};
  std::sort(steps.begin(), steps.end());
  if (steps.size() > kMaxSaturationCheckpoints) {
    steps.erase(steps.begin(), steps.end() - kMaxSaturationCheckpoints);
  }
  std::map<int64_t, std::map<uint32_t, RoutingTable>> by_step;
  for (int64_t step : steps) {
    for (uint32_t layer : info.routed_layers) {
      ASSIGN_OR_RETURN(RoutingTableBuilder b,
                       RoutingTableBuilder::Create(info.num_pathways, info.top_k));
      RETURN_IF_ERROR(reader.ReadEvents(info.run_id, layer, CheckpointEvalSplit(step), 0, 0,
                                        options.max_events_per_layer, &b));
      if (b.events() > 0) by_step[step][layer] = b.Build();
    }
  }
  if (by_step.empty()) return std::vector<SaturationPoint>{};
  SaturationOptions so;
  so.bootstrap = static_cast<uint32_t>(std::max(0, options.bootstrap));
  so.confidence = options.confidence;
  so.seed = options.seed;
  return RouterSaturation(by_step, by_step.rbegin()->second, so);
}

}  // namespace monoroute::analysis
