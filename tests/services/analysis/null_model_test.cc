// Tests of the permutation null: closed form vs exact enumeration and vs Monte Carlo.
#include "services/analysis/null_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <vector>

namespace monoroute::analysis {
namespace {

double LogChoose(double n, double k) {
  return std::lgamma(n + 1) - std::lgamma(k + 1) - std::lgamma(n - k + 1);
}

// Exact moments of H and KL by enumerating every multivariate hypergeometric outcome.
NullMoments Enumerate(const std::vector<uint64_t>& c, uint64_t n) {
  uint64_t M = 0;
  for (uint64_t v : c) M += v;
  double eh = 0, eh2 = 0, ek = 0, ek2 = 0, mass = 0;
  std::vector<uint64_t> x(c.size(), 0);
  std::function<void(size_t, uint64_t)> rec = [&](size_t j, uint64_t left) {
    if (j == c.size()) {
      if (left != 0) return;
      double lp = -LogChoose(M, n);
      double h = 0, kl = 0;
      for (size_t i = 0; i < c.size(); ++i) {
        lp += LogChoose(c[i], x[i]);
        if (x[i] == 0) continue;
        const double p = static_cast<double>(x[i]) / n, q = static_cast<double>(c[i]) / M;
        h -= p * std::log(p);
        kl += p * std::log(p / q);
      }
      const double w = std::exp(lp);
      mass += w;
      eh += w * h;
      eh2 += w * h * h;
      ek += w * kl;
      ek2 += w * kl * kl;
      return;
    }
    for (uint64_t v = 0; v <= std::min(c[j], left); ++v) {
      x[j] = v;
      rec(j + 1, left - v);
    }
    x[j] = 0;
  };
  rec(0, n);
  NullMoments r;
  r.entropy_mean = eh / mass;
  r.entropy_std = std::sqrt(eh2 / mass - r.entropy_mean * r.entropy_mean);
  r.kl_mean = ek / mass;
  r.kl_std = std::sqrt(ek2 / mass - r.kl_mean * r.kl_mean);
  return r;
}

TEST(PermutationNullTest, ClosedFormMeanEqualsExactEnumeration) {
  const std::vector<uint64_t> c = {5, 3, 2, 2, 1, 1, 1};
  PermutationNull null(c);
  for (uint64_t n : {1u, 3u, 6u, 10u, 15u}) {
    const NullMoments exact = Enumerate(c, n);
    const NullMoments cf = null.ClosedForm(n);
    EXPECT_NEAR(cf.entropy_mean, exact.entropy_mean, 1e-9) << "n=" << n;
    EXPECT_NEAR(cf.kl_mean, exact.kl_mean, 1e-9) << "n=" << n;
  }
}

TEST(PermutationNullTest, ClosedFormStdCloseToExactOnSmallCase) {
  const std::vector<uint64_t> c = {6, 5, 4, 3, 3, 2, 2, 1};
  PermutationNull null(c);
  for (uint64_t n : {6u, 10u, 16u}) {
    const NullMoments exact = Enumerate(c, n);
    const NullMoments cf = null.ClosedForm(n);
    EXPECT_NEAR(cf.entropy_std, exact.entropy_std, 0.1 * exact.entropy_std) << "n=" << n;
    EXPECT_NEAR(cf.kl_std, exact.kl_std, 0.1 * exact.kl_std) << "n=" << n;
  }
}

TEST(PermutationNullTest, MonteCarloMatchesClosedFormOnZipfPopulation) {
  std::vector<uint64_t> c;
  for (int j = 1; j <= 300; ++j) c.push_back(static_cast<uint64_t>(20000.0 / j) + 1);
  PermutationNull null(c);
  for (uint64_t n : {200u, 5000u, 30000u}) {
    const NullMoments cf = null.ClosedForm(n);
    const NullMoments mc = null.MonteCarlo(n, 400, 7);
    // Mean within 4 standard errors of the Monte Carlo estimate.
    EXPECT_NEAR(cf.entropy_mean, mc.entropy_mean, 4 * mc.entropy_std / std::sqrt(400.0))
        << "n=" << n;
    EXPECT_NEAR(cf.kl_mean, mc.kl_mean, 4 * mc.kl_std / std::sqrt(400.0)) << "n=" << n;
    EXPECT_NEAR(cf.entropy_std, mc.entropy_std, 0.1 * mc.entropy_std) << "n=" << n;
    EXPECT_NEAR(cf.kl_std, mc.kl_std, 0.1 * mc.kl_std) << "n=" << n;
  }
}

TEST(PermutationNullTest, LargeCountsUseTaylorBranchConsistently) {
  // Column totals so large that sd > 20: the expansion branch.
  std::vector<uint64_t> c = {4000000, 2000000, 1000000, 500000, 250000};
  PermutationNull null(c);
  const uint64_t n = 1000000;
  const NullMoments cf = null.ClosedForm(n);
  const NullMoments mc = null.MonteCarlo(n, 300, 3);
  EXPECT_NEAR(cf.entropy_mean, mc.entropy_mean, 4 * mc.entropy_std / std::sqrt(300.0));
  EXPECT_NEAR(cf.entropy_std, mc.entropy_std, 0.1 * mc.entropy_std);
  EXPECT_NEAR(cf.kl_mean, mc.kl_mean, 4 * mc.kl_std / std::sqrt(300.0));
}

TEST(PermutationNullTest, SeriesBranchAgreesWithMonteCarloNearItsThreshold) {
  // Counts whose null sd straddles the switch from exact sums to the series (sd 8, mu ~ 85).
  std::vector<uint64_t> c;
  for (int j = 0; j < 200; ++j) c.push_back(200 + 10 * j);
  PermutationNull null(c);
  for (uint64_t n : {40000u, 100000u}) {
    const NullMoments cf = null.ClosedForm(n);
    const NullMoments mc = null.MonteCarlo(n, 1000, 13);
    EXPECT_NEAR(cf.entropy_mean, mc.entropy_mean, 4 * mc.entropy_std / std::sqrt(1000.0));
    EXPECT_NEAR(cf.kl_mean, mc.kl_mean, 4 * mc.kl_std / std::sqrt(1000.0));
    EXPECT_NEAR(cf.entropy_std, mc.entropy_std, 0.1 * mc.entropy_std);
    EXPECT_NEAR(cf.kl_std, mc.kl_std, 0.1 * mc.kl_std);
  }
}

TEST(PermutationNullTest, WholePopulationHasNoSpread) {
  PermutationNull null({4, 4});
  const NullMoments cf = null.ClosedForm(8);
  EXPECT_NEAR(cf.entropy_mean, std::log(2.0), 1e-12);
  EXPECT_NEAR(cf.entropy_std, 0.0, 1e-12);
  EXPECT_NEAR(cf.kl_mean, 0.0, 1e-12);
  EXPECT_TRUE(std::isnan(null.ClosedForm(0).entropy_mean));
}

TEST(SampleHypergeometricTest, MeanAndVarianceMatchTheory) {
  Rng rng(11);
  for (auto [R, c, m] : std::vector<std::tuple<uint64_t, uint64_t, uint64_t>>{
           {100, 10, 20}, {100000, 3000, 40000}, {50, 45, 30}}) {
    double s = 0, s2 = 0;
    const int N = 20000;
    for (int i = 0; i < N; ++i) {
      const double x = SampleHypergeometric(R, c, m, rng);
      s += x;
      s2 += x * x;
    }
    const double mean = s / N, var = s2 / N - mean * mean;
    const double q = static_cast<double>(c) / R;
    const double tmean = m * q, tvar = m * q * (1 - q) * (R - m) / (R - 1.0);
    EXPECT_NEAR(mean, tmean, 4 * std::sqrt(tvar / N) + 1e-9);
    EXPECT_NEAR(var, tvar, 0.06 * tvar);
  }
}

TEST(SampleHypergeometricTest, MultivariateSumsToN) {
  Rng rng(5);
  std::vector<uint64_t> out;
  SampleMultivariateHypergeometric({10, 0, 7, 3}, 12, rng, &out);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0] + out[1] + out[2] + out[3], 12u);
  EXPECT_EQ(out[1], 0u);
  EXPECT_LE(out[0], 10u);
  EXPECT_LE(out[2], 7u);
  EXPECT_LE(out[3], 3u);
}

}  // namespace
}  // namespace monoroute::analysis
