// Internal to common/model: small branch-free float helpers that vectorise inside `omp simd`
// loops, and the target attributes of the per-ISA kernel copies. Not a public API.
#ifndef MONOROUTE_COMMON_MODEL_VEC_MATH_H_
#define MONOROUTE_COMMON_MODEL_VEC_MATH_H_

#include <cstdint>
#include <cstring>

// Kernels written as plain loops are compiled several times in their own file: without a target
// attribute (baseline x86-64, or any other architecture), for x86-64-v3 (AVX2, FMA) and, where it
// measured faster, for x86-64-v4 (AVX-512 F/BW/VL/DQ/CD, 512-bit vectors preferred: the row exp;
// not the attention, see cpu_attention.cc); cpu_isa.h's ActiveCpuIsa() picks the copy at run time.
// Function attributes rather than per-file -m flags: inline helpers shared with other files are
// never emitted with AVX-512 instructions.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define MONOROUTE_X86_KERNELS 1
#define MONOROUTE_TARGET_AVX2 __attribute__((target("arch=x86-64-v3")))
#define MONOROUTE_TARGET_AVX512 __attribute__((target("arch=x86-64-v4,prefer-vector-width=512")))
#elif defined(__x86_64__) && defined(__clang__)
#define MONOROUTE_X86_KERNELS 1
#define MONOROUTE_TARGET_AVX2 __attribute__((target("avx2,fma,bmi,bmi2,f16c")))
#define MONOROUTE_TARGET_AVX512 \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512cd,avx2,fma,bmi,bmi2,f16c")))
#else
#define MONOROUTE_X86_KERNELS 0
#endif
#define MONOROUTE_ALWAYS_INLINE __attribute__((always_inline))

namespace monoroute::model::vec {

// exp(x) for x <= 0, branch-free so that loops over it vectorise: Cephes' expf range reduction
// and polynomial (relative error below 2e-7); inputs below -87 give exp(-87) ~ 1.6e-38 instead of
// a denormal or 0, which no softmax row can tell apart.
MONOROUTE_ALWAYS_INLINE inline float ExpNonPositive(float x) {
  x = x < -87.0f ? -87.0f : x;
  const float t = x * 1.44269504088896341f;
  const int32_t n = static_cast<int32_t>(t - 0.5f);  // t <= 0: round to nearest
  const float nf = static_cast<float>(n);
  const float r = (x - nf * 0.693359375f) - nf * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float e = p * r * r + r + 1.0f;
  const int32_t bits = (n + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return e * scale;
}

// s[j] = exp(s[j] - m) for j < len (len >= 1), with m = max_j s[j]; *max = m, *sum = sum_j s[j].
// Two passes; both vectorise in a kernel compiled with -fno-trapping-math.
MONOROUTE_ALWAYS_INLINE inline void ExpMinusMaxInPlace(float* s, int64_t len, float* max,
                                                       float* sum) {
  float m = s[0];
#pragma omp simd reduction(max : m)
  for (int64_t j = 0; j < len; ++j) m = s[j] > m ? s[j] : m;
  float l = 0.0f;
#pragma omp simd reduction(+ : l)
  for (int64_t j = 0; j < len; ++j) {
    s[j] = ExpNonPositive(s[j] - m);
    l += s[j];
  }
  *max = m;
  *sum = l;
}

}  // namespace monoroute::model::vec

#endif  // MONOROUTE_COMMON_MODEL_VEC_MATH_H_
