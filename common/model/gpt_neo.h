// GPTNeo: a Hugging Face-exact GPT-Neo causal LM in LibTorch, with optional pathway routing.
// Module tree mirrors HF names, so named_parameters() are the HF state-dict keys, e.g.
// "transformer.h.0.attn.attention.q_proj.weight" (routers: "transformer.h.{i}.mlp.router.*").
#ifndef MONOROUTE_COMMON_MODEL_GPT_NEO_H_
#define MONOROUTE_COMMON_MODEL_GPT_NEO_H_

#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "common/model/gpt_neo_config.h"
#include "common/model/pathway_router.h"
#include "common/model/routed_mlp.h"
#include "common/model/routing_config.h"

namespace monoroute::model {

// What GPTNeo::forward computes and returns.
struct ForwardOptions {
  // Compute logits [B, T, V] (skip for training with the fused LM loss).
  bool return_logits = true;
  // Keep embeddings and every block's output (fixture tests, analysis).
  bool return_block_outputs = false;
  // Keep per routed layer RoutingInfo.
  bool return_routing = true;
  // Matmul dtype: kFloat, or kBFloat16 for mixed precision (weights stay fp32 master copies;
  // attention scores, softmax, LayerNorm and router probabilities stay fp32).
  torch::Dtype compute_dtype = torch::kFloat;
  // Dense-slice probe (the analysis's dense baseline): when num_pathways > 0, every block in
  // `layers` runs its MLP densely (a routed block ignores its router) and reports a pseudo-routing
  // in ForwardOutput::routing: its intermediate neurons cut into num_pathways contiguous slices
  // (as RoutedMLP's pathways), the top_k slices by the L2 norm of their activations, weights =
  // those norms renormalised over the k (probs = norms / their sum).
  struct DenseSliceProbe {
    int64_t num_pathways = 0;
    int64_t top_k = 0;
    std::vector<int64_t> layers;
  } dense_slices;
};

// Result of GPTNeo::forward. Tensors are on the model's device.
struct ForwardOutput {
  // ln_f output [B, T, H] (fp32).
  torch::Tensor final_norm;
  // [B, T, V] fp32 when ForwardOptions::return_logits.
  torch::Tensor logits;
  // wte(ids) + wpe(pos) [B, T, H] when return_block_outputs.
  torch::Tensor embeddings;
  // Output of each block [B, T, H] when return_block_outputs.
  std::vector<torch::Tensor> block_outputs;
  // One entry per routed layer (or probed layer, see DenseSliceProbe), ascending layer order,
  // when return_routing.
  std::vector<RoutingInfo> routing;
};

// GPT-Neo self-attention (q/k/v without bias, out_proj with bias, no 1/sqrt(d) scaling, fp32
// scores; global or local causal mask). Registered under "attn" -> "attention". Not thread-safe.
class GPTNeoSelfAttentionImpl : public torch::nn::Module {
 public:
  GPTNeoSelfAttentionImpl(const GPTNeoConfig& config, bool local);
  torch::Tensor forward(const torch::Tensor& x, torch::Dtype compute_dtype = torch::kFloat);
  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, out_proj{nullptr};

 private:
  torch::Tensor MaskBias(int64_t t, const torch::Device& device);
  int64_t num_heads_;
  int64_t window_;
  bool local_;
  torch::Tensor mask_cache_;  // additive [T, T] fp32 bias, 0 or -inf-ish
};
TORCH_MODULE(GPTNeoSelfAttention);

// One transformer block: x + attn(ln_1(x)), then + mlp(ln_2(x)). The MLP is dense (GPTNeoMLP) or
// routed (RoutedMLP), registered as "mlp" either way. Not thread-safe.
class GPTNeoBlockImpl : public torch::nn::Module {
 public:
  GPTNeoBlockImpl(const GPTNeoConfig& config, int64_t layer);
  // Returns the block output; when routed, fills *routing (if non-null). With `slices` (may be
  // null; see ForwardOptions::DenseSliceProbe) the MLP runs densely and *routing gets the slice
  // pseudo-routing.
  torch::Tensor forward(const torch::Tensor& x, RoutingInfo* routing,
                        torch::Dtype compute_dtype = torch::kFloat,
                        const ForwardOptions::DenseSliceProbe* slices = nullptr);
  // Replaces the dense MLP with a RoutedMLP holding the same c_fc / c_proj weights.
  void MakeRouted(const RoutedMLPOptions& options);
  bool routed() const { return !routed_mlp.is_empty(); }

