// Linear (cpu_linear.h): the split over ATen's threads equals torch's linear, values and the
// gradients of input, weight and bias, with and without bias, for any leading shape.
#include "common/model/cpu_linear.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "tests/common/model/test_util.h"

namespace monoroute::model {
namespace {

using testing::MaxAbsDiff;

struct Grads {
  torch::Tensor y, gx, gw, gb;
};

Grads RunLinear(bool split, const torch::Tensor& x0, const torch::Tensor& w0,
                const torch::Tensor& b0) {
  torch::Tensor x = x0.clone().requires_grad_(true);
  torch::Tensor w = w0.clone().requires_grad_(true);
  torch::Tensor b = b0.defined() ? b0.clone().requires_grad_(true) : torch::Tensor();
  torch::Tensor y = split ? Linear(x, w, b) : torch::nn::functional::linear(x, w, b);
  // A non-uniform upstream gradient.
  (y * torch::linspace(-1, 1, y.numel()).view(y.sizes())).sum().backward();
  return {y.detach(), x.grad(), w.grad(), b.defined() ? b.grad() : torch::Tensor()};
}

TEST(CpuLinearTest, SplitOverThreadsEqualsTorchLinearWithGradients) {
  const int saved = at::get_num_threads();
  at::set_num_threads(2);
  SetCpuLinearEnabled(true);
  torch::manual_seed(3);
  for (bool bias : {true, false}) {
    torch::Tensor x = torch::randn({3, 45, 24});  // 135 rows: uneven parts
    torch::Tensor w = torch::randn({40, 24});
    torch::Tensor b = bias ? torch::randn({40}) : torch::Tensor();
    const Grads ref = RunLinear(false, x, w, b);
    const Grads got = RunLinear(true, x, w, b);
    EXPECT_EQ(got.y.sizes(), ref.y.sizes());
    EXPECT_LT(MaxAbsDiff(got.y, ref.y), 1e-4) << bias;
    EXPECT_LT(MaxAbsDiff(got.gx, ref.gx), 1e-4) << bias;
    EXPECT_LT(MaxAbsDiff(got.gw, ref.gw), 1e-4) << bias;
    if (bias) EXPECT_LT(MaxAbsDiff(got.gb, ref.gb), 1e-4);
    // Deterministic: the same split twice gives the same bits.
    EXPECT_TRUE(torch::equal(RunLinear(true, x, w, b).gw, got.gw));
  }
  SetCpuLinearEnabled(false);  // the switch falls back to torch's linear (identical bits)
  torch::Tensor x = torch::randn({100, 8}), w = torch::randn({6, 8}), b = torch::randn({6});
  EXPECT_TRUE(torch::equal(RunLinear(true, x, w, b).gw, RunLinear(false, x, w, b).gw));
  at::set_num_threads(saved);
}

}  // namespace
}  // namespace monoroute::model
