// Cross-layer consistency on routing with known truth: a next layer that copies this layer's
// sets (shifted) is found; an independent next layer, and one that depends only on the sequence,
// show nothing against the within-sequence null; tokens are paired by sequence and position.
#include "services/analysis/cross_layer_measure.h"

#include <gtest/gtest.h>

#include <random>

namespace monoroute::analysis {
namespace {

constexpr uint32_t kP = 16, kK = 4;

std::vector<uint32_t> RandomSet(std::mt19937_64& rng, uint32_t offset, uint32_t range) {
  std::vector<uint32_t> set;
  while (set.size() < kK) {
    const uint32_t p = (offset + rng() % range) % kP;
    if (std::find(set.begin(), set.end(), p) == set.end()) set.push_back(p);
  }
  return set;
}

enum class Next { kCopy, kIndependent, kSequenceOnly };

struct Layers {
  RoutingTable a, b;
};

// 500 sequences of 64 tokens; layer b per `how`.
Layers Make(Next how) {
  auto ba = RoutingTableBuilder::Create(kP, kK), bb = RoutingTableBuilder::Create(kP, kK);
  EXPECT_TRUE(ba.ok() && bb.ok());
  std::mt19937_64 rng(3);
  std::vector<uint64_t> seq;
  std::vector<uint32_t> tok, pa, pb, pos;
  for (uint64_t s = 0; s < 500; ++s) {
    const uint32_t offset = static_cast<uint32_t>(rng() % kP);
    for (uint32_t i = 0; i < 64; ++i) {
      const bool seq_only = how == Next::kSequenceOnly;
      const std::vector<uint32_t> a = RandomSet(rng, offset, seq_only ? 8 : kP);
      std::vector<uint32_t> b;
      if (how == Next::kCopy) {
        for (uint32_t p : a) b.push_back((p + 3) % kP);
      } else {
        b = RandomSet(rng, offset, seq_only ? 8 : kP);
      }
      seq.push_back(s);
      pos.push_back(i);
      tok.push_back(static_cast<uint32_t>(rng() % 50));
      pa.insert(pa.end(), a.begin(), a.end());
      pb.insert(pb.end(), b.begin(), b.end());
    }
  }
  EXPECT_TRUE(ba->Add(seq.size(), seq.data(), tok.data(), pa.data(), pos.data()).ok());
  // The next layer's events arrive in reverse order: pairing is by sequence and position.
  std::vector<uint64_t> rseq(seq.rbegin(), seq.rend());
  std::vector<uint32_t> rtok(tok.rbegin(), tok.rend()), rpos(pos.rbegin(), pos.rend());
  std::vector<uint32_t> rpb;
  for (size_t e = seq.size(); e-- > 0;) rpb.insert(rpb.end(), &pb[e * kK], &pb[e * kK] + kK);
  EXPECT_TRUE(bb->Add(rseq.size(), rseq.data(), rtok.data(), rpb.data(), rpos.data()).ok());
  return {ba->Build(), bb->Build()};
}

AnalysisOptions Options() {
  AnalysisOptions o;
  o.bootstrap = 100;
  o.estimand_events = 0;
  return o;
}

TEST(CrossLayerMeasureTest, CopiedRoutingIsFound) {
  const Layers l = Make(Next::kCopy);
  const CrossLayerResult r = MeasureCrossLayer(l.a, l.b, 0, 2, Options());
  EXPECT_EQ(r.next_layer, 2u);
  EXPECT_EQ(r.tokens, 32000u);
  // Given p in this layer's set, the next layer's routing pairs name p + 3 with probability 1/4
  // and the other 15 pathways evenly: I = ln 16 + 0.25 ln 0.25 + 0.75 ln 0.05 = 0.1794 nats.
  EXPECT_NEAR(r.mi.observed, 0.1794, 0.005);
  EXPECT_TRUE(CiAbove(r.mi.ci, 0.15)) << r.mi.excess;
}

TEST(CrossLayerMeasureTest, IndependentLayersShowNothing) {
  const Layers l = Make(Next::kIndependent);
  const CrossLayerResult r = MeasureCrossLayer(l.a, l.b, 0, 2, Options());
  EXPECT_TRUE(CiCovers(r.mi.ci, 0.0))
      << r.mi.excess << " [" << r.mi.ci.low << ", " << r.mi.ci.high << "]";
}

TEST(CrossLayerMeasureTest, SequenceDependenceAloneShowsNothing) {
  // Both layers draw from the sequence's 8 pathways: the layers share information through the
  // sequence (observed MI well above 0), not token by token.
  const Layers l = Make(Next::kSequenceOnly);
  const CrossLayerResult r = MeasureCrossLayer(l.a, l.b, 0, 2, Options());
  EXPECT_GT(r.mi.observed, 0.1);
  EXPECT_TRUE(CiCovers(r.mi.ci, 0.0))
      << r.mi.excess << " [" << r.mi.ci.low << ", " << r.mi.ci.high << "]";
}

TEST(CrossLayerMeasureTest, EstimandCapsTheTokensAndDisjointSequencesGiveNothing) {
  const Layers l = Make(Next::kCopy);
  AnalysisOptions o = Options();
  o.estimand_events = 6400;
  EXPECT_EQ(MeasureCrossLayer(l.a, l.b, 0, 2, o).tokens, 6400u);
  auto bb = RoutingTableBuilder::Create(kP, kK);
  ASSERT_TRUE(bb.ok());
  const uint64_t seq[] = {100000};
  const uint32_t tok[] = {1}, pw[] = {0, 1, 2, 3};
  ASSERT_TRUE(bb->Add(1, seq, tok, pw).ok());
  const CrossLayerResult none = MeasureCrossLayer(l.a, bb->Build(), 0, 2, o);
  EXPECT_EQ(none.tokens, 0u);
  EXPECT_TRUE(std::isnan(none.mi.observed));
}

}  // namespace
}  // namespace monoroute::analysis
