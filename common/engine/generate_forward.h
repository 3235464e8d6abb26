// The model forward used by Generate: GPTNeoImpl::forward with pathways disabled (the offline
// ablation's SetPathwayMask) and/or scaled (each selected pathway's weight multiplied by a factor
// before the gate, so its output contribution scales by that factor; routing unchanged).
#ifndef MONOROUTE_COMMON_ENGINE_GENERATE_FORWARD_H_
#define MONOROUTE_COMMON_ENGINE_GENERATE_FORWARD_H_

#include <torch/torch.h>

#include <map>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/engine/generate.h"
#include "common/model/gpt_neo.h"

namespace monoroute::engine {

// Steering of a model, per routed layer.
struct Steering {
  // layer -> bool [P] (true = enabled); absent layers keep every pathway.
  std::map<int64_t, torch::Tensor> enabled;
  // layer -> float [P] factors; absent layers are unscaled.
  std::map<int64_t, torch::Tensor> scale;
};

// Builds the Steering of (layer, pathway) ablations and scales for `model` (checked: routed
// layer, pathway in range, finite factor, at least top_k enabled; errors name `ablate` /
// `scale`).
absl::StatusOr<Steering> MakeSteering(const model::GPTNeoImpl& model,
                                      const std::vector<std::pair<int, int>>& ablate,
                                      const std::vector<PathwayScale>& scale);

// Applies steering.enabled with SetPathwayMask (an empty Steering clears the masks).
absl::Status ApplyPathwayMasks(model::GPTNeoImpl& model, const Steering& steering);

// Logits and routing of input_ids [B, T] with the masks already applied and steering.scale used:
// exactly GPTNeoImpl::forward when no layer is scaled; otherwise the same blocks, with each
// scaled layer's routed MLP applied to weights * factor[pathway]. fp32; call under NoGradGuard.
model::ForwardOutput SteeredForward(model::GPTNeoImpl& model, const torch::Tensor& input_ids,
                                    const Steering& steering);

// The routing of every position of a [1, T] forward (`out`): T entries, each with one
// TokenRouting per routed layer in the forward's layer order (what Generate reports for the last
// position, and the explorer's "try" for every token).
std::vector<std::vector<TokenRouting>> PositionRouting(const model::ForwardOutput& out);

}  // namespace monoroute::engine

#endif  // MONOROUTE_COMMON_ENGINE_GENERATE_FORWARD_H_
