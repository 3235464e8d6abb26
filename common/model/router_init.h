// Data-dependent initialisation of fresh routers: centre each pathway's mean score.
//
// A freshly initialised router's features relu(fc1 x) share a large token-independent component
// (relu outputs are positive; LayerNorm biases add a common offset), so the output layer's
// per-pathway offsets dominate the scores and nearly every token picks the same top-k: at step 0
// some pathways get no tokens at all. GLBL then has to undo that from a standstill (its gradient
// on a pathway scales with the pathway's probability). Centring the scores on a batch of real
// tokens removes the common offsets and leaves only the token-dependent part, so every pathway
// starts in use.
#ifndef MONOROUTE_COMMON_MODEL_ROUTER_INIT_H_
#define MONOROUTE_COMMON_MODEL_ROUTER_INIT_H_

#include <torch/torch.h>

#include "absl/status/status.h"

namespace monoroute::model {

class CausalLMImpl;
using GPTNeoImpl = CausalLMImpl;

// For each routed layer in order, runs `input_ids` [B, T] through the model (no grad) and shifts
// that router's output bias so that every pathway has the same mean score (temperature-scaled
// log-probability) over the batch's tokens. Layers are centred one after the other, each on the
// inputs the already-centred layers below it produce. Only the routers' fc2 biases change.
// Not thread-safe (mutates the model).
absl::Status CenterRouterScores(GPTNeoImpl& model, const torch::Tensor& input_ids,
                                torch::Dtype compute_dtype = torch::kFloat);

}  // namespace monoroute::model

#endif  // MONOROUTE_COMMON_MODEL_ROUTER_INIT_H_
