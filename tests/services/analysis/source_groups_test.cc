// SourceGroups and its kernels against the dense counting path they replace: a key's sums and
// token specialisation equal ComputePathwaySums / ComputeTokenSpecialisation over CountKeyed
// (bit for bit, unweighted and with block weights); the pair's sums equal those of the dense
// pair counts; the nested layout keeps every pair group inside one outer group; the conditional
// null's shuffle keeps each outer group's multiset of top-k sets. Each at P = 16 (one-word
// masks) and P = 200 (four-word masks).
#include "services/analysis/source_groups.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <utility>

#include "services/analysis/resampling.h"
#include "services/analysis/synthetic_routing.h"

namespace monoroute::analysis {
namespace {

// (num_pathways, top_k) of a test's table.
class SourceGroupsTest : public ::testing::TestWithParam<std::pair<uint32_t, uint32_t>> {};

RoutingTable BigramTable() {
  SyntheticRoutingOptions so;
  so.events = 20000;
  so.seq_len = 64;
  so.vocab = 2000;
  so.num_pathways = SourceGroupsTest::GetParam().first;
  so.top_k = SourceGroupsTest::GetParam().second;
  so.tokens = SyntheticTokens::kBigram;
  so.route_by = SyntheticRouteBy::kPreviousToken;
  so.token_preference = 0.6;
  so.pathway_skew = 1.0;
  so.seed = 5;
  return *SyntheticRoutingTable(so);
}

std::vector<uint32_t> EventWeights(const RoutingTable& t, const std::vector<uint32_t>& block_w) {
  std::vector<uint32_t> w(t.events());
  for (size_t b = 0; b < t.blocks(); ++b) {
    for (uint32_t i = t.block_begin[b]; i < t.block_begin[b + 1]; ++i) w[i] = block_w[b];
  }
  return w;
}

TEST_P(SourceGroupsTest, KeySumsEqualTheDenseCounts) {
  const RoutingTable t = BigramTable();
  const SourceGroups g = MakeSourceGroups(t, true);
  std::vector<uint32_t> bw;
  BlockWeights(t, 3, 0, &bw);
  const std::vector<uint32_t> ew = EventWeights(t, bw);
  for (int key : {kCurrentToken, kPreviousToken, kNextToken}) {
    for (bool weighted : {false, true}) {
      RoutingCounts dense;
      CountKeyed(t, key, t.mask.data(), weighted ? bw.data() : nullptr, &dense);
      const PathwaySums want = ComputePathwaySums(dense);
      const TokenSpecialisation want_ts = ComputeTokenSpecialisation(dense, t.top_k, 10, false);
      GroupSums got;
      TokenSpecialisation ts;
      CountKeySums(g.ByKey(key), t.mask.data(), weighted ? ew.data() : nullptr, t.num_pathways,
                   t.top_k, 10 * t.top_k, &got, &ts);
      EXPECT_EQ(got.load, dense.load) << key;
      EXPECT_EQ(got.total, dense.total) << key;
      EXPECT_EQ(got.sums.xlogx, want.xlogx) << key << " " << weighted;
      for (uint32_t p = 0; p < t.num_pathways; ++p) {
        EXPECT_NEAR(got.sums.xlogc[p], want.xlogc[p], 1e-9 * std::abs(want.xlogc[p])) << p;
      }
      EXPECT_EQ(ts.eligible, want_ts.eligible);
      EXPECT_DOUBLE_EQ(ts.mean, want_ts.mean);
      EXPECT_DOUBLE_EQ(ts.weighted, want_ts.weighted);
      std::vector<double> kl;
      double mi = 0;
      KlFromSums(got, &kl, &mi);
      const std::vector<double> want_kl = PathwayKl(dense, want);
      EXPECT_NEAR(mi, MutualInformation(dense, want_kl), 1e-12);
    }
  }
}

TEST_P(SourceGroupsTest, PairSumsEqualTheDensePairCounts) {
  const RoutingTable t = BigramTable();
  const SourceGroups g = MakeSourceGroups(t, true);
  std::vector<uint32_t> bw;
  BlockWeights(t, 3, 1, &bw);
  for (const NestedPairGroups* n : {&g.by_previous, &g.by_current}) {
    std::vector<uint64_t> outer_masks;
    GatherOuter(*n, t.mask_words, t.mask.data(), &outer_masks);
    for (bool weighted : {false, true}) {
      RoutingCounts dense;
      CountKeyed(t, kPreviousAndCurrent, t.mask.data(), weighted ? bw.data() : nullptr, &dense);
      const PathwaySums want = ComputePathwaySums(dense);
      GroupSums got;
      CountPairSums(*n, outer_masks.data(), weighted ? bw.data() : nullptr, t.num_pathways, t.top_k,
                    &got);
      EXPECT_EQ(got.load, dense.load);
      EXPECT_EQ(got.total, dense.total);
      for (uint32_t p = 0; p < t.num_pathways; ++p) {
        EXPECT_NEAR(got.sums.xlogx[p], want.xlogx[p], 1e-9 * std::abs(want.xlogx[p]) + 1e-9);
        EXPECT_NEAR(got.sums.xlogc[p], want.xlogc[p], 1e-9 * std::abs(want.xlogc[p]));
      }
      // The outer key's counts from the same layout are CountKeyed's, exactly.
      RoutingCounts outer, want_outer;
      CountOuterKeyed(*n, outer_masks.data(), weighted ? bw.data() : nullptr, t.num_pathways,
                      &outer);
      CountKeyed(t, n->outer_key, t.mask.data(), weighted ? bw.data() : nullptr, &want_outer);
      EXPECT_EQ(outer.cells, want_outer.cells);
      EXPECT_EQ(outer.load, want_outer.load);
    }
  }
}

TEST_P(SourceGroupsTest, PairGroupsNestInsideOuterGroups) {
  const RoutingTable t = BigramTable();
  const SourceGroups g = MakeSourceGroups(t, true);
  EXPECT_TRUE(g.sources);
  for (const NestedPairGroups* n : {&g.by_previous, &g.by_current}) {
    ASSERT_EQ(n->inner_pos.size(), t.events());
    EXPECT_EQ(n->inner_begin.size() - 1, t.key_count(kPreviousAndCurrent));
    const uint32_t* pair = t.keys(kPreviousAndCurrent);
    for (size_t g2 = 0; g2 + 1 < n->inner_begin.size(); ++g2) {
      const uint32_t first = n->outer.order[n->inner_pos[n->inner_begin[g2]]];
      for (uint32_t i = n->inner_begin[g2]; i < n->inner_begin[g2 + 1]; ++i) {
        const uint32_t e = n->outer.order[n->inner_pos[i]];
        ASSERT_EQ(pair[e], pair[first]);
        ASSERT_EQ(t.keys(n->outer_key)[e], t.keys(n->outer_key)[first]);
      }
    }
  }
  const SourceGroups counts_only = MakeSourceGroups(t, false);
  EXPECT_FALSE(counts_only.sources);
  EXPECT_EQ(counts_only.by_current.outer.order, g.by_current.outer.order);
  EXPECT_TRUE(counts_only.by_current.inner_pos.empty());
}

TEST_P(SourceGroupsTest, ShuffleKeepsEachOuterGroupsTopKSets) {
  const RoutingTable t = BigramTable();
  ASSERT_EQ(t.mask_words, MaskWords(t.num_pathways));
  const SourceGroups g = MakeSourceGroups(t, true);
  std::vector<uint64_t> base, shuffled;
  GatherOuter(g.by_previous, t.mask_words, t.mask.data(), &base);
  Xoshiro256 rng(9);
  ShuffleWithinOuter(g.by_previous, t.mask_words, base, rng, &shuffled);
  ASSERT_EQ(shuffled.size(), base.size());
  EXPECT_NE(shuffled, base);
  const std::vector<uint32_t>& begin = g.by_previous.outer.begin;
  const uint32_t W = t.mask_words;
  auto rows = [&](const std::vector<uint64_t>& m, size_t lo, size_t hi) {
    std::vector<std::vector<uint64_t>> r;
    for (size_t i = lo; i < hi; ++i) r.emplace_back(m.begin() + i * W, m.begin() + (i + 1) * W);
    std::sort(r.begin(), r.end());
    return r;
  };
  for (size_t k = 0; k + 1 < begin.size(); ++k) {
    ASSERT_EQ(rows(base, begin[k], begin[k + 1]), rows(shuffled, begin[k], begin[k + 1])) << k;
  }
}

INSTANTIATE_TEST_SUITE_P(MaskWidths, SourceGroupsTest,
                         ::testing::Values(std::make_pair(16u, 4u), std::make_pair(200u, 12u)));

}  // namespace
}  // namespace monoroute::analysis
