// Linear: a custom autograd Function whose forward and backward split their GEMMs over ATen's
// threads (one single-threaded sgemm per thread).
#include "common/model/cpu_linear.h"

#include <ATen/Parallel.h>

#include <atomic>
#include <utility>

namespace monoroute::model {
namespace {

// Off by default until it is measured faster on an idle machine (docs/model.md).
std::atomic<bool> g_enabled{false};

// Rows (tokens) below which one sgemm on one thread is as fast as the split.
constexpr int64_t kMinRows = 64;

// Runs fn(begin, end) on the parts of [0, n) split evenly over the pool's threads.
template <typename Fn>
void SplitOverThreads(int64_t n, const Fn& fn) {
  const int64_t parts = std::min<int64_t>(at::get_num_threads(), n);
  at::parallel_for(0, parts, 1, [&](int64_t p0, int64_t p1) {
    // Grad mode is thread-local: the out= GEMMs below must not be recorded on any thread.
    torch::NoGradGuard no_grad;
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t begin = n * p / parts, end = n * (p + 1) / parts;
      if (end > begin) fn(begin, end);
    }
  });
}

// y = x W^T (+ b) with the rows of x split over the threads; b may be undefined.
torch::Tensor SplitForward(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
  torch::Tensor y = torch::empty({x.size(0), w.size(0)}, x.options());
  const torch::Tensor wt = w.t();
  SplitOverThreads(x.size(0), [&](int64_t r0, int64_t r1) {
    torch::Tensor out = y.narrow(0, r0, r1 - r0);
    if (b.defined()) {
      at::addmm_out(out, b, x.narrow(0, r0, r1 - r0), wt);
    } else {
      at::mm_out(out, x.narrow(0, r0, r1 - r0), wt);
    }
  });
  return y;
}

// {grad_x = g W split by rows, grad_W = g^T x split by output features}.
std::pair<torch::Tensor, torch::Tensor> SplitBackward(const torch::Tensor& g_in,
                                                      const torch::Tensor& x,
                                                      const torch::Tensor& w) {
  const torch::Tensor g = g_in.contiguous();  // [N, out]
  torch::Tensor gx = torch::empty_like(x);
  SplitOverThreads(x.size(0), [&](int64_t r0, int64_t r1) {
    torch::Tensor out = gx.narrow(0, r0, r1 - r0);
    at::mm_out(out, g.narrow(0, r0, r1 - r0), w);
  });
  torch::Tensor gw = torch::empty_like(w);
  SplitOverThreads(w.size(0), [&](int64_t o0, int64_t o1) {
    torch::Tensor out = gw.narrow(0, o0, o1 - o0);
    at::mm_out(out, g.narrow(1, o0, o1 - o0).t(), x);
  });
  return {gx, gw};
}

// With bias (LibTorch's custom Functions take no undefined tensors: two classes).
class LinearFunction : public torch::autograd::Function<LinearFunction> {
 public:
  // x [N, in] contiguous, w [out, in], b [out] -> [N, out].
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& w, const torch::Tensor& b) {
    ctx->save_for_backward({x, w});
    return SplitForward(x, w, b);
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    auto [gx, gw] = SplitBackward(grads[0], saved[0], saved[1]);
    return {gx, gw, grads[0].sum(0)};
  }
};

// Without bias.
class LinearNoBiasFunction : public torch::autograd::Function<LinearNoBiasFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& w) {
    ctx->save_for_backward({x, w});
    return SplitForward(x, w, torch::Tensor());
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    auto [gx, gw] = SplitBackward(grads[0], saved[0], saved[1]);
    return {gx, gw};
  }
};

}  // namespace

void SetCpuLinearEnabled(bool enabled) { g_enabled.store(enabled); }

torch::Tensor Linear(const torch::Tensor& x, const torch::Tensor& weight,
                     const torch::Tensor& bias) {
  const int64_t in = x.size(-1);
  const int64_t rows = in > 0 ? x.numel() / in : 0;
  const bool split = g_enabled.load() && x.device().is_cpu() && x.scalar_type() == torch::kFloat &&
                     weight.scalar_type() == torch::kFloat && at::get_num_threads() > 1 &&
                     !at::in_parallel_region() && rows >= kMinRows;
  if (!split) return torch::nn::functional::linear(x, weight, bias);
  std::vector<int64_t> shape = x.sizes().vec();
  shape.back() = weight.size(0);
  const torch::Tensor x2 = x.reshape({rows, in}).contiguous();
  torch::Tensor y = bias.defined() ? LinearFunction::apply(x2, weight, bias)
                                   : LinearNoBiasFunction::apply(x2, weight);
  return y.view(shape);
}

}  // namespace monoroute::model
