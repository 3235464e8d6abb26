// "Try": route typed text through a run's checkpoint and show, per token and routed layer, the
// chosen pathways and their gates (engine::TokenRouting, what `monoroute generate` reports per
// generated token). The types are plain (no LibTorch); RouteText is implemented by
// try_routing.cc with the engine, or by try_unavailable.cc (UNIMPLEMENTED) in builds without it.
#ifndef MONOROUTE_SERVICES_ANALYSIS_EXPLORER_TRY_ROUTING_H_
#define MONOROUTE_SERVICES_ANALYSIS_EXPLORER_TRY_ROUTING_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/engine/generate.h"

namespace monoroute::analysis::explorer {

struct TryOptions {
  // Routed checkpoint directory (config.json with a routing section + model.safetensors); the
  // caller has checked it against the allowed roots.
  std::string checkpoint;
  // GPT-2 tokenizer directory ("" = the build's default).
  std::string tokenizer_dir;
  // The text to route.
  std::string text;
  // Longest text accepted, in tokens (longer: INVALID_ARGUMENT naming `text`).
  int max_tokens = 256;
};

// One token of the text.
struct TryToken {
  uint32_t token_id = 0;
  std::string text;
  // One per routed layer, ascending: the engine's routing of the position (the top-k pathways
  // in descending gate order and their gates, the renormalised weights).
  std::vector<engine::TokenRouting> routing;
};

// The routed text.
struct TryResult {
  std::string checkpoint;
  uint32_t num_pathways = 0;
  uint32_t top_k = 0;
  std::vector<uint32_t> routed_layers;
  std::vector<TryToken> tokens;
};

// Tokenizes `options.text`, runs the checkpoint's forward pass on the CPU and collects the
// routing. INVALID_ARGUMENT for empty or too long text and a checkpoint that is not routed
// (naming the field), NOT_FOUND for a missing checkpoint, UNIMPLEMENTED without the engine.
// Thread-safe (loads the model per call; callers cache results if they need to).
absl::StatusOr<TryResult> RouteText(const TryOptions& options);

}  // namespace monoroute::analysis::explorer

#endif  // MONOROUTE_SERVICES_ANALYSIS_EXPLORER_TRY_ROUTING_H_
