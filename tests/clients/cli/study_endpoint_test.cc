// The study's primary-endpoint aggregator on synthetic studies with known truth (no training):
// t quantiles and power against known values, a planted difference of 0.01 with seed SD 0.009
// detected >= 80% of the time at the seed count it recommends, a zero difference called a
// difference <= 5% of the time, and the TOST verdicts. Monte Carlo with fixed seeds.
#include "clients/cli/study_endpoint.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace monoroute::cli {
namespace {

constexpr double kSeedSd = 0.009;  // SD across seeds of each arm's value (arms independent)
constexpr int kStudies = 2000;

// One simulated study: per seed, GLBL = base + diff + noise, other = base + noise.
void Simulate(std::mt19937_64& rng, int seeds, double diff, std::vector<double>* glbl,
              std::vector<double>* other) {
  std::normal_distribution<double> noise(0.0, kSeedSd);
  glbl->clear();
  other->clear();
  for (int s = 0; s < seeds; ++s) {
    glbl->push_back(0.04 + diff + noise(rng));
    other->push_back(0.04 + noise(rng));
  }
}

TEST(StudyEndpoint, TDistributionMatchesTables) {
  EXPECT_NEAR(StudentTQuantile(0.975, 1), 12.706, 2e-3);
  EXPECT_NEAR(StudentTQuantile(0.975, 2), 4.303, 1e-3);
  EXPECT_NEAR(StudentTQuantile(0.975, 10), 2.228, 1e-3);
  EXPECT_NEAR(StudentTQuantile(0.95, 14), 1.761, 1e-3);
  EXPECT_NEAR(StudentTQuantile(0.975, 1000), 1.962, 1e-3);
  EXPECT_NEAR(StudentTUpperTail(0.0, 5), 0.5, 1e-7);
  // Noncentral: for large df, T' ~ N(ncp, 1).
  EXPECT_NEAR(StudentTUpperTail(1.96, 5000, 2.8), 0.5 * std::erfc((1.96 - 2.8) / M_SQRT2), 2e-3);
}

TEST(StudyEndpoint, PlantedDifferenceIsDetectedAtTheRecommendedSeeds) {
  EndpointOptions o;  // margin 0.01, alpha 0.05, target power 0.8
  std::mt19937_64 rng(11);
  std::vector<double> g, b;
  // A pilot study: its observed SD of the paired differences gives the recommendation.
  Simulate(rng, 4000, 0.01, &g, &b);
  const PairedComparison pilot = ComparePaired(g, b, o);
  ASSERT_NEAR(pilot.sd, kSeedSd * std::sqrt(2.0), 0.0004);
  const int n = pilot.recommended_seeds;
  EXPECT_GE(n, 10);
  EXPECT_LE(n, 25);
  EXPECT_GE(n, pilot.recommended_seeds_at_observed_sd);
  // The claim at the observed SD: n seeds reach 80% power there, n - 1 fall short.
  const int m = pilot.recommended_seeds_at_observed_sd;
  EXPECT_GE(PairedPowerAbove(m, 0.01, pilot.sd, o), 0.8);
  EXPECT_LT(PairedPowerAbove(m - 1, 0.01, pilot.sd, o), 0.8);
  // The power is the verdict's: simulated studies of m seeds call "GLBL better" as often.
  int better = 0;
  for (int i = 0; i < kStudies; ++i) {
    Simulate(rng, m, 0.01, &g, &b);
    if (ComparePaired(g, b, o).verdict == kGlblBetter) ++better;
  }
  EXPECT_NEAR(static_cast<double>(better) / kStudies,
              PairedPowerAbove(m, 0.01, kSeedSd * std::sqrt(2.0), o), 0.025);
}

// The procedure as a study uses it: a study of a few seeds recommends a seed count (at its SD's
// 80% upper bound); studies of that many seeds detect the planted difference >= 80% of the time,
// over the randomness of the first study too.
TEST(StudyEndpoint, RecommendationFromAFewSeedsReachesThePower) {
  EndpointOptions o;
  std::mt19937_64 rng(14);
  std::vector<double> g, b;
  int better = 0, studies = 0;
  for (int pilot = 0; pilot < 40; ++pilot) {
    Simulate(rng, 6, 0.01, &g, &b);
    const int n = ComparePaired(g, b, o).recommended_seeds;
    ASSERT_GE(n, 2);
    for (int i = 0; i < kStudies / 40; ++i, ++studies) {
      Simulate(rng, n, 0.01, &g, &b);
      if (ComparePaired(g, b, o).verdict == kGlblBetter) ++better;
    }
  }
  EXPECT_GE(static_cast<double>(better) / studies, 0.8);
}

TEST(StudyEndpoint, ZeroDifferenceIsRarelyCalledADifference) {
  EndpointOptions o;
  std::mt19937_64 rng(12);
  std::vector<double> g, b;
  for (int seeds : {3, 15}) {
    int called = 0;
    for (int i = 0; i < kStudies; ++i) {
      Simulate(rng, seeds, 0.0, &g, &b);
      const std::string v = ComparePaired(g, b, o).verdict;
      if (v == kGlblBetter || v == kGlblWorse) ++called;
    }
    EXPECT_LE(static_cast<double>(called) / kStudies, 0.05) << seeds << " seeds";
  }
}

TEST(StudyEndpoint, Verdicts) {
  EndpointOptions o;
  std::mt19937_64 rng(13);
  std::vector<double> g, b;
  // Many seeds, no difference: equivalent within the margin.
  Simulate(rng, 60, 0.0, &g, &b);
  EXPECT_EQ(ComparePaired(g, b, o).verdict, kEquivalent);
  // A clear loss: worse.
  Simulate(rng, 20, -0.03, &g, &b);
  PairedComparison c = ComparePaired(g, b, o);
  EXPECT_EQ(c.verdict, kGlblWorse);
  EXPECT_LT(c.ci_high, 0);
  EXPECT_LE(c.ci_low, c.tost_low);
  // Three seeds: power well below 80%, inconclusive at a difference of the margin's size.
  Simulate(rng, 3, 0.01, &g, &b);
  c = ComparePaired(g, b, o);
  EXPECT_EQ(c.n, 3);
  EXPECT_LT(c.power, 0.5);
  EXPECT_GT(c.recommended_seeds_at_observed_sd, 3);
  // Two degrees of freedom: the SD's 80% upper bound is ~2x the estimate, and so is the need.
  EXPECT_NEAR(c.sd_upper / c.sd, std::sqrt(2.0 / 0.446), 0.1);
  EXPECT_GT(c.recommended_seeds, c.recommended_seeds_at_observed_sd);
  // Missing values are dropped pairwise; one seed has no interval.
  c = ComparePaired({0.1, NAN}, {0.05, 0.02}, o);
  EXPECT_EQ(c.n, 1);
  EXPECT_EQ(c.verdict, kInconclusive);
  EXPECT_TRUE(std::isnan(c.power));
}

}  // namespace
}  // namespace monoroute::cli
