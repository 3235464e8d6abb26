// Fused chunked LM head + cross-entropy: gradients computed in the forward pass, chunk by chunk.
#include "common/model/lm_loss.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "common/model/cpu_isa.h"
#include "common/model/cpu_softmax.h"
#include "common/model/cpu_threads.h"
#include "common/model/lm_loss_cpu.h"

namespace monoroute::model {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Largest hidden size at which kAuto picks the fused kernel: measured per shape against the
// OpenBLAS path (docs/model.md, "CPU performance").
constexpr int64_t kFusedMaxHidden = 128;

// The fused CPU kernels for fp32 operands of this hidden size, or nullptr for the BLAS paths.
const lm_kernels::Kernels* ChooseFused(int64_t hidden_size, CpuLmKernel which) {
  if (which == CpuLmKernel::kBlas) return nullptr;
  if (which == CpuLmKernel::kAuto && hidden_size > kFusedMaxHidden) return nullptr;
  return FusedLmKernelsFor(ActiveCpuIsa());
}

// CPU fp32 through the fused kernels: only the counted rows go in (so ignored labels cost
// nothing); grad rows of ignored labels are 0. Returns the summed loss (as a 0-dim tensor).
torch::Tensor CpuFusedForward(const lm_kernels::Kernels& k, const torch::Tensor& h_c,
                              const torch::Tensor& w_c, const torch::Tensor& labels,
                              const torch::Tensor& valid, torch::Tensor& grad_h,
                              torch::Tensor& grad_w) {
  torch::NoGradGuard no_grad;
  const bool all_valid = valid.all().item<bool>();
  torch::Tensor rows, h_v = h_c, y_v = labels.contiguous();
  if (!all_valid) {
    rows = valid.nonzero().squeeze(1);
    h_v = h_c.index_select(0, rows);
    y_v = labels.index_select(0, rows);
  }
  torch::Tensor gh_v;
  if (grad_h.defined()) gh_v = all_valid ? grad_h : torch::empty_like(h_v);
  const double sum = FusedCpuLmLoss(k, h_v, w_c, y_v, &gh_v, &grad_w);
  if (grad_h.defined() && !all_valid) grad_h.zero_().index_copy_(0, rows, gh_v);
  return torch::tensor(static_cast<float>(sum), h_c.options());
}

int64_t AutoChunk(const torch::Tensor& hidden, int64_t vocab) {
  (void)vocab;
  if (hidden.is_cuda()) return 8192;
  // CPU with single-threaded BLAS (ConfigureCpuThreads): blocks of 128 tokens per task, so each
  // thread's [128, V] probabilities (25 MiB at V = 50257) stay in the last-level cache between
  // the three matmuls that use them; measured in docs/model.md.
  if (BlasThreads() == 1) return 128;
  // CPU with a multithreaded BLAS: 2048 tokens per chunk. Measured with OpenBLAS on the 2-core dev
  // machine (B=16 T=128): small chunks (83 tokens, ~16 MiB) made the LM loss 3.5x slower than one
  // 2048-token chunk because of per-call BLAS overhead and poor blocking at small M.
  return 2048;
}

// Exact -log p[y] for rows whose target probability underflowed in fp32 (logit gap > ~87):
// recomputes those rows' logits and takes the log-sum-exp. `py` [c] probabilities of the targets,
// `nll` [c] is patched in place.
void FixUnderflowedRows(const torch::Tensor& py, const torch::Tensor& hc,
                        const torch::Tensor& weight, const torch::Tensor& lc, torch::Tensor& nll) {
  torch::Tensor bad = (py <= std::numeric_limits<float>::min()).nonzero().squeeze(1);
  if (bad.numel() == 0) return;
  torch::Tensor hb = hc.index_select(0, bad).to(torch::kFloat);
  torch::Tensor lb = hb.mm(weight.to(torch::kFloat).t());
  torch::Tensor yb = lc.index_select(0, bad);
  torch::Tensor exact = lb.logsumexp(1) - lb.gather(1, yb.unsqueeze(1)).squeeze(1);
  nll.index_copy_(0, bad, exact);
}

// CPU fp32 path, BLAS single-threaded: blocks of `block` tokens are spread over ATen's threads.
// Each task computes its block's logits into the thread's own [block, V] buffer, exponentiates
// them in place without normalising (ExpRowsInPlace: two passes instead of softmax's three), the
// loss, grad_h rows (disjoint per block), and adds its part of grad_W into the thread's own
// [V, H] accumulator; the accumulators are summed at the end. Returns the summed loss.
torch::Tensor CpuBlockedForward(const torch::Tensor& h_c, const torch::Tensor& w_c,
                                const torch::Tensor& labels, const torch::Tensor& valid,
                                const torch::Tensor& scale, int64_t block, torch::Tensor& grad_h,
                                torch::Tensor& grad_w) {
  const int64_t n = h_c.size(0), v = w_c.size(0);
  const int64_t blocks = (n + block - 1) / block;
  const int threads = at::get_num_threads();
  std::vector<torch::Tensor> bufs(threads), gw_parts(threads);
  torch::Tensor nll_all = torch::empty({n}, h_c.options());
  at::parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
    // Grad mode is thread-local: the worker threads must not record autograd history either.
    torch::NoGradGuard no_grad;
    const int tid = at::get_thread_num();
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t s = b * block, c = std::min(block, n - s);
      if (!bufs[tid].defined()) bufs[tid] = torch::empty({block, v}, h_c.options());
      torch::Tensor probs = bufs[tid].narrow(0, 0, c);
      torch::Tensor hc = h_c.narrow(0, s, c);
      torch::Tensor lc = labels.narrow(0, s, c);
      at::mm_out(probs, hc, w_c.t());  // logits
      // Target logits before the exponentials overwrite them: nll = max + log(sum) - logit[y] is
      // exact even where exp(logit[y] - max) underflows.
      torch::Tensor ly = probs.gather(1, lc.unsqueeze(1)).squeeze(1);
      torch::Tensor mx = torch::empty({c}, h_c.options()), sm = torch::empty({c}, h_c.options());
      ExpRowsInPlace(probs.data_ptr<float>(), c, v, mx.data_ptr<float>(), sm.data_ptr<float>());
      torch::Tensor nll = nll_all.narrow(0, s, c);
      at::log_out(nll, sm).add_(mx).sub_(ly);
      // probs holds E = exp(logits - max), unnormalised: 1 / sum goes into the [c, H] operands.
      torch::Tensor sc1 = scale.narrow(0, s, c).unsqueeze(1);  // s_n
      torch::Tensor en = sc1 / sm.unsqueeze(1);                // s_n / sum_n
      if (grad_h.defined()) {
        torch::Tensor gh = grad_h.narrow(0, s, c);
        at::mm_out(gh, probs, w_c);
        gh.mul_(en).sub_(w_c.index_select(0, lc).mul_(sc1));
      }
      if (grad_w.defined()) {
        if (!gw_parts[tid].defined()) gw_parts[tid] = torch::zeros({v, w_c.size(1)}, h_c.options());
        gw_parts[tid].addmm_(probs.t(), hc * en);
        gw_parts[tid].index_add_(0, lc, -(hc * sc1));
      }
    }
  });
  if (grad_w.defined()) {
    for (const torch::Tensor& part : gw_parts) {
      if (part.defined()) grad_w.add_(part);
    }
  }
  return (nll_all * valid).sum();
}

