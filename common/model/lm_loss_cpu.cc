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
#include <numeric>
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

namespace {

// `t` [rows0, cols0] fp32 zero-padded to [rows, cols]; `t` itself when no padding is needed.
torch::Tensor ZeroPadded(const torch::Tensor& t, int64_t rows, int64_t cols) {
  if (t.size(0) == rows && t.size(1) == cols) return t;
  torch::Tensor padded = torch::zeros({rows, cols}, t.options().dtype(torch::kFloat));
  padded.narrow(0, 0, t.size(0)).narrow(1, 0, t.size(1)).copy_(t);
  return padded;
}

// One row's negative log-likelihood from pass 1's per-part maxima m_parts[q * stride] and
// exp-sums s_parts[q * stride] (q < parts, combined in part order by log-sum-exp) and the target
// logit (double dot product of the fp32 rows hi and wy of length h). Sets *m_out to the row's
// max and *log_sum_out to log(sum of exp(logit - max)) (NaN for NaN logits).
double CombineRow(const float* m_parts, const float* s_parts, int64_t parts, int64_t stride,
                  const float* hi, const float* wy, int64_t h, float* m_out, double* log_sum_out) {
  float m = -std::numeric_limits<float>::infinity();
  for (int64_t q = 0; q < parts; ++q) m = std::max(m, m_parts[q * stride]);
  double sum = 0.0;
  for (int64_t q = 0; q < parts; ++q) {
    sum += static_cast<double>(s_parts[q * stride]) *
           std::exp(static_cast<double>(m_parts[q * stride]) - m);
  }
  if (!(m > -std::numeric_limits<float>::infinity())) sum = std::nan("");  // NaN logits
  const double log_sum = std::log(sum);
  const double lse = static_cast<double>(m) + log_sum;
  double ly = 0.0;
  for (int64_t j = 0; j < h; ++j) ly += static_cast<double>(hi[j]) * wy[j];
  *m_out = m;
  *log_sum_out = log_sum;
  return lse - ly;
}

// out[0, h) = the sum, in part order, of `parts` rows of partials, part q's at first + q * stride.
void SumPartials(const float* first, int64_t parts, int64_t stride, int64_t h, float* out) {
  std::copy(first, first + h, out);
  for (int64_t q = 1; q < parts; ++q) {
    const float* src = first + q * stride;
    for (int64_t j = 0; j < h; ++j) out[j] += src[j];
  }
}

// Grad W in the kernels' layout: `rows` [v, ld] (*grad_weight itself when ld == h) and, when
// v % nr != 0, `tail` [nr, ld] for the last tile; both undefined without a grad_weight. Finish
// copies them into *grad_weight.
struct GradWeightRows {
  GradWeightRows(torch::Tensor* grad_weight, int64_t v, int64_t h, int64_t ld, int64_t nr)
      : h(h), tail_row0(v / nr * nr) {
    if (grad_weight == nullptr) return;
    const auto f32 = grad_weight->options().dtype(torch::kFloat);
    rows = ld == h ? *grad_weight : torch::empty({v, ld}, f32);
    if (v % nr != 0) tail = torch::empty({nr, ld}, f32);
  }
  void Finish(torch::Tensor* grad_weight) {
    if (!rows.defined()) return;
    const int64_t v = rows.size(0);
    if (tail.defined()) {
      rows.narrow(0, tail_row0, v - tail_row0).copy_(tail.narrow(0, 0, v - tail_row0));
    }
    if (rows.size(1) != h) grad_weight->copy_(rows.narrow(1, 0, h));
  }
  const int64_t h;          // hidden size (columns of grad W)
  const int64_t tail_row0;  // first row of the last tile when v % nr != 0
  torch::Tensor rows, tail;
};

// The kernels' operands: packed hidden `hp` [n_pad, ld], W panels `wt` and rows `wr` [v, ld],
// pass 2's row offsets, the padded labels and grad W's buffers.
lm_kernels::Tiles MakeTiles(const torch::Tensor& hp, const float* wt, const torch::Tensor& wr,
                            const std::vector<float>& row_m, const std::vector<float>& row_d,
                            const std::vector<int64_t>& y, GradWeightRows& gw, float scale,
                            bool need_h) {
  lm_kernels::Tiles p;
  p.hp = hp.data_ptr<float>();
  p.wt = wt;
  p.wr = wr.data_ptr<float>();
  p.m = row_m.data();
  p.d = row_d.data();
  p.y = y.data();
  p.gw = gw.rows.defined() ? gw.rows.data_ptr<float>() : nullptr;
  p.gw_tail = gw.tail.defined() ? gw.tail.data_ptr<float>() : nullptr;
  p.ld = hp.size(1);
  p.v = wr.size(0);
  p.scale = scale;
  p.need_h = need_h;
  p.need_w = gw.rows.defined();
  return p;
}

}  // namespace

