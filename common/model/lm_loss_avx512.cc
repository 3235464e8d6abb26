// AVX-512 (F/BW/VL/DQ) tile kernels of the fused CPU LM loss: lm_loss_tiles.inc over 16-lane
// vectors. Compiled with a target region (not whole-file -m flags), so only these functions use
// AVX-512; they run only when cpu_isa.h reports the CPU supports it.
#include "common/model/lm_loss_kernels.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#define MONOROUTE_LM_KERNELS_TARGET "avx512f,avx512bw,avx512vl,avx512dq,avx512cd,avx2,fma,bmi,bmi2"
#include "common/model/lm_loss_isa_begin.inc"

// 16-lane vectors; 32 registers: a 12 x 32 logit tile (24 accumulators), 6 x 64 and 4 x 64
// grad tiles (24 and 16 accumulators).
struct V {
  using R = __m512;
  using M = __mmask16;
  static constexpr int kLanes = 16;
  static constexpr int kNV = 2;
  static constexpr int kMR = 12;
  static constexpr int kMC = 6;
  static constexpr int kMD = 4;
  static constexpr int kHVC = 4;
  static constexpr int kMt = 96;

#define MONOROUTE_LM_PS(op) _mm512_##op##_ps
#include "common/model/lm_loss_vec_ops.inc"
#undef MONOROUTE_LM_PS
  static inline float HSum(R x) { return _mm512_reduce_add_ps(x); }
  static inline float HMax(R x) { return _mm512_reduce_max_ps(x); }
  static inline bool AnyGreater(R a, R b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ) != 0; }
  static inline M LaneMask(int count) {
    return static_cast<M>(count >= 16 ? 0xFFFFu : ((1u << count) - 1u));
  }
  static inline R Select(M m, R a, R b) { return _mm512_mask_blend_ps(m, b, a); }

  // The pieces of lm_loss_tiles.inc's Exp: a >= b (true for NaN), rounding to the nearest
  // integer, and e * 2^n for an integral n (vscalefps).
  static inline M NotLess(R a, R b) { return _mm512_cmp_ps_mask(a, b, _CMP_NLT_UQ); }
  static inline R Round(R x) {
    return _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  static inline R ScalePow2(R e, R n) { return _mm512_scalef_ps(e, n); }
};

#define MONOROUTE_LM_KERNELS_FN Avx512Kernels
#define MONOROUTE_LM_KERNELS_NAME "avx512"
#include "common/model/lm_loss_isa_end.inc"

#endif  // x86-64 (elsewhere lm_loss_cpu.cc defines the getter, returning nullptr)
