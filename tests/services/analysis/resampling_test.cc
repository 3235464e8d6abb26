// Poisson block weights, replicate summaries, normal quantiles and Benjamini-Hochberg.
#include "services/analysis/resampling.h"

#include <gtest/gtest.h>

#include <cmath>

namespace monoroute::analysis {
namespace {

TEST(ResamplingTest, PoissonWeightsHaveMeanAndVarianceOne) {
  double s = 0, s2 = 0, zeros = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    const double w = PoissonBlockWeight(3, 5, static_cast<uint64_t>(i));
    s += w;
    s2 += w * w;
    zeros += w == 0;
  }
  EXPECT_NEAR(s / n, 1.0, 0.01);
  EXPECT_NEAR(s2 / n - (s / n) * (s / n), 1.0, 0.02);
  EXPECT_NEAR(zeros / n, std::exp(-1.0), 0.005);
  // Deterministic and keyed: the same key gets the same weight, another replicate another one.
  EXPECT_EQ(PoissonBlockWeight(3, 5, 77), PoissonBlockWeight(3, 5, 77));
  int differ = 0;
  for (uint64_t k = 0; k < 100; ++k) differ += PoissonBlockWeight(3, 5, k) != PoissonBlockWeight(3, 6, k);
  EXPECT_GT(differ, 30);
}

TEST(ResamplingTest, SummariseIgnoresNaN) {
  const MeanSd m = Summarise({1.0, 3.0, std::nan("")});
  EXPECT_EQ(m.n, 2);
  EXPECT_DOUBLE_EQ(m.mean, 2.0);
  EXPECT_NEAR(m.sd, std::sqrt(2.0), 1e-12);
  EXPECT_TRUE(std::isnan(Summarise({}).mean));
}

TEST(ResamplingTest, NormalQuantileAndTail) {
  EXPECT_NEAR(NormalQuantile(0.975), 1.959963984540054, 1e-9);
  EXPECT_NEAR(NormalQuantile(0.5), 0.0, 1e-12);
  EXPECT_NEAR(NormalQuantile(1e-6), -4.753424308822899, 1e-8);
  EXPECT_NEAR(NormalUpperTail(1.959963984540054), 0.025, 1e-9);
}

TEST(ResamplingTest, BenjaminiHochberg) {
  // Classic example: p = 0.01, 0.02, 0.03, 0.04, 0.05 -> all q = 0.05.
  auto q = BenjaminiHochberg({0.05, 0.01, 0.04, 0.02, 0.03});
  for (double v : q) EXPECT_NEAR(v, 0.05, 1e-12);
  q = BenjaminiHochberg({0.001, 0.5, std::nan(""), 0.04});
  EXPECT_NEAR(q[0], 0.003, 1e-12);
  EXPECT_NEAR(q[3], 0.06, 1e-12);
  EXPECT_NEAR(q[1], 0.5, 1e-12);
  EXPECT_TRUE(std::isnan(q[2]));
}

}  // namespace
}  // namespace monoroute::analysis
