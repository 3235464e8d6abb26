// FusedCpuLmLoss: packing, the split into parts, the two passes over ATen's threads, and the
// fixed-order reductions. The arithmetic is in the per-ISA tile kernels (lm_loss_tiles.inc).
#include "common/model/lm_loss_cpu.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <memory>
#include <vector>

#if !(defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)))
namespace monoroute::model::lm_kernels {
// Not x86-64: the ISA kernel files (lm_loss_avx512.cc, lm_loss_avx2.cc) compile to nothing.
const Kernels* Avx512Kernels() { return nullptr; }
const Kernels* Avx2Kernels() { return nullptr; }
}  // namespace monoroute::model::lm_kernels
#endif

namespace monoroute::model {
namespace {

// Vocabulary parts: enough for load balance on a few threads (they are taken dynamically), few
// enough that the per-part grad-hidden partials stay small. Not a function of the thread count,
// so results do not depend on it.
constexpr int64_t kMaxParts = 32;
// Bytes of grad-hidden partials (parts x rows x hidden) per super-block of rows.
constexpr int64_t kPartialBytes = int64_t{32} << 20;
// Token rows per kernel call: their hidden rows and grad partials (2 x 96 KiB at hidden 64) stay
// in L2 while the part's W tiles stream past.
constexpr int64_t kTokenBlock = 384;

int64_t RoundUp(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

// A grow-only, 64-byte aligned float buffer kept per calling thread, for the per-call packed W
// and grad-hidden partials (~30 MB at TinyStories-1M's shapes): allocating them anew each step
// cost page faults on every page (2% of a training step in perf).
class Scratch {
 public:
  float* Get(int64_t floats) {
    if (floats > size_) {
      data_.reset(static_cast<float*>(std::aligned_alloc(64, RoundUp(floats * 4, 64))));
      size_ = data_ ? floats : 0;
    }
    return data_.get();
  }

 private:
  struct Free {
    void operator()(float* p) const { std::free(p); }
  };
  std::unique_ptr<float, Free> data_;
  int64_t size_ = 0;
};

// Calls f(part, scratch) for every part in [0, parts) on ATen's threads, parts taken from a
// shared counter (so a thread slowed by other load takes fewer). Each part's output is its own,
// so the result does not depend on which thread ran it.
template <class F>
void RunParts(int64_t parts, int64_t scratch_floats, const F& f) {
  std::atomic<int64_t> next{0};
  const int64_t threads = std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), parts));
  at::parallel_for(0, threads, 1, [&](int64_t, int64_t) {
    std::vector<float> scratch(static_cast<size_t>(std::max<int64_t>(1, scratch_floats)));
    for (int64_t p = next.fetch_add(1); p < parts; p = next.fetch_add(1)) f(p, scratch.data());
  });
}

// wt[t][k][j] = w[t * nr + j][k] (0 outside [v, h)).
void PackPanels(const float* w, int64_t v, int64_t h, int64_t ld, int64_t nr, float* wt) {
  const int64_t tiles = (v + nr - 1) / nr;
  at::parallel_for(0, tiles, 64, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      float* panel = wt + t * ld * nr;
      std::fill(panel, panel + ld * nr, 0.0f);
      const int64_t j0 = t * nr, jn = std::min(nr, v - j0);
      for (int64_t j = 0; j < jn; ++j) {
        const float* row = w + (j0 + j) * h;
        for (int64_t k = 0; k < h; ++k) panel[k * nr + j] = row[k];
      }
    }
  });
}

}  // namespace

const lm_kernels::Kernels* FusedLmKernelsFor(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::kAvx512:
      return lm_kernels::Avx512Kernels();
    case CpuIsa::kAvx2:
      return lm_kernels::Avx2Kernels();
    case CpuIsa::kGeneric:
      break;
  }
  return nullptr;
}

