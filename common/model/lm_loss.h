// Fused, chunked LM head + cross-entropy over a tied embedding: never materialises the full
// [N, V] log-softmax. Forward computes, chunk by chunk, logits = h W^T, the log-sum-exp and the
// loss, and at the same time the gradients w.r.t. h and W (softmax - onehot); backward only scales
// them by the incoming gradient. Equal to torch cross_entropy(h W^T, labels) (mean over
// non-ignored labels) to float rounding, values and gradients.
#ifndef MONOROUTE_COMMON_MODEL_LM_LOSS_H_
#define MONOROUTE_COMMON_MODEL_LM_LOSS_H_

#include <torch/torch.h>

#include <cstdint>

namespace monoroute::model {

// Options of the fused LM loss.
struct LmLossOptions {
  // Tokens per chunk (0 = automatic: 128-token blocks per thread on the CPU with single-threaded
  // BLAS, else 2048 on CPU and 8192 on CUDA; see docs/model.md).
  int64_t chunk_tokens = 0;
  // Labels equal to this are ignored (torch's default -100).
  int64_t ignore_index = -100;
  // Matmul dtype (kFloat, or kBFloat16 on CUDA); softmax and accumulation stay fp32.
  torch::Dtype compute_dtype = torch::kFloat;
};

// Mean cross-entropy of logits = hidden [N, H] x weight [V, H]^T against labels [N] int64.
// Differentiable w.r.t. hidden and weight (either may not require grad). Thread-compatible.
torch::Tensor FusedLmLoss(const torch::Tensor& hidden, const torch::Tensor& weight,
                          const torch::Tensor& labels, const LmLossOptions& options = {});

// Causal-LM loss as HF computes it: predict input_ids[:, t+1] from hidden[:, t].
// hidden [B, T, H], input_ids [B, T].
torch::Tensor CausalLmLoss(const torch::Tensor& hidden, const torch::Tensor& weight,
                           const torch::Tensor& input_ids, const LmLossOptions& options = {});

// Reference (unfused) loss with torch's cross_entropy, for tests and benchmarks.
torch::Tensor ReferenceLmLoss(const torch::Tensor& hidden, const torch::Tensor& weight,
                              const torch::Tensor& labels);

}  // namespace monoroute::model

#endif  // MONOROUTE_COMMON_MODEL_LM_LOSS_H_