double FusedCpuLmLoss(const lm_kernels::Kernels& k, const torch::Tensor& hidden,
                      const torch::Tensor& weight, const torch::Tensor& labels,
                      torch::Tensor* grad_hidden, torch::Tensor* grad_weight) {
  const int64_t n = hidden.size(0), h = hidden.size(1), v = weight.size(0);
  const int64_t nr = k.nr, mr = k.mr;
  const int64_t ld = RoundUp(h, k.lanes), n_pad = RoundUp(n, mr), tiles = (v + nr - 1) / nr;
  const bool need_h = grad_hidden != nullptr && grad_hidden->defined();
  const bool need_w = grad_weight != nullptr && grad_weight->defined();
  const float scale = 1.0f / static_cast<float>(n);

  // Packed operands: hidden and W padded to `ld` columns (and hidden to n_pad rows) only when
  // needed; W's k-major panels always (once per call).
  const torch::Tensor hp = ZeroPadded(hidden, n_pad, ld);
  const torch::Tensor wr = ZeroPadded(weight, v, ld);
  thread_local Scratch wt_scratch, gh_scratch;
  float* wt = wt_scratch.Get(tiles * ld * nr);
  TORCH_CHECK(wt != nullptr, "FusedCpuLmLoss: out of memory packing W");
  PackPanels(weight.data_ptr<float>(), v, h, ld, nr, wt);
  std::vector<int64_t> y(static_cast<size_t>(n_pad), -1);  // padding rows: -1
  std::copy(labels.data_ptr<int64_t>(), labels.data_ptr<int64_t>() + n, y.begin());
  // Pass 2's per-row offsets (rows >= n: G = exp(-inf) = 0).
  std::vector<float> row_m(static_cast<size_t>(n_pad), std::numeric_limits<float>::infinity());
  std::vector<float> row_d(static_cast<size_t>(n_pad), 0.0f);

  GradWeightRows gw(need_w ? grad_weight : nullptr, v, h, ld, nr);
  const lm_kernels::Tiles p = MakeTiles(hp, wt, wr, row_m, row_d, y, gw, scale, need_h);

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
        double log_sum = 0.0;
        nll[i] = CombineRow(m_parts.data() + i, s_parts.data() + i, parts, n_pad, hidden_p + i * h,
                            weight_p + y[i] * h, h, &row_m[i], &log_sum);
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
      float* out = grad_hidden->data_ptr<float>();
      at::parallel_for(sb0, rows_end, 64, [&](int64_t r0, int64_t r1) {
        for (int64_t i = r0; i < r1; ++i) {
          SumPartials(gh_parts + (i - sb0) * ld, parts, rows_per_sb * ld, h, out + i * h);
        }
      });
    }
  }
  gw.Finish(grad_weight);
  return std::accumulate(nll.begin(), nll.end(), 0.0);  // in row order
}

}  // namespace monoroute::model
