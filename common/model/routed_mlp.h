// GPT-Neo MLPs: the dense MLP and its pathway-routed form (same c_fc / c_proj weights).
#ifndef MONOROUTE_COMMON_MODEL_ROUTED_MLP_H_
#define MONOROUTE_COMMON_MODEL_ROUTED_MLP_H_

#include <torch/torch.h>

#include <cstdint>
#include <utility>

#include "common/model/pathway_router.h"

namespace monoroute::model {

// gelu_new (GPT-2's tanh approximation).
torch::Tensor GeluNew(const torch::Tensor& x);

// Options of the dense MLP.
struct GPTNeoMLPOptions {
  int64_t hidden_size = 64;         // residual width
  int64_t intermediate_size = 256;  // MLP width
};

// Dense GPT-Neo MLP: c_proj(gelu_new(c_fc(x))). Not thread-safe (a torch module).
class GPTNeoMLPImpl : public torch::nn::Module {
 public:
  explicit GPTNeoMLPImpl(const GPTNeoMLPOptions& options);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Linear c_fc{nullptr};
  torch::nn::Linear c_proj{nullptr};
};
TORCH_MODULE(GPTNeoMLP);

// How RoutedMLP computes the selected pathways.
enum class RoutedCompute {
  kAuto,    // the faster one for the device (see docs/model.md: mask on CPU and CUDA at 1M size)
  kMask,    // dense c_fc/gelu, multiply by the per-neuron gate, dense c_proj (refmodel.py)
  kGather,  // only the selected pathways: tokens grouped by pathway, per-pathway matmuls
};

// Options of a RoutedMLP.
struct RoutedMLPOptions {
  GPTNeoMLPOptions mlp;                          // dense sizes
  PathwayRouterOptions router;                   // router sizes / top-k
  RoutedCompute compute = RoutedCompute::kAuto;  // compute path
};

// Pathway-routed MLP: intermediate neurons split into P contiguous slices (pathway p owns neurons
// [p*I/P, (p+1)*I/P)); y = c_proj.bias + sum_{selected p} w_p * k * c_proj_p(gelu(c_fc_p(x))),
// with w renormalised over the k selected (sum 1). The gate scale k makes a router with equal
// weights reproduce each selected pathway's dense slice, so with top_k = P and equal weights this
// is exactly the dense MLP. For the default P = 16, k = 4 the scale k equals refmodel.py's P/k
// (they coincide whenever P = k^2), so the default model matches the Python baseline exactly.
// Submodules: c_fc, c_proj (HF names, so converting a dense MLP keeps its weights) and router.
// Not thread-safe.
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
  void CopyDenseWeights(const GPTNeoMLPImpl& dense);

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
