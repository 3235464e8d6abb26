// CpuAttention: row-at-a-time causal attention, forward keeps only the log-sum-exp per row;
// backward recomputes the probabilities. Loops are written over contiguous key ranges with
// `omp simd` so the compiler vectorises them; the kernels are cloned for x86-64-v3 (AVX2, FMA) and
// a baseline x86-64 target (picked at load time), so the binary still runs on CPUs without AVX2.
#include "common/model/cpu_attention.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <vector>

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

// One (sequence, head): y [T, D] and lse [T] from q, k, v [T, D]. Scratch: kT, vT [D*T], s [T].
MONOROUTE_KERNEL_CLONES
void ForwardOne(const float* q, const float* k, const float* v, int64_t t, int64_t d,
                int64_t window, float* y, float* lse, float* kT, float* vT, float* s) {
  Transpose(k, t, d, kT);
  Transpose(v, t, d, vT);
  for (int64_t i = 0; i < t; ++i) {
    const int64_t lo = RowStart(i, window), len = i - lo + 1;
    Scores(q + i * d, kT, t, d, lo, len, s);
    float m, l;
    vec::ExpMinusMaxInPlace(s, len, &m, &l);
    const float inv = 1.0f / l;
    for (int64_t c = 0; c < d; ++c) {
      const float* vc = vT + c * t + lo;
      float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
      for (int64_t j = 0; j < len; ++j) acc += s[j] * vc[j];
      y[i * d + c] = acc * inv;
    }
    lse[i] = m + std::log(l);
  }
}

// One (sequence, head) backward: dq, dk, dv [T, D] from q, k, v, y, dy [T, D] and lse [T].
// Scratch: kT, vT, dkT, dvT [D*T], p, ds [T].
MONOROUTE_KERNEL_CLONES
void BackwardOne(const float* q, const float* k, const float* v, const float* y, const float* dy,
                 const float* lse, int64_t t, int64_t d, int64_t window, float* dq, float* dk,
                 float* dv, float* kT, float* vT, float* dkT, float* dvT, float* p, float* ds) {
  Transpose(k, t, d, kT);
  Transpose(v, t, d, vT);
  std::fill(dkT, dkT + d * t, 0.0f);
  std::fill(dvT, dvT + d * t, 0.0f);
  for (int64_t i = 0; i < t; ++i) {
    const int64_t lo = RowStart(i, window), len = i - lo + 1;
    const float* qi = q + i * d;
    const float* dyi = dy + i * d;
    Scores(qi, kT, t, d, lo, len, p);
    const float li = lse[i];
#pragma omp simd
    for (int64_t j = 0; j < len; ++j) p[j] = vec::ExpNonPositive(p[j] - li);
    // dp_j = dy_i . v_j; D_i = dy_i . y_i; ds_j = p_j (dp_j - D_i).
    std::fill(ds, ds + len, 0.0f);
    float di = 0.0f;
    for (int64_t c = 0; c < d; ++c) {
      const float g = dyi[c];
      di += g * y[i * d + c];
      const float* vc = vT + c * t + lo;
#pragma omp simd
      for (int64_t j = 0; j < len; ++j) ds[j] += g * vc[j];
    }
#pragma omp simd
    for (int64_t j = 0; j < len; ++j) ds[j] = p[j] * (ds[j] - di);
    for (int64_t c = 0; c < d; ++c) {
      const float* kc = kT + c * t + lo;
      float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
      for (int64_t j = 0; j < len; ++j) acc += ds[j] * kc[j];
      dq[i * d + c] = acc;
      const float qc = qi[c], g = dyi[c];
      float* dkc = dkT + c * t + lo;
      float* dvc = dvT + c * t + lo;
#pragma omp simd
      for (int64_t j = 0; j < len; ++j) {
        dkc[j] += ds[j] * qc;
        dvc[j] += p[j] * g;
      }
    }
  }
  for (int64_t j = 0; j < t; ++j) {
    for (int64_t c = 0; c < d; ++c) {
      dk[j * d + c] = dkT[c * t + j];
      dv[j * d + c] = dvT[c * t + j];
    }
  }
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
    at::parallel_for(0, n, 1, [&](int64_t b0, int64_t b1) {
      std::vector<float> scratch(static_cast<size_t>(2 * d * t + t));
      float* kT = scratch.data();
      float* vT = kT + d * t;
      float* s = vT + d * t;
      for (int64_t b = b0; b < b1; ++b) {
        const int64_t o = b * t * d;
        ForwardOne(qp + o, kp + o, vp + o, t, d, window, yp + o, lp + b * t, kT, vT, s);
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
        BackwardOne(qp + o, kp + o, vp + o, yp + o, dyp + o, lp + b * t, t, d, window, dqp + o,
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
