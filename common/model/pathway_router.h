// PathwayRouter: scores the pathways of one routed MLP per token and picks the top-k.
#ifndef MONOROUTE_COMMON_MODEL_PATHWAY_ROUTER_H_
#define MONOROUTE_COMMON_MODEL_PATHWAY_ROUTER_H_

#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace monoroute::model {

// Per-token routing decision of one routed layer. Tensors stay on the model's device; call
// ToCpu() to copy. A value type (tensors are shared handles); thread-compatible.
struct RoutingInfo {
  // Index of the transformer block whose MLP was routed.
  int64_t layer = -1;
  // Router probabilities [N, P] fp32 (N = B*T tokens), differentiable w.r.t. router weights.
  torch::Tensor probs;
  // Selected pathways [N, k] int64, in descending probability order.
  torch::Tensor topk_indices;
  // Renormalised weights of the selected pathways [N, k] fp32 (sum to 1 over k).
  torch::Tensor topk_weights;

  // A detached copy on the CPU.
  RoutingInfo ToCpu() const;
};

// Options of a PathwayRouter.
struct PathwayRouterOptions {
  // Width of the residual stream (router input).
  int64_t hidden_size = 64;
  // Width of the router's hidden layer.
  int64_t router_hidden = 128;
  // Number of pathways P.
  int64_t num_pathways = 16;
  // Pathways selected per token.
  int64_t top_k = 4;
  // "relu" | "gelu_new" | "silu".
  std::string activation = "relu";
  // probs = softmax(scores / temperature).
  double temperature = 1.0;
  // Std of the normal init of the output layer's weights (bias 0). Small, so a fresh router scores
  // all pathways nearly equally (probabilities within ~10% of 1/P) while its top-k still differs
  // from token to token: balancing then starts from every pathway in use, not a collapsed router
  // whose dead pathways the GLBL gradient barely reaches (it scales with their probability).
  double output_init_std = 0.02;
};

// hidden -> router_hidden -> P scores (registered as submodules "0" and "2", like nn.Sequential),
// softmax with temperature, top-k, weights renormalised over the k selected.
// Buffer `selection_bias` [P] (aux-loss-free balancing) is added to the probabilities for the
// top-k choice only; weights use the unbiased probabilities.
// Ablation: a pathway disabled with SetPathwayMask gets score -inf, so it has probability 0 and is
// never selected, also under aux-free balancing (the mask is applied to the biased selection
// scores too); at least top_k pathways must stay enabled.
// Not thread-safe (a torch module).
class PathwayRouterImpl : public torch::nn::Module {
 public:
  explicit PathwayRouterImpl(const PathwayRouterOptions& options);

  // x [..., H] -> RoutingInfo over the flattened N tokens (layer left -1).
  RoutingInfo forward(const torch::Tensor& x);

  // Disables pathways where `enabled` (bool [P]) is false; an undefined tensor re-enables all.
  void SetPathwayMask(const torch::Tensor& enabled);
  // The selection-only bias buffer [P] (fp32; updated in place by aux-free balancing).
  torch::Tensor& selection_bias() { return selection_bias_; }
  // Adds selection_bias to the probabilities for the top-k choice (aux-free balancing).
  void set_use_selection_bias(bool use) { use_selection_bias_ = use; }
  bool use_selection_bias() const { return use_selection_bias_; }

  const PathwayRouterOptions& options() const { return options_; }
  torch::nn::Linear fc1{nullptr};  // "0": hidden -> router_hidden
  torch::nn::Linear fc2{nullptr};  // "2": router_hidden -> P

 private:
  PathwayRouterOptions options_;
  torch::Tensor selection_bias_;
  torch::Tensor disabled_;  // bool [P] or undefined
  bool use_selection_bias_ = false;
};
TORCH_MODULE(PathwayRouter);

}  // namespace monoroute::model

#endif  // MONOROUTE_COMMON_MODEL_PATHWAY_ROUTER_H_
