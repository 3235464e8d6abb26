// The counting kernels and the measures against hand-computed values.
#include "services/analysis/measures.h"

#include <gtest/gtest.h>

#include <cmath>

#include "services/analysis/routing_counts.h"

namespace monoroute::analysis {
namespace {

RoutingTable Make(uint32_t P, uint32_t k, const std::vector<uint64_t>& seq,
                  const std::vector<uint32_t>& tok, const std::vector<uint32_t>& paths) {
  auto b = RoutingTableBuilder::Create(P, k);
  EXPECT_TRUE(b->Add(tok.size(), seq.data(), tok.data(), paths.data()).ok());
  return b->Build();
}

TEST(CountRoutingsTest, CountsAndWeights) {
  // Tokens 1,1,2 in one block, 2 in another; P = 4, k = 2.
  const RoutingTable t = Make(4, 2, {0, 0, 0, 1}, {1, 1, 2, 2}, {0, 1, 0, 2, 3, 2, 1, 3});
  RoutingCounts c;
  CountRoutings(t, nullptr, &c);
  EXPECT_EQ(c.total, 8u);
  EXPECT_EQ(c.load, (std::vector<uint64_t>{2, 2, 2, 2}));
  EXPECT_EQ(c.cell(0, 0), 2u);  // token 1 -> pathway 0 twice
  EXPECT_EQ(c.cell(1, 3), 2u);
  EXPECT_EQ(c.column_total, (std::vector<uint64_t>{4, 4}));
  const uint32_t w[] = {0, 3};  // drop block 0, triple block 1
  CountRoutings(t, w, &c);
  EXPECT_EQ(c.total, 6u);
  EXPECT_EQ(c.cell(1, 1), 3u);
  EXPECT_EQ(c.cell(1, 3), 3u);
}

TEST(CountRoutingsTest, PermutationKeepsBlocksAndSets) {
  const RoutingTable t = Make(4, 2, {0, 0, 0, 1}, {1, 1, 2, 2}, {0, 1, 0, 2, 3, 2, 1, 3});
  Xoshiro256 rng(7);
  RoutingCounts c;
  for (int r = 0; r < 20; ++r) {
    CountPermutedRoutings(t, nullptr, rng, &c);
    EXPECT_EQ(c.load, (std::vector<uint64_t>{2, 2, 2, 2}));  // sets are kept
    EXPECT_EQ(c.column_total, (std::vector<uint64_t>{4, 4}));
    // Block 1 has one event: its set stays with token 2.
    EXPECT_GE(c.cell(1, 1), 1u);
    EXPECT_GE(c.cell(1, 3), 1u);
  }
}

TEST(MeasuresTest, EntropyKlMiAndTokenSpecialisation) {
  // P = 2, k = 1: token A always -> pathway 0, token B always -> pathway 1, equal counts.
  std::vector<uint64_t> seq(40, 0);
  std::vector<uint32_t> tok, path;
  for (int i = 0; i < 20; ++i) {
    tok.push_back(1);
    path.push_back(0);
    tok.push_back(2);
    path.push_back(1);
  }
  const RoutingTable t = Make(2, 1, seq, tok, path);
  RoutingCounts c;
  CountRoutings(t, nullptr, &c);
  const PathwaySums s = ComputePathwaySums(c);
  const auto h = PathwayEntropies(c, s);
  const auto kl = PathwayKl(c, s);
  EXPECT_NEAR(h[0], 0.0, 1e-12);
  EXPECT_NEAR(kl[0], std::log(2.0), 1e-12);
  EXPECT_NEAR(MutualInformation(c, kl), std::log(2.0), 1e-12);  // = ln(P/k), the ceiling
  const TokenSpecialisation ts = ComputeTokenSpecialisation(c, 1, 10, true);
  EXPECT_EQ(ts.eligible, 2u);
  EXPECT_NEAR(ts.mean, 1.0, 1e-12);
  EXPECT_EQ(ts.owner[0], 0u);
  EXPECT_EQ(ts.owner[1], 1u);
  EXPECT_EQ(ComputeTokenSpecialisation(c, 1, 21, false).eligible, 0u);
  EXPECT_TRUE(std::isnan(ComputeTokenSpecialisation(c, 1, 21, false).mean));
}

TEST(MeasuresTest, UniformPathwayHasFullEntropyAndNoKl) {
  // One pathway (P = 2, k = 1) sees tokens 1..4 once each, as does the other.
  std::vector<uint64_t> seq(8, 0);
  std::vector<uint32_t> tok = {1, 1, 2, 2, 3, 3, 4, 4}, path = {0, 1, 0, 1, 0, 1, 0, 1};
  RoutingCounts c;
  CountRoutings(Make(2, 1, seq, tok, path), nullptr, &c);
  const PathwaySums s = ComputePathwaySums(c);
  EXPECT_NEAR(PathwayEntropies(c, s)[0], std::log(4.0), 1e-12);
  EXPECT_NEAR(PathwayKl(c, s)[1], 0.0, 1e-12);
  EXPECT_NEAR(XLogX(70000), 70000 * std::log(70000.0), 1e-6);
}

}  // namespace
}  // namespace monoroute::analysis
