// Causal self-attention of each family behind one interface (AttentionImpl): GPT-Neo (separate
// q/k/v without bias, no scaling, global or local), GPT-NeoX (fused per-head [q|k|v] with bias,
// rotary on the first rotary_ndims of each head, 1/sqrt(d)), GPT-2 (c_attn = contiguous
// [Q|K|V] blocks with bias, 1/sqrt(d)). All share one attention core (AttendHeads).
#ifndef MONOROUTE_COMMON_MODEL_ATTENTION_H_
#define MONOROUTE_COMMON_MODEL_ATTENTION_H_

#include <torch/torch.h>

#include <cstdint>
#include <memory>

#include "common/model/model_config.h"

namespace monoroute::model {

// Linear in `dt` (fp32 master weights cast per call for bf16), result back in fp32.
torch::Tensor LinearIn(const torch::nn::Linear& l, const torch::Tensor& x, torch::Dtype dt);

// Causal attention over heads: q, k, v [B, nh, T, d] (any float dtype; scores in fp32) ->
// [B, T, nh * d] fp32. `window` > 0: local attention (i - window < j <= i); `scale` multiplies
// the scores. CUDA: scaled_dot_product_attention where available; CPU fp32: the fused
// CpuAttention kernel (q pre-scaled); else explicit fp32 scores and softmax.
torch::Tensor AttendHeads(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                          int64_t window, double scale);

// One family's attention module: x [B, T, H] (fp32) -> [B, T, H] (fp32), matmuls in `dt`.
// Not thread-safe (a torch module).
class AttentionImpl : public torch::nn::Module {
 public:
  ~AttentionImpl() override = default;
  virtual torch::Tensor forward(const torch::Tensor& x, torch::Dtype dt) = 0;
  // HF init: Linear weights N(0, std), biases 0 (module order as HF's named_modules()).
  virtual void InitWeights(double std) = 0;
};

// Builds layer `layer`'s attention of `config`'s family.
std::shared_ptr<AttentionImpl> MakeAttention(const ModelConfig& config, int64_t layer);

// GPT-Neo self-attention (q/k/v without bias, out_proj with bias, no 1/sqrt(d) scaling, fp32
// scores; global or local causal mask). Registered under "attn" -> "attention".
class GPTNeoSelfAttentionImpl : public AttentionImpl {
 public:
  GPTNeoSelfAttentionImpl(const ModelConfig& config, bool local);
  torch::Tensor forward(const torch::Tensor& x, torch::Dtype dt) override;
  void InitWeights(double std) override;
  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, out_proj{nullptr};

 private:
  int64_t num_heads_;
  int64_t window_;
  bool local_;
};

// GPT-NeoX attention: query_key_value [3H, H] whose output is per head [q | k | v], rotary
// embeddings (base rotary_emb_base, NeoX's half-split rotate_half) on the first rotary_ndims dims
// of q and k, scale 1/sqrt(head_size), dense [H, H]; both with bias when attention_bias.
// Registered under "attention". The cos/sin tables are not buffers (never in a checkpoint).
class GPTNeoXAttentionImpl : public AttentionImpl {
 public:
  explicit GPTNeoXAttentionImpl(const ModelConfig& config);
  torch::Tensor forward(const torch::Tensor& x, torch::Dtype dt) override;
  void InitWeights(double std) override;
  torch::nn::Linear query_key_value{nullptr}, dense{nullptr};

 private:
  // Applies rotary embeddings to x [B, nh, T, d] (first rotary_ndims dims).
  torch::Tensor Rotate(const torch::Tensor& x);
  int64_t num_heads_;
  int64_t rotary_ndims_;
  torch::Tensor inv_freq_;   // [rotary_ndims / 2] fp32, CPU
  torch::Tensor cos_, sin_;  // [T, rotary_ndims] cached for the last (T, device)
};

// GPT-2 attention: c_attn (Conv1D [H, 3H] in checkpoints; here nn.Linear [3H, H]) whose output
// is [Q | K | V] in contiguous blocks of H, scale 1/sqrt(head_dim), c_proj. Registered under
// "attn".
class GPT2AttentionImpl : public AttentionImpl {
 public:
  explicit GPT2AttentionImpl(const ModelConfig& config);
  torch::Tensor forward(const torch::Tensor& x, torch::Dtype dt) override;
  void InitWeights(double std) override;
  torch::nn::Linear c_attn{nullptr}, c_proj{nullptr};

 private:
  int64_t num_heads_;
};

}  // namespace monoroute::model

#endif  // MONOROUTE_COMMON_MODEL_ATTENTION_H_
