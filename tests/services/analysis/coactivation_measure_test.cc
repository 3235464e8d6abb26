// Co-activation on routing with known truth: two pathways planted to be always selected together
// are found (their pair's lift and the layer's distance above the null), routing drawn at random
// (uniform or with skewed loads) shows nothing, and the expectation adds up to the observed
// totals.
#include "services/analysis/coactivation_measure.h"

#include <gtest/gtest.h>

#include <random>

namespace monoroute::analysis {
namespace {

// `events` tokens in sequences of 64, top-k sets drawn by `draw(rng, set)`.
template <typename Draw>
RoutingTable MakeTable(uint32_t P, uint32_t k, size_t events, Draw draw) {
  auto b = RoutingTableBuilder::Create(P, k);
  EXPECT_TRUE(b.ok());
  std::mt19937_64 rng(5);
  std::vector<uint64_t> seq;
  std::vector<uint32_t> tok, pw, pos;
  std::vector<uint32_t> set;
  for (size_t e = 0; e < events; ++e) {
    seq.push_back(e / 64);
    pos.push_back(static_cast<uint32_t>(e % 64));
    tok.push_back(static_cast<uint32_t>(rng() % 100));
    draw(rng, &set);
    pw.insert(pw.end(), set.begin(), set.end());
  }
  EXPECT_TRUE(b->Add(events, seq.data(), tok.data(), pw.data(), pos.data()).ok());
  return b->Build();
}

// k distinct pathways, each drawn in proportion to `weight` among those not yet drawn.
void Weighted(std::mt19937_64& rng, const std::vector<double>& weight, uint32_t k,
              std::vector<uint32_t>* set) {
  set->clear();
  std::vector<double> w = weight;
  while (set->size() < k) {
    std::discrete_distribution<uint32_t> d(w.begin(), w.end());
    const uint32_t p = d(rng);
    set->push_back(p);
    w[p] = 0;
  }
}

AnalysisOptions Options() {
  AnalysisOptions o;
  o.bootstrap = 100;
  return o;
}

const CoactivationPair* FindPair(const CoactivationResult& r, uint32_t a, uint32_t b) {
  for (const CoactivationPair& p : r.pairs) {
    if (p.pathway_a == a && p.pathway_b == b) return &p;
  }
  return nullptr;
}

TEST(CoactivationMeasureTest, ExpectationAddsUpToTheObservedTotals) {
  const std::vector<double> load = {10, 30, 20, 40, 0};  // 50 tokens, k = 2
  const std::vector<double> e = PairExpectations(load, 2);
  double all = 0;
  for (uint32_t a = 0; a < 5; ++a) {
    double mine = 0;
    for (uint32_t b = 0; b < 5; ++b) {
      EXPECT_DOUBLE_EQ(e[a * 5 + b], e[b * 5 + a]);
      mine += e[a * 5 + b];
      if (b > a) all += e[a * 5 + b];
    }
    EXPECT_NEAR(mine, load[a] * 1, 1e-6) << a;
    EXPECT_EQ(e[a * 5 + a], 0.0);
  }
  EXPECT_NEAR(all, 50.0, 1e-6);
  for (double x : PairExpectations(load, 1)) EXPECT_EQ(x, 0.0);
}

TEST(CoactivationMeasureTest, PlantedPairIsFound) {
  // Pathways 2 and 5 are selected together whenever one of them is.
  const RoutingTable t = MakeTable(8, 2, 64000, [](std::mt19937_64& rng, auto* set) {
    set->clear();
    const uint32_t first = rng() % 8;
    if (first == 2 || first == 5) {
      *set = {2, 5};
      return;
    }
    uint32_t second;
    do second = rng() % 8;
    while (second == first || second == 2 || second == 5);
    *set = {first, second};
  });
  const CoactivationResult r = MeasureCoactivation(t, Options(), 0);
  EXPECT_TRUE(CiAbove(r.distance.ci, 0.1)) << r.distance.excess;
  const CoactivationPair* planted = FindPair(r, 2, 5);
  ASSERT_NE(planted, nullptr);
  EXPECT_NEAR(planted->together, t.events() / 4.0, 600.0);  // first draw 2 or 5
  EXPECT_GT(planted->lift.observed, 3.0);
  EXPECT_TRUE(CiAbove(planted->lift.ci, 1.0));
  const CoactivationPair* never = FindPair(r, 1, 2);
  ASSERT_NE(never, nullptr);
  EXPECT_EQ(never->together, 0u);
  EXPECT_LT(never->lift.ci.high, 0.0);
}

TEST(CoactivationMeasureTest, PlantedPairBeyondSixtyFourPathways) {
  // 160 pathways (three-word masks), top-4: pathways 70 and 150 always together.
  const RoutingTable t = MakeTable(160, 4, 64000, [](std::mt19937_64& rng, auto* set) {
    set->clear();
    if (rng() % 10 == 0) *set = {70, 150};
    while (set->size() < 4) {
      const uint32_t p = static_cast<uint32_t>(rng() % 160);
      if (p == 70 || p == 150) continue;
      if (std::find(set->begin(), set->end(), p) == set->end()) set->push_back(p);
    }
  });
  const CoactivationResult r = MeasureCoactivation(t, Options(), 0);
  // 12,720 pairs: the listed ones are at most kMaxListedPairs, each with an interval off the null.
  ASSERT_LE(r.pairs.size(), kMaxListedPairs);
  for (const CoactivationPair& p : r.pairs) EXPECT_FALSE(CiCovers(p.lift.ci, 0.0));
  const CoactivationPair* planted = FindPair(r, 70, 150);
  ASSERT_NE(planted, nullptr);
  EXPECT_NEAR(planted->together, 6400.0, 300.0);
  EXPECT_TRUE(CiAbove(planted->lift.ci, 10.0)) << planted->lift.observed;
}

void ExpectNothing(const CoactivationResult& r) {
  EXPECT_TRUE(CiCovers(r.distance.ci, 0.0))
      << r.distance.observed << " null " << r.distance.null_mean << " ci [" << r.distance.ci.low
      << ", " << r.distance.ci.high << "]";
  int outside = 0;
  for (const CoactivationPair& p : r.pairs) outside += !CiCovers(p.lift.ci, 0.0);
  EXPECT_LE(outside, static_cast<int>(r.pairs.size() / 10 + 1)) << "of " << r.pairs.size();
}

TEST(CoactivationMeasureTest, UniformRandomRoutingShowsNothing) {
  const std::vector<double> flat(16, 1.0);
  const RoutingTable t = MakeTable(
      16, 4, 64000, [&](std::mt19937_64& rng, auto* set) { Weighted(rng, flat, 4, set); });
  const CoactivationResult r = MeasureCoactivation(t, Options(), 0);
  EXPECT_EQ(r.pairs.size(), 120u);
  ExpectNothing(r);
}

TEST(CoactivationMeasureTest, SkewedLoadsAloneShowNothing) {
  std::vector<double> skew(8);
  for (int p = 0; p < 8; ++p) skew[p] = 1.0 / (1 + p);
  const RoutingTable t =
      MakeTable(8, 2, 64000, [&](std::mt19937_64& rng, auto* set) { Weighted(rng, skew, 2, set); });
  ExpectNothing(MeasureCoactivation(t, Options(), 0));
}

TEST(CoactivationMeasureTest, TopOneHasNoPairs) {
  const RoutingTable t = MakeTable(4, 1, 640, [](std::mt19937_64& rng, auto* set) {
    *set = {static_cast<uint32_t>(rng() % 4)};
  });
  const CoactivationResult r = MeasureCoactivation(t, Options(), 0);
  EXPECT_TRUE(r.pairs.empty());
  EXPECT_TRUE(std::isnan(r.distance.observed));
}

}  // namespace
}  // namespace monoroute::analysis
