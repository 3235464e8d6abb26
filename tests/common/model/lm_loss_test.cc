// Fused LM loss == torch cross_entropy (values and gradients), ignore_index, chunking: the BLAS
// paths (chunked, and blocked over threads on every CPU path); the default kernel choice. The
// fused CPU tile kernels have their own tests (lm_loss_cpu_test.cc).
#include "common/model/lm_loss.h"

#include <gtest/gtest.h>

#include "common/model/cpu_threads.h"
#include "tests/common/model/lm_loss_test_util.h"
#include "tests/common/model/test_util.h"

namespace monoroute::model {
namespace {

using testing::Grads;
using testing::MaxAbsDiff;

// The fused loss with `chunk` tokens per chunk and `kernel` (or the reference when !fused) times
// `scale`, backpropagated.
Grads RunLoss(bool fused, const torch::Tensor& h0, const torch::Tensor& w0, const torch::Tensor& y,
              int64_t chunk, double scale = 1.0, CpuLmKernel kernel = CpuLmKernel::kBlas) {
  LmLossOptions o;
  o.chunk_tokens = chunk;
  o.cpu_kernel = kernel;
  return testing::LossAndGrads(fused, h0, w0, y, o, scale);
}

TEST(LmLossTest, EqualsCrossEntropyValuesAndGradients) {
  torch::manual_seed(0);
  const int64_t n = 77, hdim = 16, v = 1000;
  torch::Tensor h = torch::randn({n, hdim});
  torch::Tensor w = torch::randn({v, hdim}) * 0.5;
  torch::Tensor y = torch::randint(0, v, {n}, torch::kLong);
  Grads ref = RunLoss(false, h, w, y, 0, 3.0);
  for (int64_t chunk : {int64_t{1}, int64_t{10}, int64_t{64}, n, int64_t{1000}, int64_t{0}}) {
    Grads got = RunLoss(true, h, w, y, chunk, 3.0);
    EXPECT_LT(MaxAbsDiff(got.loss, ref.loss), 1e-5) << chunk;
    EXPECT_LT(MaxAbsDiff(got.gh, ref.gh), 1e-5) << chunk;
    EXPECT_LT(MaxAbsDiff(got.gw, ref.gw), 1e-5) << chunk;
  }
}

TEST(LmLossTest, IgnoresLabelsLikeTorch) {
  torch::manual_seed(1);
  const int64_t n = 40, hdim = 8, v = 300;
  torch::Tensor h = torch::randn({n, hdim});
  torch::Tensor w = torch::randn({v, hdim});
  torch::Tensor y = torch::randint(0, v, {n}, torch::kLong);
  y.narrow(0, 5, 10).fill_(-100);
  Grads ref = RunLoss(false, h, w, y, 0);
  Grads got = RunLoss(true, h, w, y, 7);
  EXPECT_LT(MaxAbsDiff(got.loss, ref.loss), 1e-5);
  EXPECT_LT(MaxAbsDiff(got.gh, ref.gh), 1e-5);
  EXPECT_LT(MaxAbsDiff(got.gw, ref.gw), 1e-5);
  EXPECT_EQ(got.gh.narrow(0, 5, 10).abs().max().item<float>(), 0.0f);
}

TEST(LmLossTest, LargeLogitsStayFinite) {
  torch::manual_seed(2);
  torch::Tensor h = torch::randn({9, 4}) * 100;
  torch::Tensor w = torch::randn({50, 4}) * 100;
  torch::Tensor y = torch::randint(0, 50, {9}, torch::kLong);
  Grads ref = RunLoss(false, h, w, y, 0);
  Grads got = RunLoss(true, h, w, y, 4);
  ASSERT_TRUE(std::isfinite(got.loss.item<double>()));
  EXPECT_LT(std::abs(got.loss.item<double>() - ref.loss.item<double>()) /
                std::max(1.0, std::abs(ref.loss.item<double>())),
            1e-5);
  EXPECT_LT(MaxAbsDiff(got.gh, ref.gh), 1e-3);
}

TEST(LmLossTest, CausalShiftAndFrozenWeight) {
  torch::manual_seed(3);
  torch::Tensor hid = torch::randn({2, 6, 8}, torch::requires_grad());
  torch::Tensor w = torch::randn({30, 8});  // no grad: only d/dhidden
  torch::Tensor ids = torch::randint(0, 30, {2, 6}, torch::kLong);
  torch::Tensor loss = CausalLmLoss(hid, w, ids);
  loss.backward();
  torch::Tensor h2 = hid.detach().clone().requires_grad_(true);
  torch::Tensor logits = torch::matmul(h2, w.t());
  torch::Tensor ref = torch::nn::functional::cross_entropy(logits.narrow(1, 0, 5).reshape({-1, 30}),
                                                           ids.narrow(1, 1, 5).reshape({-1}));
  ref.backward();
  EXPECT_LT(MaxAbsDiff(loss, ref), 1e-6);
  EXPECT_LT(MaxAbsDiff(hid.grad(), h2.grad()), 1e-6);
  EXPECT_EQ(hid.grad().select(1, 5).abs().max().item<float>(), 0.0f);
}

TEST(LmLossTest, ThreadedBlockedCpuPathEqualsCrossEntropy) {
  // One thread pool: BLAS single-threaded, token blocks spread over ATen's threads (the path
  // training takes on the CPU), including ignored labels and a row whose target underflows.
  ConfigureCpuThreads(2);
  ASSERT_EQ(BlasThreads(), 1);
  torch::manual_seed(4);
  const int64_t n = 91, hdim = 8, v = 700;
  torch::Tensor h = torch::randn({n, hdim});
  torch::Tensor w = torch::randn({v, hdim}) * 0.5;
  torch::Tensor y = torch::randint(0, v, {n}, torch::kLong);
  y.narrow(0, 20, 5).fill_(-100);
  h[3] = w[7] * 40;  // logit gap far beyond fp32 exp's range for any target but 7
  y[3] = 8;
  Grads ref = RunLoss(false, h, w, y, 0, 2.0);
  // The row exp (cpu_softmax.h) on every CPU path this machine runs.
  for (CpuIsa isa : testing::RunnableCpuIsas()) {
    testing::ScopedCpuIsa scoped(isa);
    for (int64_t chunk : {int64_t{1}, int64_t{9}, int64_t{0}}) {
      Grads got = RunLoss(true, h, w, y, chunk, 2.0);
      EXPECT_LT(MaxAbsDiff(got.loss, ref.loss), 1e-4) << chunk << " " << CpuIsaName(isa);
      EXPECT_LT(MaxAbsDiff(got.gh, ref.gh), 1e-5) << chunk << " " << CpuIsaName(isa);
      EXPECT_LT(MaxAbsDiff(got.gw, ref.gw), 1e-5) << chunk << " " << CpuIsaName(isa);
    }
  }
  // And the default choice (the fused kernel where the CPU has one).
  Grads got = RunLoss(true, h, w, y, 0, 2.0, CpuLmKernel::kAuto);
  EXPECT_LT(MaxAbsDiff(got.loss, ref.loss), 1e-4);
  EXPECT_LT(MaxAbsDiff(got.gh, ref.gh), 1e-5);
  EXPECT_LT(MaxAbsDiff(got.gw, ref.gw), 1e-5);
}

TEST(LmLossTest, RejectsBadShapes) {
  EXPECT_THROW(
      FusedLmLoss(torch::randn({3, 4}), torch::randn({5, 3}), torch::zeros({3}, torch::kLong)),
      c10::Error);
  EXPECT_THROW(
      FusedLmLoss(torch::randn({3, 4}), torch::randn({5, 4}), torch::zeros({2}, torch::kLong)),
      c10::Error);
}

}  // namespace
}  // namespace monoroute::model
