// The overview's pathway grid for one layer, from the raw events: per pathway its load against
// the uniform share, mean gate and its top tokens by lift. No gRPC, no LibTorch.
#ifndef MONOROUTE_SERVICES_ANALYSIS_EXPLORER_LAYER_GRID_H_
#define MONOROUTE_SERVICES_ANALYSIS_EXPLORER_LAYER_GRID_H_

#include <cstdint>
#include <vector>

#include "services/analysis/explorer/pathway_profile.h"

namespace monoroute::analysis::explorer {

// One cell of the grid.
struct GridCell {
  uint32_t pathway = 0;
  uint64_t load = 0;
  // load / (events * top_k / num_pathways).
  double load_vs_uniform = 0.0;
  // Mean gate over the tokens selecting it (NaN without load).
  double mean_gate = 0.0;
  // Top tokens by lift (tokens seen >= min_token_count times in the layer, >= 2 in the pathway).
  std::vector<TokenLift> top_tokens;
};

// One layer's grid (num_pathways cells, pathway order).
struct LayerGrid {
  uint32_t layer = 0;
  uint64_t events = 0;
  // MaxVio over the loads: max load / mean load - 1.
  double max_violation = 0.0;
  std::vector<GridCell> cells;
};

// Builds the grid in one pass over the events. Pure; thread-safe.
LayerGrid BuildLayerGrid(const LayerEvents& events, const Decoder& decode, int top_tokens,
                         uint32_t min_token_count);

}  // namespace monoroute::analysis::explorer

#endif  // MONOROUTE_SERVICES_ANALYSIS_EXPLORER_LAYER_GRID_H_
