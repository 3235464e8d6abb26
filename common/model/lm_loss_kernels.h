// Internal to common/model: the per-ISA tile kernels of the fused CPU LM loss (lm_loss_cpu.cc
// drives them). Each ISA's kernels live in their own file (lm_loss_avx512.cc, lm_loss_avx2.cc),
// compiled from lm_loss_tiles.inc with that ISA's target attributes; a getter returns nullptr
// where the ISA is not compiled in (non-x86 builds).
//
// Layouts (all fp32, hidden padded with zeros to `ld` = a multiple of the vector width):
//   hp  [n_pad, ld]           hidden rows of the counted tokens (rows >= n are zero)
//   wt  [tiles, ld, nr]       W packed per tile of `nr` vocabulary rows, k-major (zero padded)
//   wr  [v, ld]               W row-major (the model's own tensor when ld == hidden)
//   gw  [v, ld]               grad W; the last tile when partial goes to gw_tail [nr, ld]
// A "part" is a range of tiles; one task computes one part for a range of tokens.
#ifndef MONOROUTE_COMMON_MODEL_LM_LOSS_KERNELS_H_
#define MONOROUTE_COMMON_MODEL_LM_LOSS_KERNELS_H_

#include <cstdint>

namespace monoroute::model::lm_kernels {

// Read-only problem description shared by all tasks of one call.
struct Tiles {
  const float* hp = nullptr;   // packed hidden [n_pad, ld]
  const float* wt = nullptr;   // packed W panels [tiles, ld, nr]
  const float* wr = nullptr;   // W rows [v, ld]
  const float* m = nullptr;    // [n_pad] row max logit (pass 2)
  const float* d = nullptr;    // [n_pad] log(sum exp(logit - m)) - log(scale), so that
                               // G = exp((logit - m) - d): the max's own term is exact
  const int64_t* y = nullptr;  // [n_pad] target ids (-1 for padding rows)
  float* gw = nullptr;         // grad W rows [v, ld] (pass 2, need_w)
  float* gw_tail = nullptr;    // [nr, ld] grad W of the last tile when v % nr != 0
  int64_t ld = 0;              // padded hidden size (row stride of hp, wr, gw, gh)
  int64_t v = 0;               // vocabulary size
  float scale = 0.0f;          // 1 / counted tokens (the onehot term of G)
  bool need_h = false;         // pass 2 accumulates grad hidden
  bool need_w = false;         // pass 2 accumulates grad W
};

// Pass 1: for tokens [i0, i1) (i1 - i0 a multiple of mr) and tiles [t0, t1): m[i] = max logit,
// s[i] = sum exp(logit - m[i]) over the tiles' columns. `scratch` holds (i1 - i0) * (lanes + 1)
// floats.
using StatsFn = void (*)(const Tiles& p, int64_t t0, int64_t t1, int64_t i0, int64_t i1, float* m,
                         float* s, float* scratch);

// Pass 2: for tokens [i0, i1) and tiles [t0, t1), with G = softmax * scale - scale * onehot(y):
// gh[(i - gh_row0) * ld ...] (+)= G W over the tiles (the first tile, t0, overwrites) and the
// tiles' grad W rows += G^T hp (zeroed first when `first_block`).
using GradsFn = void (*)(const Tiles& p, int64_t t0, int64_t t1, int64_t i0, int64_t i1, float* gh,
                         int64_t gh_row0, bool first_block);

// One ISA's kernels and their tile shape.
struct Kernels {
  const char* isa;  // "avx512" or "avx2"
  int lanes;        // floats per vector: ld is a multiple
  int nr;           // vocabulary rows per tile
  int mr;           // token rows per micro-tile: n is padded to a multiple
  StatsFn stats;
  GradsFn grads;
};

// nullptr when not compiled for this architecture. The caller checks the CPU (cpu_isa.h).
const Kernels* Avx512Kernels();
const Kernels* Avx2Kernels();

}  // namespace monoroute::model::lm_kernels

#endif  // MONOROUTE_COMMON_MODEL_LM_LOSS_KERNELS_H_
