// CausalLM: the one model interface behind which GPT-Neo, GPT-NeoX (Pythia) and GPT-2 sit,
// Hugging Face-exact in LibTorch, with optional pathway routing of any family's MLP. Module tree
// mirrors HF names, so named_parameters() are the HF state-dict keys, e.g.
// "transformer.h.0.attn.attention.q_proj.weight" or "gpt_neox.layers.0.attention.dense.weight"
// (routers: "<block>.mlp.router.*").
#ifndef MONOROUTE_COMMON_MODEL_CAUSAL_LM_H_
#define MONOROUTE_COMMON_MODEL_CAUSAL_LM_H_

#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "common/model/attention.h"
#include "common/model/model_config.h"
#include "common/model/pathway_router.h"
#include "common/model/routed_mlp.h"
#include "common/model/routing_config.h"

namespace monoroute::model {

// What CausalLM::forward computes and returns.
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

// Result of CausalLM::forward. Tensors are on the model's device.
struct ForwardOutput {
  // final LayerNorm output [B, T, H] (fp32).
  torch::Tensor final_norm;
  // [B, T, V] fp32 when ForwardOptions::return_logits.
  torch::Tensor logits;
  // wte(ids) (+ wpe(pos) where the family has learned positions) [B, T, H] when
  // return_block_outputs.
  torch::Tensor embeddings;
  // Output of each block [B, T, H] when return_block_outputs.
  std::vector<torch::Tensor> block_outputs;
  // One entry per routed layer (or probed layer, see DenseSliceProbe), ascending layer order,
  // when return_routing.
  std::vector<RoutingInfo> routing;
};

// One transformer block of any family: pre-LN attention and MLP, sequential
// (x + attn(ln_1(x)), then + mlp(ln_2(.))) or GPT-NeoX's parallel residual
// (x + attn(ln_1(x)) + mlp(ln_2(x))). The MLP is dense (DenseMLP) or routed (RoutedMLP),
// registered as "mlp" either way; the LayerNorms and the attention under the family's names
// (GPT-Neo: ln_1, attn.attention, ln_2; GPT-2: ln_1, attn, ln_2; GPT-NeoX: input_layernorm,
// attention, post_attention_layernorm). Not thread-safe.
class BlockImpl : public torch::nn::Module {
 public:
  BlockImpl(const ModelConfig& config, int64_t layer);
  // Returns the block output; when routed, fills *routing (if non-null). With `slices` (may be
  // null; see ForwardOptions::DenseSliceProbe) the MLP runs densely and *routing gets the slice
  // pseudo-routing.
  torch::Tensor forward(const torch::Tensor& x, RoutingInfo* routing,
                        torch::Dtype compute_dtype = torch::kFloat,
                        const ForwardOptions::DenseSliceProbe* slices = nullptr);
  // Replaces the dense MLP with a RoutedMLP holding the same up / down projection weights.
  void MakeRouted(const RoutedMLPOptions& options);
  bool routed() const { return !routed_mlp.is_empty(); }
  // HF init of the LayerNorms, attention and MLP projections (routers untouched).
  void InitWeights(double std);

  torch::nn::LayerNorm ln_1{nullptr}, ln_2{nullptr};  // before attention / before the MLP
  std::shared_ptr<AttentionImpl> attention;           // the family's attention
  DenseMLP dense_mlp{nullptr};                        // set when dense
  RoutedMLP routed_mlp{nullptr};                      // set when routed

 private:
  // The MLP's output for ln_2's output n2 (dense, routed or dense-slice probe).
  torch::Tensor Mlp(const torch::Tensor& n2, RoutingInfo* routing, torch::Dtype dt,
                    const ForwardOptions::DenseSliceProbe* slices);
  int64_t layer_;
  bool parallel_residual_;
};
TORCH_MODULE(Block);

// A causal LM of any supported family (config.family), HF-exact. Module tree mirrors HF, so
// named_parameters() are the HF keys: GPT-Neo / GPT-2 "transformer.{wte,wpe,h.{i},ln_f}" with
// the LM head tied to wte; GPT-NeoX "gpt_neox.{embed_in,layers.{i},final_layer_norm}" and an
// untied "embed_out" (GPT-2's Conv1D weights are held as nn.Linear [out, in]; checkpoint I/O
// transposes them). Routers: "<block>.mlp.router.*". CPU or CUDA.
// Not thread-safe; one forward/backward at a time.
class CausalLMImpl : public torch::nn::Module {
 public:
  // A dense model; with `routing` (validated by the caller or by Create()), a routed one.
  // Parameters get HF's default init (see InitWeights) unless loaded afterwards.
  explicit CausalLMImpl(const ModelConfig& config,
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

  const ModelConfig& config() const { return config_; }
  const std::optional<RoutingConfig>& routing() const { return routing_; }
  // Routed layer indices (empty when dense).
  std::vector<int64_t> routed_layers() const;
  // The router of routed layer `layer` (nullptr-holder if that layer is not routed).
  PathwayRouter router(int64_t layer) const;
  // Router parameters only / everything else (for "train only routers").
  std::vector<torch::Tensor> router_parameters() const;
  std::vector<torch::Tensor> base_parameters() const;
  // The LM head weight [V, H]: the token embedding when tied, else embed_out's.
  torch::Tensor lm_head_weight() const {
    return lm_head.is_empty() ? wte->weight : lm_head->weight;
  }

  std::shared_ptr<torch::nn::Module> transformer;  // "transformer" / "gpt_neox"
  torch::nn::Embedding wte{nullptr};               // token embedding ("wte" / "embed_in")
  torch::nn::Embedding wpe{nullptr};               // learned positions (null for GPT-NeoX)
  torch::nn::ModuleList h{nullptr};                // blocks ("h" / "layers")
  std::vector<Block> blocks;
  torch::nn::LayerNorm ln_f{nullptr};  // final norm ("ln_f" / "final_layer_norm")
  torch::nn::Linear lm_head{nullptr};  // untied head ("embed_out", GPT-NeoX), else null

 private:
  ModelConfig config_;
  std::optional<RoutingConfig> routing_;
};
TORCH_MODULE(CausalLM);

// The MLP options of `config`'s family (sizes, activation, module names).
MLPOptions MlpOptionsFor(const ModelConfig& config);

}  // namespace monoroute::model

#endif  // MONOROUTE_COMMON_MODEL_CAUSAL_LM_H_