double FusedCpuLmLoss(const lm_kernels::Kernels& k, const torch::Tensor& hidden,
                      const torch::Tensor& weight, const torch::Tensor& labels,
                      torch::Tensor* grad_hidden, torch::Tensor* grad_weight) {
  const int64_t n = hidden.size(0), h = hidden.size(1), v = weight.size(0);
  const int64_t nr = k.nr, mr = k.mr;
  const int64_t ld = RoundUp(h, k.lanes), n_pad = RoundUp(n, mr), tiles = (v + nr - 1) / nr;
  const bool need_h = grad_hidden != nullptr && grad_hidden->defined();
  const bool need_w = grad_weight != nullptr && grad_weight->defined();
  const float scale = 1.0f / static_cast<float>(n);
  const auto f32 = hidden.options().dtype(torch::kFloat);

  // Packed operands: hidden and W padded to `ld` columns (and hidden to n_pad rows) only when
  // needed; W's k-major panels always (once per call).
  torch::Tensor hp = hidden;
  if (ld != h || n_pad != n) {
    hp = torch::zeros({n_pad, ld}, f32);
    hp.narrow(0, 0, n).narrow(1, 0, h).copy_(hidden);
  }
  torch::Tensor wr = weight;
  if (ld != h) {
    wr = torch::zeros({v, ld}, f32);
    wr.narrow(1, 0, h).copy_(weight);
  }
  thread_local Scratch wt_scratch, gh_scratch;
  float* wt = wt_scratch.Get(tiles * ld * nr);
  TORCH_CHECK(wt != nullptr, "FusedCpuLmLoss: out of memory packing W");
  PackPanels(weight.data_ptr<float>(), v, h, ld, nr, wt);
  std::vector<int64_t> y(static_cast<size_t>(n_pad), -1);
  const int64_t* lab = labels.data_ptr<int64_t>();
  std::copy(lab, lab + n, y.begin());
  // Pass 2's per-row offsets (rows >= n: G = exp(-inf) = 0).
  std::vector<float> row_m(static_cast<size_t>(n_pad), std::numeric_limits<float>::infinity());
  std::vector<float> row_d(static_cast<size_t>(n_pad), 0.0f);

  torch::Tensor gw, gw_tail;
  if (need_w) {
    gw = ld == h ? *grad_weight : torch::empty({v, ld}, f32);
    if (v % nr != 0) gw_tail = torch::empty({nr, ld}, f32);
  }

  lm_kernels::Tiles p;
  p.hp = hp.data_ptr<float>();
  p.wt = wt;
  p.wr = wr.data_ptr<float>();
  p.m = row_m.data();
  p.d = row_d.data();
  p.y = y.data();
  p.gw = need_w ? gw.data_ptr<float>() : nullptr;
  p.gw_tail = gw_tail.defined() ? gw_tail.data_ptr<float>() : nullptr;
  p.ld = ld;
  p.v = v;
  p.scale = scale;
  p.need_h = need_h;
  p.need_w = need_w;

  const int64_t parts = std::min(kMaxParts, tiles);
  auto part_tiles = [&](int64_t part) {
    return std::make_pair(part * tiles / parts, (part + 1) * tiles / parts);
  };
  // Rows per super-block: the grad-hidden partials of all parts for these rows stay within
  // kPartialBytes.
  int64_t rows_per_sb = n_pad;
  if (need_h) {
    rows_per_sb = std::max(mr, kPartialBytes / (parts * ld * 4) / mr * mr);
    rows_per_sb = std::min(rows_per_sb, n_pad);
  }
  const int64_t token_block = std::max(mr, kTokenBlock / mr * mr);
  std::vector<float> m_parts(static_cast<size_t>(parts * n_pad));
  std::vector<float> s_parts(static_cast<size_t>(parts * n_pad));
  std::vector<double> nll(static_cast<size_t>(n));
  float* gh_parts = need_h ? gh_scratch.Get(parts * rows_per_sb * ld) : nullptr;
  TORCH_CHECK(!need_h || gh_parts != nullptr, "FusedCpuLmLoss: out of memory (grad partials)");
  const float* hidden_p = hidden.data_ptr<float>();
  const float* weight_p = weight.data_ptr<float>();
  const double log_scale = std::log(static_cast<double>(scale));

  for (int64_t sb0 = 0; sb0 < n_pad; sb0 += rows_per_sb) {
    const int64_t sb1 = std::min(n_pad, sb0 + rows_per_sb);
    // Pass 1: per part and row, max and sum of exp of the logits.
    RunParts(parts, token_block * (k.lanes + 1), [&](int64_t part, float* scratch) {
      const auto [t0, t1] = part_tiles(part);
      for (int64_t i0 = sb0; i0 < sb1; i0 += token_block) {
        k.stats(p, t0, t1, i0, std::min(sb1, i0 + token_block), m_parts.data() + part * n_pad,
                s_parts.data() + part * n_pad, scratch);
      }
    });
    // Combine the parts in order: log-sum-exp, the loss, and pass 2's offsets m and
    // d = log(sum) - log(scale) (kept apart so that exp((l - m) - d) is exact for l = m).
    const int64_t rows_end = std::min(sb1, n);
    at::parallel_for(sb0, rows_end, 256, [&](int64_t r0, int64_t r1) {
      for (int64_t i = r0; i < r1; ++i) {
        float m = -std::numeric_limits<float>::infinity();
        for (int64_t q = 0; q < parts; ++q) m = std::max(m, m_parts[q * n_pad + i]);
        double sum = 0.0;
        for (int64_t q = 0; q < parts; ++q) {
          sum += static_cast<double>(s_parts[q * n_pad + i]) *
                 std::exp(static_cast<double>(m_parts[q * n_pad + i]) - m);
        }
        if (!(m > -std::numeric_limits<float>::infinity())) sum = std::nan("");  // NaN logits
        const double log_sum = std::log(sum);
        const double lse = static_cast<double>(m) + log_sum;
        // The target's logit (double dot product of the fp32 operands).
        const float* hi = hidden_p + i * h;
        const float* wy = weight_p + y[i] * h;
        double ly = 0.0;
        for (int64_t j = 0; j < h; ++j) ly += static_cast<double>(hi[j]) * wy[j];
        nll[i] = lse - ly;
        row_m[i] = m;
        row_d[i] = static_cast<float>(log_sum - log_scale);
      }
    });
    if (!need_h && !need_w) continue;
    // Pass 2: gradients.
    RunParts(parts, 0, [&](int64_t part, float*) {
      const auto [t0, t1] = part_tiles(part);
      float* gh = need_h ? gh_parts + part * rows_per_sb * ld : nullptr;
      for (int64_t i0 = sb0; i0 < sb1; i0 += token_block) {
        k.grads(p, t0, t1, i0, std::min(sb1, i0 + token_block), gh, sb0, i0 == 0);
      }
    });
    if (need_h) {
      // grad hidden = sum of the parts' partials, in part order.
      const float* ghp = gh_parts;
      float* out = grad_hidden->data_ptr<float>();
      at::parallel_for(sb0, rows_end, 64, [&](int64_t r0, int64_t r1) {
        for (int64_t i = r0; i < r1; ++i) {
          float* o = out + i * h;
          const float* first = ghp + (i - sb0) * ld;
          std::copy(first, first + h, o);
          for (int64_t q = 1; q < parts; ++q) {
            const float* src = ghp + (q * rows_per_sb + i - sb0) * ld;
            for (int64_t j = 0; j < h; ++j) o[j] += src[j];
          }
        }
      });
    }
  }
  if (need_w) {
    if (gw_tail.defined()) {
      const int64_t j0 = (tiles - 1) * nr;
      gw.narrow(0, j0, v - j0).copy_(gw_tail.narrow(0, 0, v - j0));
    }
    if (ld != h) grad_weight->copy_(gw.narrow(1, 0, h));
  }
  double total = 0.0;
  for (int64_t i = 0; i < n; ++i) total += nll[i];
  return total;
}

}  // namespace monoroute::model