// Custom autograd function: forward returns the mean loss and saves grad_hidden / grad_weight
// (already divided by the number of counted tokens); backward scales them by the incoming grad.
//
// Per chunk of c tokens: L = h W^T into a reused [c, V] buffer, P = softmax(L) in place (row-wise,
// the rows stay in L2), loss_n = -log P[n, y_n]. With s_n = valid_n / count the gradients are
//   grad_h = diag(s) (P W - W[y])        grad_W = P^T (diag(s) h) - scatter_y(diag(s) h)
// so the big matrix is never rescaled or patched: only the small [c, H] operands are.
class FusedLmLossFn : public torch::autograd::Function<FusedLmLossFn> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, torch::Tensor hidden, torch::Tensor weight,
                               torch::Tensor labels, int64_t chunk, int64_t ignore_index,
                               int64_t compute_dtype, bool need_h, bool need_w,
                               int64_t cpu_kernel) {
    const auto dt = static_cast<torch::ScalarType>(compute_dtype);
    const int64_t n = hidden.size(0);
    const int64_t v = weight.size(0);
    const int64_t hd = hidden.size(1);
    torch::Tensor valid = labels != ignore_index;
    torch::Tensor safe_labels = labels.masked_fill(valid.logical_not(), 0);
    // Mean over counted tokens; 0/0 gives NaN as torch's cross_entropy does.
    torch::Tensor validf = valid.to(torch::kFloat);
    torch::Tensor inv_count = validf.sum().reciprocal();
    torch::Tensor scale = validf * inv_count;  // s_n
    torch::Tensor w_c = weight.to(dt).contiguous();
    torch::Tensor h_c = hidden.to(dt).contiguous();
    torch::Tensor loss_sum = torch::zeros({}, hidden.options().dtype(torch::kFloat));
    torch::Tensor grad_h, grad_w;
    if (need_h) grad_h = torch::empty({n, hd}, hidden.options().dtype(torch::kFloat));
    const bool cpu = !hidden.is_cuda();
    const lm_kernels::Kernels* fused = cpu && dt == torch::kFloat
                                           ? ChooseFused(hd, static_cast<CpuLmKernel>(cpu_kernel))
                                           : nullptr;
    // The fused kernels need at least one counted token (else torch's 0/0 NaN, via the BLAS path).
    if (fused != nullptr && !(n > 0 && valid.any().item<bool>())) fused = nullptr;
    // The fused kernels overwrite every element of grad_w; the other paths accumulate into it.
    if (need_w) {
      grad_w = fused != nullptr ? torch::empty({v, hd}, weight.options().dtype(torch::kFloat))
                                : torch::zeros({v, hd}, weight.options().dtype(torch::kFloat));
    }
    if (fused != nullptr) {
      loss_sum = CpuFusedForward(*fused, h_c, w_c, safe_labels, valid, grad_h, grad_w);
    } else if (cpu && dt == torch::kFloat && BlasThreads() == 1) {
      loss_sum = CpuBlockedForward(h_c, w_c, safe_labels, valid, scale, chunk, grad_h, grad_w);
    } else {
      torch::Tensor buf = torch::empty({std::min(chunk, n), v}, hidden.options().dtype(dt));
      for (int64_t s = 0; s < n; s += chunk) {
        const int64_t c = std::min(chunk, n - s);
        torch::Tensor hc = h_c.narrow(0, s, c);
        torch::Tensor lc = safe_labels.narrow(0, s, c);
        torch::Tensor sc = scale.narrow(0, s, c);
        torch::Tensor probs = buf.narrow(0, 0, c);
        at::mm_out(probs, hc, w_c.t());
        if (cpu) {
          at::_softmax_out(probs, probs, 1, /*half_to_float=*/false);  // in place, row by row
        } else {
          probs = at::_softmax(probs, 1, /*half_to_float=*/false);
        }
        torch::Tensor py = probs.gather(1, lc.unsqueeze(1)).squeeze(1).to(torch::kFloat);
        torch::Tensor nll = -py.log();
        if (cpu) FixUnderflowedRows(py, hc, weight, lc, nll);
        loss_sum += (nll * valid.narrow(0, s, c)).sum();
        if (!need_h && !need_w) continue;
        torch::Tensor sc1 = sc.unsqueeze(1);
        if (need_h) {
          torch::Tensor gh = probs.mm(w_c).to(torch::kFloat);
          gh.sub_(weight.index_select(0, lc).to(torch::kFloat)).mul_(sc1);
          grad_h.narrow(0, s, c).copy_(gh);
        }
        if (need_w) {
          torch::Tensor hs = hc.to(torch::kFloat) * sc1;  // diag(s) h, fp32 [c, H]
          if (dt == torch::kFloat) {
            grad_w.addmm_(probs.t(), hs);
          } else {
            grad_w.add_(probs.t().mm(hs.to(dt)).to(torch::kFloat));
          }
          grad_w.index_add_(0, lc, -hs);
        }
      }
    }
    ctx->saved_data["grad_h"] = grad_h;
    ctx->saved_data["grad_w"] = grad_w;
    ctx->saved_data["h_dtype"] = static_cast<int64_t>(hidden.scalar_type());
    ctx->saved_data["w_dtype"] = static_cast<int64_t>(weight.scalar_type());
    return loss_sum * inv_count;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    torch::Tensor go = grad_outputs[0];
    // The saved gradients are handed over (and released), so they are scaled in place; a second
    // backward through the same graph (retain_graph) is not supported.
    torch::Tensor grad_h = ctx->saved_data["grad_h"].toTensor();
    torch::Tensor grad_w = ctx->saved_data["grad_w"].toTensor();
    TORCH_CHECK(ctx->saved_data["h_dtype"].toInt() >= 0, "FusedLmLoss: backward called twice");
    ctx->saved_data["grad_h"] = torch::Tensor();
    ctx->saved_data["grad_w"] = torch::Tensor();
    const auto hdt = static_cast<torch::ScalarType>(ctx->saved_data["h_dtype"].toInt());
    const auto wdt = static_cast<torch::ScalarType>(ctx->saved_data["w_dtype"].toInt());
    torch::Tensor gh = grad_h.defined() ? grad_h.mul_(go).to(hdt) : torch::Tensor();
    torch::Tensor gw = grad_w.defined() ? grad_w.mul_(go).to(wdt) : torch::Tensor();
    ctx->saved_data["h_dtype"] = int64_t{-1};
    return {gh,
            gw,
            torch::Tensor(),
            torch::Tensor(),
            torch::Tensor(),
            torch::Tensor(),
            torch::Tensor(),
            torch::Tensor(),
            torch::Tensor()};
  }
};

}  // namespace

