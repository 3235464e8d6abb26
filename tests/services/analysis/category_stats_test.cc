// Category tables: mutual information and its top-k ceiling, NMI, per-pathway KL, type profiles,
// and the stratified label permutation.
#include "services/analysis/category_stats.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

namespace monoroute::analysis {
namespace {

TEST(CategoryStatsTest, PerfectAssociationReachesTheCeiling) {
  // P = 4, k = 2, 2 categories: category 0 -> pathways {0,1}, category 1 -> {2,3}.
  const std::vector<uint64_t> joint = {10, 0, 10, 0, 0, 10, 0, 10};  // p x c
  const CategoryMeasures m = ComputeCategoryMeasures(joint, 4, 2, 2);
  EXPECT_NEAR(m.h_category, std::log(2.0), 1e-12);
  EXPECT_NEAR(m.h_pathway, std::log(4.0), 1e-12);
  EXPECT_NEAR(m.ceiling, std::log(2.0), 1e-12);  // min(H(C), H(P) - ln k)
  EXPECT_NEAR(m.mi, m.ceiling, 1e-12);
  EXPECT_NEAR(m.nmi, m.nmi_ceiling, 1e-12);
  EXPECT_LT(m.nmi_ceiling, 1.0);  // NMI cannot reach 1 with top-k > 1
  EXPECT_NEAR(m.pathway_kl[0], std::log(2.0), 1e-12);
}

TEST(CategoryStatsTest, IndependenceGivesZero) {
  const std::vector<uint64_t> joint = {5, 5, 5, 5};
  const CategoryMeasures m = ComputeCategoryMeasures(joint, 2, 2, 1);
  EXPECT_NEAR(m.mi, 0.0, 1e-12);
  EXPECT_NEAR(m.pathway_kl[1], 0.0, 1e-12);
}

TEST(CategoryStatsTest, PermutationKeepsStrataAndSizes) {
  // 12 token types with categories, events increasing with the id.
  auto b = RoutingTableBuilder::Create(2, 1);
  std::vector<uint64_t> seq;
  std::vector<uint32_t> tok, path;
  for (uint32_t t = 0; t < 12; ++t) {
    for (uint32_t i = 0; i <= t; ++i) {
      seq.push_back(0);
      tok.push_back(t);
      path.push_back(i % 2);
    }
  }
  ASSERT_TRUE(b->Add(tok.size(), seq.data(), tok.data(), path.data()).ok());
  const RoutingTable table = b->Build();
  CategoryMap map;
  map.names = {"NOUN", "VERB", "DET"};
  map.category_of_token = {0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, -1};
  const CategoryLayout l = MakeCategoryLayout(table, map, 5);
  ASSERT_EQ(l.columns.size(), 11u);
  EXPECT_EQ(l.strata, (std::vector<uint32_t>{0, 5, 11}));
  Xoshiro256 rng(1);
  std::vector<int32_t> perm;
  for (int r = 0; r < 10; ++r) {
    PermuteLabels(l, rng, &perm);
    for (size_t s = 0; s + 1 < l.strata.size(); ++s) {
      std::map<int, int> a, c;
      for (uint32_t i = l.strata[s]; i < l.strata[s + 1]; ++i) {
        ++a[l.labels[i]];
        ++c[perm[i]];
      }
      EXPECT_EQ(a, c);
    }
  }
}

}  // namespace
}  // namespace monoroute::analysis
