// Transformer MLPs of every family: the dense MLP and its pathway-routed form (same up / down
// projection weights; their module names are the family's: c_fc / c_proj for GPT-Neo and GPT-2,
// dense_h_to_4h / dense_4h_to_h for GPT-NeoX).
#ifndef MONOROUTE_COMMON_MODEL_ROUTED_MLP_H_
#define MONOROUTE_COMMON_MODEL_ROUTED_MLP_H_

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <utility>

#include "common/model/pathway_router.h"
#include "common/model/routed_mlp_cost.h"

namespace monoroute::model {

// gelu_new (GPT-2's tanh approximation).
torch::Tensor GeluNew(const torch::Tensor& x);

// The MLP activation.
enum class MlpActivation {
  kGeluNew,  // "gelu_new": GPT-2's tanh approximation (GPT-Neo, GPT-2)
  kGelu,     // "gelu": the exact erf form (GPT-NeoX's hidden_act)
};

// Applies `activation` elementwise.
torch::Tensor Activate(const torch::Tensor& x, MlpActivation activation);

// Options of the dense MLP (and the dense part of a routed one).
struct MLPOptions {
  int64_t hidden_size = 64;                            // residual width
  int64_t intermediate_size = 256;                     // MLP width
  MlpActivation activation = MlpActivation::kGeluNew;  // between the projections
  std::string fc_name = "c_fc";                        // module name of the up projection
  std::string proj_name = "c_proj";                    // module name of the down projection
};

// Dense MLP: c_proj(act(c_fc(x))) (c_fc / c_proj registered under MLPOptions' names; weights
// [out, in] as nn.Linear, GPT-2's Conv1D layout is transposed by the checkpoint I/O).
// Not thread-safe (a torch module).
class DenseMLPImpl : public torch::nn::Module {
 public:
  explicit DenseMLPImpl(const MLPOptions& options);
  torch::Tensor forward(const torch::Tensor& x);
  const MLPOptions& options() const { return options_; }
  torch::nn::Linear c_fc{nullptr};
  torch::nn::Linear c_proj{nullptr};

 private:
  MLPOptions options_;
};
TORCH_MODULE(DenseMLP);

// Options of a RoutedMLP.
struct RoutedMLPOptions {
  MLPOptions mlp;                                // dense sizes, activation, names
  PathwayRouterOptions router;                   // router sizes / top-k
  RoutedCompute compute = RoutedCompute::kAuto;  // compute path (kAuto: ChooseRoutedCompute)
};

// Pathway-routed MLP over any family's MLP: intermediate neurons split into P contiguous slices
// (pathway p owns neurons [p*I/P, (p+1)*I/P)); y = c_proj.bias + sum_{selected p} w_p * k *
// c_proj_p(act(c_fc_p(x))), with w renormalised over the k selected (sum 1). The gate scale k makes
// a router with equal weights reproduce each selected pathway's dense slice, so with top_k = P and
// equal weights this is exactly the dense MLP. For the default P = 16, k = 4 the scale k equals
// refmodel.py's P/k (they coincide whenever P = k^2), so the default model matches the Python
// baseline exactly. Submodules: c_fc, c_proj (under the family's HF names, so converting a dense
// MLP keeps its weights) and router. Not thread-safe.
class RoutedMLPImpl : public torch::nn::Module {
 public:
  explicit RoutedMLPImpl(const RoutedMLPOptions& options);

  // x [B, T, H] -> (y [B, T, H], routing of the B*T tokens; layer left -1).
  std::pair<torch::Tensor, RoutingInfo> forward(const torch::Tensor& x);

  // Applies given routing (indices/weights [N, k]) instead of the router's: used by tests and
  // ablations (e.g. all P pathways with equal weights).
  torch::Tensor ApplyRouting(const torch::Tensor& x, const torch::Tensor& topk_indices,
                             const torch::Tensor& topk_weights);

  // Copies c_fc / c_proj from a dense MLP (same shapes).
  void CopyDenseWeights(const DenseMLPImpl& dense);

  // The path a call on `x2d` ([N, H] on its device) with top-k `k` takes: options().compute, or
  // for kAuto ChooseRoutedCompute of the call's shapes (never kAuto).
  RoutedCompute PathFor(const torch::Tensor& x2d, int64_t k) const;

  void set_compute(RoutedCompute c) { options_.compute = c; }
  const RoutedMLPOptions& options() const { return options_; }

  torch::nn::Linear c_fc{nullptr};
  torch::nn::Linear c_proj{nullptr};
  PathwayRouter router{nullptr};

 private:
  torch::Tensor MaskPath(const torch::Tensor& x2d, const torch::Tensor& idx,
                         const torch::Tensor& w);
  torch::Tensor GatherPath(const torch::Tensor& x2d, const torch::Tensor& idx,
                           const torch::Tensor& w);
  RoutedMLPOptions options_;
};
TORCH_MODULE(RoutedMLP);

}  // namespace monoroute::model

#endif  // MONOROUTE_COMMON_MODEL_ROUTED_MLP_H_
