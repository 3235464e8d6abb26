// Locality on routing with known truth: sticky routing (a token keeps the previous token's set
// with probability 0.7) is found; i.i.d. sets, and sets that depend on the sequence but not on
// the neighbouring token, show nothing against the within-sequence null; the null level is the
// exact permutation expectation.
#include "services/analysis/locality_measure.h"

#include <gtest/gtest.h>

#include <random>

namespace monoroute::analysis {
namespace {

std::vector<uint32_t> RandomSet(std::mt19937_64& rng, uint32_t P, uint32_t k, uint32_t offset = 0,
                                uint32_t range = 0) {
  if (range == 0) range = P;
  std::vector<uint32_t> set;
  while (set.size() < k) {
    const uint32_t p = (offset + rng() % range) % P;
    if (std::find(set.begin(), set.end(), p) == set.end()) set.push_back(p);
  }
  return set;
}

// 1000 sequences of 64 tokens, P = 16, k = 4: each token keeps the previous token's set with
// probability `stick`, else draws one (from 8 pathways the sequence prefers when `by_sequence`).
RoutingTable Sticky(double stick, bool by_sequence = false, uint32_t P = 16) {
  auto b = RoutingTableBuilder::Create(P, 4);
  EXPECT_TRUE(b.ok());
  std::mt19937_64 rng(9);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<uint64_t> seq;
  std::vector<uint32_t> tok, pw, pos;
  for (uint64_t s = 0; s < 1000; ++s) {
    const uint32_t offset = static_cast<uint32_t>(rng() % 16);
    std::vector<uint32_t> set;
    for (uint32_t i = 0; i < 64; ++i) {
      if (i == 0 || u(rng) >= stick) set = RandomSet(rng, P, 4, offset, by_sequence ? 8 : 0);
      seq.push_back(s);
      pos.push_back(i);
      tok.push_back(static_cast<uint32_t>(rng() % 50));
      pw.insert(pw.end(), set.begin(), set.end());
    }
  }
  EXPECT_TRUE(b->Add(seq.size(), seq.data(), tok.data(), pw.data(), pos.data()).ok());
  return b->Build();
}

AnalysisOptions Options() {
  AnalysisOptions o;
  o.bootstrap = 100;
  return o;
}

TEST(LocalityMeasureTest, StickyRoutingIsFound) {
  const Effect e = MeasureLocality(Sticky(0.7), Options());
  // Kept sets: 0.7 of the pairs overlap fully, the rest by chance (about k / P).
  EXPECT_NEAR(e.observed, 0.7 + 0.3 * 0.25, 0.02);
  EXPECT_TRUE(CiAbove(e.ci, 0.3)) << e.excess;
}

TEST(LocalityMeasureTest, StickyRoutingIsFoundBeyondSixtyFourPathways) {
  const Effect e = MeasureLocality(Sticky(0.7, false, 200), Options());  // four-word masks
  EXPECT_NEAR(e.observed, 0.7 + 0.3 * 4.0 / 200, 0.02);
  EXPECT_TRUE(CiAbove(e.ci, 0.5)) << e.excess;
  const Effect iid = MeasureLocality(Sticky(0.0, false, 200), Options());
  EXPECT_TRUE(CiCovers(iid.ci, 0.0)) << iid.excess;
}

TEST(LocalityMeasureTest, IndependentTokensShowNothing) {
  const Effect e = MeasureLocality(Sticky(0.0), Options());
  EXPECT_NEAR(e.observed, 0.25, 0.01);
  EXPECT_TRUE(CiCovers(e.ci, 0.0)) << e.excess << " [" << e.ci.low << ", " << e.ci.high << "]";
}

TEST(LocalityMeasureTest, SequencePreferenceAloneShowsNothing) {
  // Each sequence draws from its own 8 pathways: neighbours overlap more than k / P, by the
  // sequence, not by adjacency; the within-sequence null has the same level.
  const Effect e = MeasureLocality(Sticky(0.0, true), Options());
  EXPECT_GT(e.observed, 0.4);
  EXPECT_TRUE(CiCovers(e.ci, 0.0)) << e.excess << " [" << e.ci.low << ", " << e.ci.high << "]";
}

TEST(LocalityMeasureTest, NullLevelIsThePermutationExpectation) {
  // One sequence of 3 tokens, k = 1: sets {0}, {0}, {1}. Adjacent pairs: 2, overlaps 1.
  // Permuted: sum_p c_p (c_p - 1) / (n (n - 1)) = 2 / 6 per pair.
  auto b = RoutingTableBuilder::Create(2, 1);
  ASSERT_TRUE(b.ok());
  const uint64_t seq[] = {7, 7, 7};
  const uint32_t tok[] = {1, 2, 3}, pw[] = {0, 0, 1}, pos[] = {0, 1, 2};
  ASSERT_TRUE(b->Add(3, seq, tok, pw, pos).ok());
  const Effect e = MeasureLocality(b->Build(), Options());
  EXPECT_DOUBLE_EQ(e.observed, 0.5);
  EXPECT_NEAR(e.null_mean, 1.0 / 3.0, 1e-12);
  EXPECT_TRUE(std::isnan(e.ci.low));  // one sequence: no interval
}

}  // namespace
}  // namespace monoroute::analysis
