// CpuAttention: row-at-a-time causal attention, forward keeps only the log-sum-exp per row;
// backward recomputes the probabilities. Loops are written over contiguous key ranges with
// `omp simd` so the compiler vectorises them; the kernels (cpu_attention_kernels.inc) are compiled
// for AVX2 (also used on the AVX-512 path: measured faster there, see KernelsFor) and baseline
// x86-64 and picked per call from ActiveCpuIsa() (cpu_isa.h), so the binary still runs on CPUs
// without AVX2 and each path can be forced and tested.
#include "common/model/cpu_attention.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <vector>

#include "common/model/cpu_isa.h"
#include "common/model/vec_math.h"

namespace monoroute::model {
namespace {

constexpr int64_t kMaxHeadDim = 64;
std::atomic<bool> g_enabled{true};

// Row i attends keys [lo, i].
MONOROUTE_ALWAYS_INLINE inline int64_t RowStart(int64_t i, int64_t window) {
  return window > 0 ? std::max<int64_t>(0, i - window + 1) : 0;
}

// [T, D] -> [D, T].
MONOROUTE_ALWAYS_INLINE inline void Transpose(const float* src, int64_t t, int64_t d, float* dst) {
  for (int64_t j = 0; j < t; ++j) {
    for (int64_t c = 0; c < d; ++c) dst[c * t + j] = src[j * d + c];
  }
}

// Scores of query row `qi` against keys [lo, lo + len) of kT ([D, T]), into s[0, len).
MONOROUTE_ALWAYS_INLINE inline void Scores(const float* qi, const float* kT, int64_t t, int64_t d,
                                           int64_t lo, int64_t len, float* s) {
  std::fill(s, s + len, 0.0f);
  for (int64_t c = 0; c < d; ++c) {
    const float qc = qi[c];
    const float* kc = kT + c * t + lo;
#pragma omp simd
    for (int64_t j = 0; j < len; ++j) s[j] += qc * kc[j];
  }
}

// One copy of the kernels per ISA (vec_math.h); KernelsFor picks one per call. The AVX-512 path
// runs the AVX2 copy: compiled for x86-64-v4 these loops (a few to 128 keys per row at head_dim
// 4) were 30% slower with 512-bit vectors and 6% slower with AVX-512VL 256-bit ones than the
// x86-64-v3 copy on AMD Zen 4 (perf samples of `bench train --threads 1 --routed`, 2 runs each;
// docs/model.md, "CPU performance"), so no AVX-512 copy is built.
namespace generic {
#define MONOROUTE_KERNEL_TARGET
#include "common/model/cpu_attention_kernels.inc"
#undef MONOROUTE_KERNEL_TARGET
}  // namespace generic
#if MONOROUTE_X86_KERNELS
namespace avx2 {
#define MONOROUTE_KERNEL_TARGET MONOROUTE_TARGET_AVX2
#include "common/model/cpu_attention_kernels.inc"
#undef MONOROUTE_KERNEL_TARGET
}  // namespace avx2
#endif

struct Kernels {
  decltype(&generic::ForwardOne) forward;
  decltype(&generic::BackwardOne) backward;
};

Kernels KernelsFor(CpuIsa isa) {
#if MONOROUTE_X86_KERNELS
  if (isa >= CpuIsa::kAvx2) return {&avx2::ForwardOne, &avx2::BackwardOne};
#endif
  (void)isa;
  return {&generic::ForwardOne, &generic::BackwardOne};
}

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

class CpuAttentionFn : public torch::autograd::Function<CpuAttentionFn> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, torch::Tensor q, torch::Tensor k,
                               torch::Tensor v, int64_t window) {
    q = q.contiguous();
    k = k.contiguous();
    v = v.contiguous();
    const int64_t n = q.size(0), t = q.size(1), d = q.size(2);
    torch::Tensor y = torch::empty_like(q);
    torch::Tensor lse = torch::empty({n, t}, q.options());
    const float* qp = q.data_ptr<float>();
    const float* kp = k.data_ptr<float>();
    const float* vp = v.data_ptr<float>();
    float* yp = y.data_ptr<float>();
    float* lp = lse.data_ptr<float>();
    const Kernels kernels = KernelsFor(ActiveCpuIsa());
    at::parallel_for(0, n, 1, [&](int64_t b0, int64_t b1) {
      std::vector<float> scratch(static_cast<size_t>(2 * d * t + t));
      float* kT = scratch.data();
      float* vT = kT + d * t;
      float* s = vT + d * t;
      for (int64_t b = b0; b < b1; ++b) {
        const int64_t o = b * t * d;
        kernels.forward(qp + o, kp + o, vp + o, t, d, window, yp + o, lp + b * t, kT, vT, s);
      }
    });
    ctx->save_for_backward({q, k, v, y, lse});
    ctx->saved_data["window"] = window;
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const variable_list saved = ctx->get_saved_variables();
    const torch::Tensor &q = saved[0], &k = saved[1], &v = saved[2], &y = saved[3], &lse = saved[4];
    const int64_t window = ctx->saved_data["window"].toInt();
    torch::Tensor dy = grad_outputs[0].to(torch::kFloat).contiguous();
    const int64_t n = q.size(0), t = q.size(1), d = q.size(2);
    torch::Tensor dq = torch::empty_like(q), dk = torch::empty_like(k), dv = torch::empty_like(v);
    const float *qp = q.data_ptr<float>(), *kp = k.data_ptr<float>(), *vp = v.data_ptr<float>(),
                *yp = y.data_ptr<float>(), *dyp = dy.data_ptr<float>(), *lp = lse.data_ptr<float>();
    float *dqp = dq.data_ptr<float>(), *dkp = dk.data_ptr<float>(), *dvp = dv.data_ptr<float>();
    const Kernels kernels = KernelsFor(ActiveCpuIsa());
    at::parallel_for(0, n, 1, [&](int64_t b0, int64_t b1) {
      std::vector<float> scratch(static_cast<size_t>(4 * d * t + 2 * t));
      float* kT = scratch.data();
      float* vT = kT + d * t;
      float* dkT = vT + d * t;
      float* dvT = dkT + d * t;
      float* p = dvT + d * t;
      float* ds = p + t;
      for (int64_t b = b0; b < b1; ++b) {
        const int64_t o = b * t * d;
        kernels.backward(qp + o, kp + o, vp + o, yp + o, dyp + o, lp + b * t, t, d, window, dqp + o,
                         dkp + o, dvp + o, kT, vT, dkT, dvT, p, ds);
      }
    });
    return {dq, dk, dv, torch::Tensor()};
  }
};

}  // namespace

void SetCpuAttentionEnabled(bool enabled) { g_enabled.store(enabled); }

bool CpuAttentionSupported(const torch::Tensor& q) {
  return g_enabled.load() && q.device().is_cpu() && q.scalar_type() == torch::kFloat &&
         q.dim() == 3 && q.size(2) <= kMaxHeadDim;
}

torch::Tensor CpuAttention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                           int64_t window) {
  TORCH_CHECK(CpuAttentionSupported(q), "CpuAttention: CPU fp32 [N, T, D<=", kMaxHeadDim,
              "] expected, got ", q.sizes(), " ", q.scalar_type());
  TORCH_CHECK(k.sizes() == q.sizes() && v.sizes() == q.sizes(),
              "CpuAttention: q, k, v shapes differ: ", q.sizes(), k.sizes(), v.sizes());
  TORCH_CHECK(k.scalar_type() == torch::kFloat && v.scalar_type() == torch::kFloat,
              "CpuAttention: k and v must be fp32");
  return CpuAttentionFn::apply(q, k, v, window);
}

}  // namespace monoroute::model
