// The fused CPU LM-loss kernels (lm_loss_cpu.h), on every ISA path this CPU can run: equal to
// torch's cross_entropy (ATen reference) in values and both gradients for awkward shapes (hidden
// sizes that need padding, vocabulary tails, ignored labels, a row whose target underflows,
// several row super-blocks); bit-for-bit the same for 1 and 2 threads; NaN propagates.
#include "common/model/lm_loss_cpu.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "common/model/cpu_threads.h"
#include "common/model/lm_loss.h"
#include "tests/common/model/lm_loss_test_util.h"
#include "tests/common/model/test_util.h"

namespace monoroute::model {
namespace {

using testing::Grads;
using testing::MaxAbsDiff;
using testing::RunnableCpuIsas;
using testing::ScopedCpuIsa;

// Options choosing the fused CPU kernel.
LmLossOptions Fused() {
  LmLossOptions o;
  o.cpu_kernel = CpuLmKernel::kFused;
  return o;
}

// The loss times `upstream`, backpropagated; `fused` picks FusedLmLoss with the fused kernel,
// else the ATen reference (mm + cross_entropy).
Grads RunLoss(bool fused, const torch::Tensor& h0, const torch::Tensor& w0, const torch::Tensor& y,
              double upstream = 3.0) {
  return testing::LossAndGrads(fused, h0, w0, y, Fused(), upstream);
}

// The ISA paths with fused kernels on this CPU (AVX-512 and/or AVX2 on x86-64).
std::vector<CpuIsa> FusedPaths() {
  std::vector<CpuIsa> out;
  for (CpuIsa isa : RunnableCpuIsas()) {
    if (FusedLmKernelsFor(isa) != nullptr) out.push_back(isa);
  }
  return out;
}

struct Case {
  int64_t n, h, v;
};

// Random hidden/weights/labels with ignored labels and, where there is room, a row whose target
// probability underflows fp32.
void MakeData(const Case& c, int64_t seed, torch::Tensor& h, torch::Tensor& w, torch::Tensor& y) {
  torch::manual_seed(seed);
  h = torch::randn({c.n, c.h});
  w = torch::randn({c.v, c.h}) * 0.5;
  y = torch::randint(0, c.v, {c.n}, torch::kLong);
  if (c.n > 10) y.narrow(0, 4, 3).fill_(-100);
  if (c.n > 3 && c.v > 8) {
    // Row 3 points along w[7] with a logit of 150: every other word's probability, the target
    // 8's included, underflows fp32 (gap > 87).
    h[3] = w[7] * (150.0 / w[7].dot(w[7]).item<double>());
    y[3] = 8;
  }
}

// Runs `check(isa, h, w, y)` once per fused path, under that ISA, on MakeData(c, seed).
template <typename Check>
void ForEachFusedPath(const Case& c, int64_t seed, const Check& check) {
  for (CpuIsa isa : FusedPaths()) {
    ScopedCpuIsa scoped(isa);
    torch::Tensor h, w, y;
    MakeData(c, seed, h, w, y);
    check(isa, h, w, y);
  }
}

TEST(LmLossCpuTest, EveryPathEqualsCrossEntropyValuesAndGradients) {
  ConfigureCpuThreads(2);
  const std::vector<CpuIsa> paths = FusedPaths();
#if defined(__x86_64__)
  // Every x86-64 CPU the project targets has at least AVX2 (CI included); report if not.
  EXPECT_FALSE(paths.empty()) << "no fused path runs here: best CPU path is "
                              << CpuIsaName(SupportedCpuIsa());
#endif
  // Hidden sizes: 64 (TinyStories-1M), padded ones (8, 20), 272 = 17 vectors of 16 (chunk
  // remainders); vocabularies with partial last tiles; 4200 tokens x 1100 words gives two row
  // super-blocks of the grad-hidden partials.
  const Case cases[] = {{77, 16, 1000}, {91, 64, 700}, {13, 8, 50},    {300, 64, 2049},
                        {5, 20, 33},    {1, 64, 1},    {40, 272, 300}, {4200, 64, 1100}};
  for (CpuIsa isa : paths) {
    ScopedCpuIsa scoped(isa);
    ASSERT_TRUE(scoped.ok());
    for (const Case& c : cases) {
      const std::string where = std::string(CpuIsaName(isa)) + " n=" + std::to_string(c.n) +
                                " h=" + std::to_string(c.h) + " v=" + std::to_string(c.v);
      EXPECT_EQ(std::string(CpuLmLossKernelName(c.h, Fused())),
                std::string("fused-") + CpuIsaName(isa));
      torch::Tensor h, w, y;
      MakeData(c, c.n + c.h, h, w, y);
      const Grads ref = RunLoss(false, h, w, y);
      const Grads got = RunLoss(true, h, w, y);
      // fp32 tolerance: relative to the magnitudes involved (a logit of 150 carries rounding of
      // ~1e-5 in any fp32 computation, ATen's included).
      const double lref = ref.loss.item<double>();
      EXPECT_LT(std::abs(got.loss.item<double>() - lref), 1e-5 * std::max(1.0, std::abs(lref)))
          << where;
      const double gh_scale = std::max(1.0, ref.gh.abs().max().item<double>());
      const double gw_scale = std::max(1.0, ref.gw.abs().max().item<double>());
      EXPECT_LT(MaxAbsDiff(got.gh, ref.gh), 2e-5 * gh_scale) << where;
      EXPECT_LT(MaxAbsDiff(got.gw, ref.gw), 2e-5 * gw_scale) << where;
      // And as close to the exact (float64) result as ATen's fp32 is, within a small factor.
      const Grads exact = RunLoss(false, h.to(torch::kDouble), w.to(torch::kDouble), y);
      EXPECT_LE(MaxAbsDiff(got.gh, exact.gh), 4 * MaxAbsDiff(ref.gh, exact.gh) + 1e-6) << where;
      EXPECT_LE(MaxAbsDiff(got.gw, exact.gw), 4 * MaxAbsDiff(ref.gw, exact.gw) + 1e-6) << where;
      // The loss's fp32 rounding floor grows with its magnitude (as the relative check above).
      const double loss_floor = 1e-6 * std::max(1.0, std::abs(exact.loss.item<double>()));
      EXPECT_LE(MaxAbsDiff(got.loss, exact.loss), 4 * MaxAbsDiff(ref.loss, exact.loss) + loss_floor)
          << where;
      if (c.n > 10) EXPECT_EQ(got.gh.narrow(0, 4, 3).abs().max().item<float>(), 0.0f) << where;
    }
  }
}

TEST(LmLossCpuTest, LossWithoutGradientsAndFrozenWeight) {
  ConfigureCpuThreads(2);
  const auto check = [](CpuIsa isa, torch::Tensor h, torch::Tensor w, torch::Tensor y) {
    const LmLossOptions o = Fused();
    const torch::Tensor ref = torch::nn::functional::cross_entropy(h.mm(w.t()), y);
    {
      torch::NoGradGuard no_grad;  // evaluation: pass 1 only
      EXPECT_LT(MaxAbsDiff(FusedLmLoss(h, w, y, o), ref), 1e-5) << CpuIsaName(isa);
    }
    // Only d/dhidden (frozen embedding).
    torch::Tensor hg = h.clone().requires_grad_(true);
    FusedLmLoss(hg, w, y, o).backward();
    torch::Tensor hr = h.clone().requires_grad_(true);
    torch::nn::functional::cross_entropy(hr.mm(w.t()), y).backward();
    EXPECT_LT(MaxAbsDiff(hg.grad(), hr.grad()), 1e-5) << CpuIsaName(isa);
  };
  ForEachFusedPath({50, 64, 333}, 7, check);
}

TEST(LmLossCpuTest, SameBitsForAnyThreadCount) {
  // Parts of the vocabulary are taken dynamically by threads but each writes its own outputs,
  // reduced in a fixed order: the result must not depend on threads or timing (bit-exact resume).
  const auto check = [](CpuIsa isa, torch::Tensor h, torch::Tensor w, torch::Tensor y) {
    ConfigureCpuThreads(1);
    const Grads one = RunLoss(true, h, w, y);
    ConfigureCpuThreads(2);
    const Grads two = RunLoss(true, h, w, y);
    const Grads again = RunLoss(true, h, w, y);
    EXPECT_TRUE(torch::equal(one.loss, two.loss)) << CpuIsaName(isa);
    EXPECT_TRUE(torch::equal(one.gh, two.gh)) << CpuIsaName(isa);
    EXPECT_TRUE(torch::equal(one.gw, two.gw)) << CpuIsaName(isa);
    EXPECT_TRUE(torch::equal(two.gw, again.gw)) << CpuIsaName(isa);
  };
  ForEachFusedPath({517, 64, 5000}, 11, check);
}

TEST(LmLossCpuTest, NanPropagatesLikeTorch) {
  ConfigureCpuThreads(2);
  const auto check = [](CpuIsa isa, torch::Tensor h, torch::Tensor w, torch::Tensor y) {
    const LmLossOptions o = Fused();
    torch::Tensor hn = h.clone();
    hn[2][5] = std::numeric_limits<float>::quiet_NaN();
    EXPECT_TRUE(std::isnan(FusedLmLoss(hn, w, y, o).item<float>())) << CpuIsaName(isa);
    torch::Tensor wn = w.clone();
    wn[60][1] = std::numeric_limits<float>::quiet_NaN();  // not a target: only via the softmax
    y.masked_fill_(y == 60, 61);
    EXPECT_TRUE(std::isnan(FusedLmLoss(h, wn, y, o).item<float>())) << CpuIsaName(isa);
  };
  ForEachFusedPath({20, 64, 100}, 3, check);
}

TEST(LmLossCpuTest, AllLabelsIgnoredIsNanLikeTorch) {
  torch::Tensor h = torch::randn({4, 64});
  torch::Tensor w = torch::randn({40, 64});
  torch::Tensor y = torch::full({4}, -100, torch::kLong);
  const LmLossOptions o = Fused();
  EXPECT_TRUE(std::isnan(FusedLmLoss(h, w, y, o).item<float>()));
  EXPECT_TRUE(std::isnan(torch::nn::functional::cross_entropy(h.mm(w.t()), y).item<float>()));
}

TEST(LmLossCpuTest, BlasKernelAndGenericPathAreNotFused) {
  LmLossOptions o;
  o.cpu_kernel = CpuLmKernel::kBlas;
  EXPECT_EQ(std::string(CpuLmLossKernelName(64, o)).rfind("blas-", 0), 0u);
  ScopedCpuIsa generic(CpuIsa::kGeneric);
  ASSERT_TRUE(generic.ok());
  EXPECT_EQ(FusedLmKernelsFor(CpuIsa::kGeneric), nullptr);
  EXPECT_EQ(std::string(CpuLmLossKernelName(64)).rfind("blas-", 0), 0u);
}

}  // namespace
}  // namespace monoroute::model
