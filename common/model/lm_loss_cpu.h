// Internal to common/model: the fused CPU LM head + cross-entropy (fp32, AVX2 or AVX-512 tile
// kernels from lm_loss_kernels.h), called by FusedLmLoss (lm_loss.cc).
//
// Two passes over W, nothing of size [N, V] in memory: pass 1 computes logit tiles in registers
// and keeps per-token online softmax statistics (max, sum of exp); pass 2 recomputes each tile,
// forms G = softmax / N - onehot / N in an L1 buffer and accumulates G W (grad hidden) and G^T h
// (grad W). W is packed once per call. The vocabulary is split into a fixed number of parts (not
// depending on the thread count) that threads take from a shared counter; each part writes its
// own statistics and grad-hidden partials, reduced in part order, and owns its grad-W rows: the
// result is bit-for-bit the same for any thread count and timing (given the same kernels).
#ifndef MONOROUTE_COMMON_MODEL_LM_LOSS_CPU_H_
#define MONOROUTE_COMMON_MODEL_LM_LOSS_CPU_H_

#include <torch/torch.h>

#include "common/model/cpu_isa.h"
#include "common/model/lm_loss_kernels.h"

namespace monoroute::model {

// The fused kernels for `isa` (avx512 or avx2 on x86-64), else nullptr. Thread-safe.
const lm_kernels::Kernels* FusedLmKernelsFor(CpuIsa isa);

// Sum over rows of -log softmax(hidden W^T)[row, labels[row]], as a double. hidden [n, H] and
// weight [V, H] contiguous fp32 CPU, labels [n] int64 in [0, V), n >= 1 (only counted rows).
// When defined, *grad_hidden [n, H] and *grad_weight [V, H] (contiguous fp32) are overwritten
// with the gradients of the mean loss (sum / n). Uses ATen's intra-op threads.
double FusedCpuLmLoss(const lm_kernels::Kernels& kernels, const torch::Tensor& hidden,
                      const torch::Tensor& weight, const torch::Tensor& labels,
                      torch::Tensor* grad_hidden, torch::Tensor* grad_weight);

}  // namespace monoroute::model

#endif  // MONOROUTE_COMMON_MODEL_LM_LOSS_CPU_H_
