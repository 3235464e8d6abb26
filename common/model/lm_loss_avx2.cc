// AVX2 + FMA tile kernels of the fused CPU LM loss: lm_loss_tiles.inc over 8-lane vectors.
// Compiled with a target region (not whole-file -m flags); run only when cpu_isa.h reports AVX2.
#include "common/model/lm_loss_kernels.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#define MONOROUTE_LM_KERNELS_TARGET "avx2,fma,bmi,bmi2"
#include "common/model/lm_loss_isa_begin.inc"

// 8-lane vectors; 16 registers: a 6 x 16 logit tile (12 accumulators), 3 x 32 and 4 x 32 grad
// tiles (12 accumulators each).
struct V {
  using R = __m256;
  using M = __m256;  // all-ones lanes
  static constexpr int kLanes = 8;
  static constexpr int kNV = 2;
  static constexpr int kMR = 6;
  static constexpr int kMC = 3;
  static constexpr int kMD = 4;
  static constexpr int kHVC = 4;
  static constexpr int kMt = 96;

#define MONOROUTE_LM_PS(op) _mm256_##op##_ps
#include "common/model/lm_loss_vec_ops.inc"
#undef MONOROUTE_LM_PS
  static inline float HSum(R x) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static inline float HMax(R x) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static inline bool AnyGreater(R a, R b) {
    return _mm256_movemask_ps(_mm256_cmp_ps(a, b, _CMP_GT_OQ)) != 0;
  }
  static inline M LaneMask(int count) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(count), lane));
  }
  static inline R Select(M m, R a, R b) { return _mm256_blendv_ps(b, a, m); }

  // The pieces of lm_loss_tiles.inc's Exp: a >= b (true for NaN), rounding to the nearest
  // integer, and e * 2^n for an integral n in [-126, 0] (2^n via the exponent bits: a normal
  // float).
  static inline M NotLess(R a, R b) { return _mm256_cmp_ps(a, b, _CMP_NLT_UQ); }
  static inline R Round(R x) {
    return _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  static inline R ScalePow2(R e, R n) {
    const __m256i bits =
        _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(e, _mm256_castsi256_ps(bits));
  }
};

#define MONOROUTE_LM_KERNELS_FN Avx2Kernels
#define MONOROUTE_LM_KERNELS_NAME "avx2"
#include "common/model/lm_loss_isa_end.inc"

#endif  // x86-64 (elsewhere lm_loss_cpu.cc defines the getter, returning nullptr)
