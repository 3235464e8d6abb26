// Fused CPU attention == the explicit masked softmax attention, values and gradients, for global
// and local (windowed) masks and several head sizes, on every CPU path (cpu_isa.h) this machine
// runs.
#include "common/model/cpu_attention.h"

#include <gtest/gtest.h>

#include <limits>

#include "tests/common/model/test_util.h"

namespace monoroute::model {
namespace {

using testing::MaxAbsDiff;

// Explicit reference: unscaled scores, -inf outside j <= i (and j > i - window), softmax, P v.
torch::Tensor Reference(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        int64_t window) {
  const int64_t t = q.size(1);
  torch::Tensor i = torch::arange(t);
  torch::Tensor allowed = i.unsqueeze(0) <= i.unsqueeze(1);
  if (window > 0) allowed = allowed & (i.unsqueeze(0) > i.unsqueeze(1) - window);
  torch::Tensor bias = torch::zeros({t, t}).masked_fill(allowed.logical_not(),
                                                        -std::numeric_limits<float>::infinity());
  torch::Tensor probs = torch::softmax(torch::baddbmm(bias, q, k.transpose(1, 2)), -1);
  return torch::bmm(probs, v);
}

struct Result {
  torch::Tensor y, dq, dk, dv;
};

Result RunAttention(bool fused, const torch::Tensor& q0, const torch::Tensor& k0,
                    const torch::Tensor& v0, const torch::Tensor& dy, int64_t window) {
  torch::Tensor q = q0.clone().requires_grad_(true);
  torch::Tensor k = k0.clone().requires_grad_(true);
  torch::Tensor v = v0.clone().requires_grad_(true);
  torch::Tensor y = fused ? CpuAttention(q, k, v, window) : Reference(q, k, v, window);
  (y * dy).sum().backward();
  return {y.detach(), q.grad(), k.grad(), v.grad()};
}

TEST(CpuAttentionTest, EqualsExplicitAttentionValuesAndGradients) {
  torch::manual_seed(0);
  struct Case {
    int64_t n, t, d, window;
  };
  for (CpuIsa isa : testing::RunnableCpuIsas()) {
    for (const Case& c : {Case{6, 33, 4, 0}, Case{6, 33, 4, 5}, Case{3, 1, 4, 0}, Case{4, 20, 7, 0},
                          Case{2, 70, 16, 64}, Case{5, 17, 4, 17}}) {
      testing::ScopedCpuIsa scoped(isa);
      // Scores of a few units: some rows peaked, as in a trained model.
      torch::Tensor q = torch::randn({c.n, c.t, c.d}) * 2;
      torch::Tensor k = torch::randn({c.n, c.t, c.d}) * 2;
      torch::Tensor v = torch::randn({c.n, c.t, c.d});
      torch::Tensor dy = torch::randn({c.n, c.t, c.d});
      Result ref = RunAttention(false, q, k, v, dy, c.window);
      Result got = RunAttention(true, q, k, v, dy, c.window);
      const std::string where = std::string(CpuIsaName(isa)) + " n=" + std::to_string(c.n) +
                                " t=" + std::to_string(c.t) + " d=" + std::to_string(c.d) +
                                " window=" + std::to_string(c.window);
      EXPECT_LT(MaxAbsDiff(got.y, ref.y), 2e-5) << where;
      EXPECT_LT(MaxAbsDiff(got.dq, ref.dq), 2e-4) << where;
      EXPECT_LT(MaxAbsDiff(got.dk, ref.dk), 2e-4) << where;
      EXPECT_LT(MaxAbsDiff(got.dv, ref.dv), 2e-5) << where;
    }
  }
}

TEST(CpuAttentionTest, HugeScoresStayFinite) {
  // Scores far beyond exp's range: the row max is subtracted before exponentiating.
  torch::Tensor q = torch::full({1, 4, 4}, 30.0);
  torch::Tensor k = torch::full({1, 4, 4}, 30.0);
  k[0][2] = -30.0;
  torch::Tensor v = torch::randn({1, 4, 4});
  for (CpuIsa isa : testing::RunnableCpuIsas()) {
    testing::ScopedCpuIsa scoped(isa);
    torch::Tensor y = CpuAttention(q, k, v);
    EXPECT_TRUE(torch::isfinite(y).all().item<bool>()) << CpuIsaName(isa);
    EXPECT_LT(MaxAbsDiff(y, Reference(q, k, v, 0)), 1e-5) << CpuIsaName(isa);
  }
}

TEST(CpuAttentionTest, RejectsUnsupportedInputs) {
  EXPECT_FALSE(CpuAttentionSupported(torch::zeros({2, 3, 4}, torch::kDouble)));
  EXPECT_FALSE(CpuAttentionSupported(torch::zeros({2, 3, 65})));
  EXPECT_TRUE(CpuAttentionSupported(torch::zeros({2, 3, 4})));
  EXPECT_THROW(
      CpuAttention(torch::zeros({2, 3, 4}), torch::zeros({2, 3, 5}), torch::zeros({2, 3, 4})),
      c10::Error);
}

}  // namespace
}  // namespace monoroute::model
