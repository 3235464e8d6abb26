// Fused causal softmax attention for the CPU, for GPT-Neo's small heads (head_dim 4 at
// TinyStories-1M): never materialises the [B*nh, T, T] scores.
//
// The explicit path (baddbmm + softmax + bmm, and their backward) spends most of its time moving
// [B*nh, T, T] tensors and in batched GEMMs with an inner dimension of 4, which BLAS handles badly.
// Here each (sequence, head) is one task on ATen's thread pool: per query row the scores, the
// softmax and the weighted sum of values are computed in small per-thread buffers (vectorised
// over keys), and only the row's log-sum-exp is kept for the backward pass, which recomputes the
// probabilities (as flash attention does). Scores are unscaled (GPT-Neo), fp32 throughout.
#ifndef MONOROUTE_COMMON_MODEL_CPU_ATTENTION_H_
#define MONOROUTE_COMMON_MODEL_CPU_ATTENTION_H_

#include <torch/torch.h>

#include <cstdint>

namespace monoroute::model {

// True when CpuAttention handles these inputs (CPU fp32 tensors of at most 64 features per head)
// and it is enabled. Thread-safe.
bool CpuAttentionSupported(const torch::Tensor& q);

// Process-wide switch (default on) so benchmarks and tests can compare against the explicit
// ATen path, which GPTNeo uses whenever this is off or unsupported. Thread-safe.
void SetCpuAttentionEnabled(bool enabled);

// y[n, i] = sum_j softmax_j(q[n, i] . k[n, j]) v[n, j] over keys j <= i, and j > i - window when
// window > 0 (GPT-Neo local attention). q, k, v: [N, T, D] fp32 (N = batch * heads).
// Differentiable w.r.t. q, k and v. Thread-compatible (uses ATen's pool internally).
torch::Tensor CpuAttention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                           int64_t window = 0);

}  // namespace monoroute::model

#endif  // MONOROUTE_COMMON_MODEL_CPU_ATTENTION_H_