torch::Tensor FusedLmLoss(const torch::Tensor& hidden, const torch::Tensor& weight,
                          const torch::Tensor& labels, const LmLossOptions& options) {
  TORCH_CHECK(hidden.dim() == 2 && weight.dim() == 2 && hidden.size(1) == weight.size(1),
              "FusedLmLoss: hidden [N, H] and weight [V, H] expected, got ", hidden.sizes(),
              " and ", weight.sizes());
  TORCH_CHECK(labels.dim() == 1 && labels.size(0) == hidden.size(0),
              "FusedLmLoss: labels [N] expected, got ", labels.sizes());
  const int64_t chunk =
      options.chunk_tokens > 0 ? options.chunk_tokens : AutoChunk(hidden, weight.size(0));
  // Which gradients the graph needs (none under NoGradGuard): decided here, outside the Function.
  const bool grad_mode = torch::GradMode::is_enabled();
  const bool need_h = grad_mode && hidden.requires_grad();
  const bool need_w = grad_mode && weight.requires_grad();
  return FusedLmLossFn::apply(hidden, weight, labels.to(torch::kLong), chunk, options.ignore_index,
                              static_cast<int64_t>(options.compute_dtype), need_h, need_w,
                              static_cast<int64_t>(options.cpu_kernel));
}