  torch::nn::LayerNorm ln_1{nullptr}, ln_2{nullptr};
  std::shared_ptr<torch::nn::Module> attn;  // container; holds "attention"
  GPTNeoSelfAttention attention{nullptr};
  GPTNeoMLP dense_mlp{nullptr};   // set when dense
  RoutedMLP routed_mlp{nullptr};  // set when routed

 private:
  int64_t layer_;
};
TORCH_MODULE(GPTNeoBlock);

// The GPT-Neo causal LM (tied LM head = transformer.wte.weight). CPU or CUDA.
// Not thread-safe; one forward/backward at a time.
class GPTNeoImpl : public torch::nn::Module {
 public:
  // A dense model; with `routing` (validated by the caller or by Create()), a routed one.
  // Parameters get HF's default init (see InitWeights) unless loaded afterwards.
  explicit GPTNeoImpl(const GPTNeoConfig& config,
                      const std::optional<RoutingConfig>& routing = std::nullopt);

  // input_ids [B, T] int64 (T <= max_position_embeddings) -> ForwardOutput.
  ForwardOutput forward(const torch::Tensor& input_ids, const ForwardOptions& options = {});

  // Converts a dense model into a routed one in place, keeping every dense weight; routers get
  // fresh (LibTorch default) init. INVALID_ARGUMENT if `routing` does not fit the config,
  // FAILED_PRECONDITION if already routed.
  absl::Status EnableRouting(const RoutingConfig& routing);

  // HF init: Linear/Embedding weights N(0, std), biases 0, LayerNorm 1/0; routers keep LibTorch
  // defaults. Uses the current torch RNG (seed with torch::manual_seed for determinism).
  void InitWeights(double std = 0.02);

  // Disables pathways of one routed layer (bool [P], true = enabled); undefined = all enabled.
  absl::Status SetPathwayMask(int64_t layer, const torch::Tensor& enabled);
  // Chooses the routed compute path of every routed MLP.
  void SetRoutedCompute(RoutedCompute compute);

  const GPTNeoConfig& config() const { return config_; }
  const std::optional<RoutingConfig>& routing() const { return routing_; }
  // Routed layer indices (empty when dense).
  std::vector<int64_t> routed_layers() const;
  // The router of routed layer `layer` (nullptr-holder if that layer is not routed).
  PathwayRouter router(int64_t layer) const;
  // Router parameters only / everything else (for "train only routers").
  std::vector<torch::Tensor> router_parameters() const;
  std::vector<torch::Tensor> base_parameters() const;
  // The tied embedding / LM head weight [V, H].
  torch::Tensor lm_head_weight() const { return wte->weight; }

  std::shared_ptr<torch::nn::Module> transformer;  // "transformer": wte, wpe, h, ln_f
  torch::nn::Embedding wte{nullptr}, wpe{nullptr};
  torch::nn::ModuleList h{nullptr};
  std::vector<GPTNeoBlock> blocks;
  torch::nn::LayerNorm ln_f{nullptr};

 private:
  GPTNeoConfig config_;
  std::optional<RoutingConfig> routing_;
};
TORCH_MODULE(GPTNeo);

}  // namespace monoroute::model

#endif  // MONOROUTE_COMMON_MODEL_GPT_NEO_H_
