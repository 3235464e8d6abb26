// Fused LM head + cross-entropy over a tied embedding: never materialises the full [N, V]
// log-softmax. The loss and the gradients w.r.t. h and W (softmax - onehot) are computed in the
// forward pass; backward only scales them by the incoming gradient. On the CPU in fp32 with AVX2
// or AVX-512, a two-pass tile kernel (lm_loss_cpu.h) keeps the logits in registers; otherwise
// chunk by chunk: logits = h W^T, the log-sum-exp and the loss, then the gradients. Equal to
// torch cross_entropy(h W^T, labels) (mean over non-ignored labels) to float rounding, values and
// gradients.
#ifndef MONOROUTE_COMMON_MODEL_LM_LOSS_H_
#define MONOROUTE_COMMON_MODEL_LM_LOSS_H_

#include <torch/torch.h>

#include <cstdint>

namespace monoroute::model {

// Which CPU kernel computes the fp32 loss on the CPU.
enum class CpuLmKernel {
  kAuto,   // fused when the CPU has AVX2 or AVX-512 (cpu_isa.h) and the hidden size is one where
           // it was measured faster than OpenBLAS (docs/model.md, "CPU performance"); else BLAS
  kFused,  // fused two-pass tile kernels (lm_loss_cpu.h) whenever the CPU has AVX2 or AVX-512
  kBlas,   // OpenBLAS sgemm per 128-token block + vectorised row exp
};

// Options of the fused LM loss.
struct LmLossOptions {
  // Tokens per chunk (0 = automatic: 128-token blocks per thread on the CPU with single-threaded
  // BLAS, else 2048 on CPU and 8192 on CUDA; see docs/model.md).
  int64_t chunk_tokens = 0;
  // Labels equal to this are ignored (torch's default -100).
  int64_t ignore_index = -100;
  // Matmul dtype (kFloat, or kBFloat16 on CUDA); softmax and accumulation stay fp32.
  torch::Dtype compute_dtype = torch::kFloat;
  // CPU fp32 kernel (ignored on other devices and dtypes; chunk_tokens applies to kBlas only).
  CpuLmKernel cpu_kernel = CpuLmKernel::kAuto;
};

// The kernel FusedLmLoss uses on the CPU for fp32 operands of this hidden size under `options`
// and the active CPU path: "fused-avx512", "fused-avx2", "blas-blocked" (single-threaded BLAS)
// or "blas-chunked". For benchmarks and logs. Thread-safe.
const char* CpuLmLossKernelName(int64_t hidden_size, const LmLossOptions& options = {});

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