const char* CpuLmLossKernelName(int64_t hidden_size, const LmLossOptions& options) {
  if (options.compute_dtype == torch::kFloat) {
    if (ChooseFused(hidden_size, options.cpu_kernel) != nullptr) {
      return ActiveCpuIsa() == CpuIsa::kAvx512 ? "fused-avx512" : "fused-avx2";
    }
  }
  return BlasThreads() == 1 ? "blas-blocked" : "blas-chunked";
}

torch::Tensor CausalLmLoss(const torch::Tensor& hidden, const torch::Tensor& weight,
                           const torch::Tensor& input_ids, const LmLossOptions& options) {
  const int64_t b = hidden.size(0), t = hidden.size(1), h = hidden.size(2);
  torch::Tensor hs = hidden.narrow(1, 0, t - 1).reshape({b * (t - 1), h});
  torch::Tensor labels = input_ids.narrow(1, 1, t - 1).reshape({-1}).to(hidden.device());
  return FusedLmLoss(hs, weight, labels, options);
}

torch::Tensor ReferenceLmLoss(const torch::Tensor& hidden, const torch::Tensor& weight,
                              const torch::Tensor& labels) {
  return torch::nn::functional::cross_entropy(hidden.mm(weight.t()), labels);
}

}  // namespace monoroute::model
