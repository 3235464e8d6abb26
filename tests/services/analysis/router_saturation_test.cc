// Known-truth tests of router saturation: synthetic checkpoints whose routing converges to the
// final routing at a known step give saturation rising to 1 at that step; random routing gives
// the chance level 1 / C(P, k).
#include "services/analysis/router_saturation.h"

#include <gtest/gtest.h>

#include <random>

namespace monoroute::analysis {
namespace {

constexpr uint32_t kP = 4, kK = 2;  // chance 1 / C(4, 2) = 1/6
constexpr int kSeqs = 200, kLen = 32;

// A random top-k set of kK distinct pathways of kP.
std::vector<uint32_t> RandomSet(std::mt19937_64& rng) {
  std::vector<uint32_t> all = {0, 1, 2, 3};
  std::shuffle(all.begin(), all.end(), rng);
  return {all[0], all[1]};
}

// A table of kSeqs x kLen events: each event's set is `final_sets[e]` with probability
// `p_final`, else a random set.
RoutingTable Table(const std::vector<std::vector<uint32_t>>& final_sets, double p_final,
                   uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  auto b = RoutingTableBuilder::Create(kP, kK);
  EXPECT_TRUE(b.ok());
  std::vector<uint64_t> seq;
  std::vector<uint32_t> tok, path, pos;
  for (int s = 0; s < kSeqs; ++s) {
    for (int i = 0; i < kLen; ++i) {
      const size_t e = static_cast<size_t>(s * kLen + i);
      seq.push_back(static_cast<uint64_t>(s));
      tok.push_back(static_cast<uint32_t>(e % 50));
      pos.push_back(static_cast<uint32_t>(i));
      const std::vector<uint32_t> set = u(rng) < p_final ? final_sets[e] : RandomSet(rng);
      path.insert(path.end(), set.begin(), set.end());
    }
  }
  EXPECT_TRUE(b->Add(seq.size(), seq.data(), tok.data(), path.data(), pos.data()).ok());
  return b->Build();
}

std::vector<std::vector<uint32_t>> FinalSets() {
  std::mt19937_64 rng(7);
  std::vector<std::vector<uint32_t>> sets;
  for (int e = 0; e < kSeqs * kLen; ++e) sets.push_back(RandomSet(rng));
  return sets;
}

TEST(RouterSaturation, RisesToOneAtTheConvergenceStep) {
  const auto final_sets = FinalSets();
  std::map<uint32_t, RoutingTable> final_tables;
  final_tables[2] = Table(final_sets, 1.0, 1);
  // Steps 100..400: the share of converged events grows, converged from step 300 on.
  const std::map<int64_t, double> p = {{100, 0.2}, {200, 0.6}, {300, 1.0}, {400, 1.0}};
  std::map<int64_t, std::map<uint32_t, RoutingTable>> by_step;
  for (const auto& [step, share] : p) by_step[step][2] = Table(final_sets, share, 10 + step);
  auto sat = RouterSaturation(by_step, final_tables, SaturationOptions{});
  ASSERT_TRUE(sat.ok()) << sat.status();
  ASSERT_EQ(sat->size(), 4u);
  const double chance = 1.0 / 6;
  for (const SaturationPoint& pt : *sat) {
    ASSERT_EQ(pt.layers.size(), 1u);
    const LayerSaturation& s = pt.layers[0];
    EXPECT_EQ(s.layer, 2u);
    EXPECT_EQ(s.events, static_cast<uint64_t>(kSeqs * kLen));
    EXPECT_NEAR(s.chance, chance, 1e-12);
    // Expected: share + (1 - share) * chance.
    const double want = p.at(pt.step) + (1 - p.at(pt.step)) * chance;
    EXPECT_TRUE(CiCovers(s.ci, want)) << pt.step << ": " << s.saturation << " [" << s.ci.low << ", "
                                      << s.ci.high << "] want " << want;
    if (pt.step >= 300) {
      EXPECT_EQ(s.saturation, 1.0) << pt.step;
    } else {
      EXPECT_LT(s.ci.high, 0.9) << pt.step;
    }
  }
  EXPECT_LT((*sat)[0].layers[0].saturation, (*sat)[1].layers[0].saturation);
}

TEST(RouterSaturation, RandomRoutingGivesTheChanceLevel) {
  const auto final_sets = FinalSets();
  std::map<uint32_t, RoutingTable> final_tables;
  final_tables[0] = Table(final_sets, 1.0, 1);
  std::map<int64_t, std::map<uint32_t, RoutingTable>> by_step;
  by_step[50][0] = Table(final_sets, 0.0, 99);
  auto sat = RouterSaturation(by_step, final_tables, SaturationOptions{});
  ASSERT_TRUE(sat.ok()) << sat.status();
  const LayerSaturation& s = (*sat)[0].layers[0];
  EXPECT_TRUE(CiCovers(s.ci, 1.0 / 6))
      << s.saturation << " [" << s.ci.low << ", " << s.ci.high << "]";
  EXPECT_NEAR(ChanceTopKAgreement(16, 4), 1.0 / 1820, 1e-15);
}

TEST(RouterSaturation, MatchesEventsBySequenceAndPosition) {
  const auto final_sets = FinalSets();
  std::map<uint32_t, RoutingTable> final_tables;
  final_tables[0] = Table(final_sets, 1.0, 1);
  // A checkpoint table with only the first half of every sequence: all of them match.
  auto b = RoutingTableBuilder::Create(kP, kK);
  ASSERT_TRUE(b.ok());
  std::vector<uint64_t> seq;
  std::vector<uint32_t> tok, path, pos;
  for (int s = 0; s < kSeqs; ++s) {
    for (int i = kLen / 2 - 1; i >= 0; --i) {  // arrival order reversed: ordered by position
      seq.push_back(static_cast<uint64_t>(s));
      tok.push_back(1);
      pos.push_back(static_cast<uint32_t>(i));
      const auto& set = final_sets[static_cast<size_t>(s * kLen + i)];
      path.insert(path.end(), set.begin(), set.end());
    }
  }
  ASSERT_TRUE(b->Add(seq.size(), seq.data(), tok.data(), path.data(), pos.data()).ok());
  std::map<int64_t, std::map<uint32_t, RoutingTable>> by_step;
  by_step[10][0] = b->Build();
  by_step[10][4] = Table(final_sets, 1.0, 1);  // no final table for layer 4: skipped
  auto sat = RouterSaturation(by_step, final_tables, SaturationOptions{});
  ASSERT_TRUE(sat.ok());
  ASSERT_EQ((*sat)[0].layers.size(), 1u);
  EXPECT_EQ((*sat)[0].layers[0].events, static_cast<uint64_t>(kSeqs * kLen / 2));
  EXPECT_EQ((*sat)[0].layers[0].saturation, 1.0);
}

TEST(RouterSaturation, WidePathwaySets) {
  // 128 pathways (two mask words): sets differing only in a pathway >= 64 do not agree.
  auto make = [](uint32_t last) {
    auto b = RoutingTableBuilder::Create(128, 2);
    EXPECT_TRUE(b.ok()) << b.status();
    std::vector<uint64_t> seq = {1, 1};
    std::vector<uint32_t> tok = {5, 6}, pos = {0, 1}, path = {3, 100, 3, last};
    EXPECT_TRUE(b->Add(2, seq.data(), tok.data(), path.data(), pos.data()).ok());
    return b->Build();
  };
  auto s = TopKAgreement(make(120), make(121), SaturationOptions{0});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->events, 2u);
  EXPECT_EQ(s->saturation, 0.5);
  EXPECT_NEAR(s->chance, 1.0 / (128.0 * 127 / 2), 1e-15);
}

TEST(RouterSaturation, SplitNames) {
  EXPECT_EQ(CheckpointEvalSplit(300), "eval@step300");
  EXPECT_EQ(CheckpointEvalStep("eval@step300"), 300);
  EXPECT_FALSE(CheckpointEvalStep("valid").has_value());
  EXPECT_FALSE(CheckpointEvalStep("eval@step").has_value());
  EXPECT_FALSE(CheckpointEvalStep("eval@step3x").has_value());
  RoutingTable a, c;
  a.num_pathways = 4;
  a.top_k = 2;
  c.num_pathways = 8;
  c.top_k = 2;
  EXPECT_EQ(TopKAgreement(a, c, {}).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace monoroute::analysis
