// Pathway masks wider than 64 (pathway_mask.h) through the analysis core: the four-word kernels
// give bit for bit what the one-word kernels give on the same events (measures, nulls, bootstrap
// intervals); at P = 256, k = 8 planted token routing is found, planted category pathways beyond
// index 64 are named, and routing that ignores tokens flags nothing.
#include "services/analysis/pathway_mask.h"

#include <gtest/gtest.h>

#include <cmath>

#include "services/analysis/layer_analysis.h"
#include "services/analysis/synthetic_routing.h"

namespace monoroute::analysis {
namespace {

RoutingTable Table(const SyntheticEvents& e, uint32_t num_pathways, uint32_t top_k) {
  absl::StatusOr<RoutingTableBuilder> b = RoutingTableBuilder::Create(num_pathways, top_k);
  EXPECT_TRUE(b.ok()) << b.status();
  EXPECT_TRUE(b->Add(e.token_id.size(), e.sequence_id.data(), e.token_id.data(), e.pathways.data(),
                     e.position.data())
                  .ok());
  return b->Build();
}

LayerResult Analyze(const RoutingTable& t, const AnalysisOptions& o,
                    const CategoryMap* cats = nullptr) {
  LayerContext ctx;
  ctx.vocab_size = 50257;
  ctx.categories = cats;
  absl::StatusOr<LayerResult> r = AnalyzeLayer(t, ctx, o, nullptr);
  EXPECT_TRUE(r.ok()) << r.status();
  return *std::move(r);
}

void ExpectSameEffect(const Effect& a, const Effect& b, const char* what) {
  EXPECT_EQ(a.observed, b.observed) << what;
  EXPECT_EQ(a.null_mean, b.null_mean) << what;
  EXPECT_EQ(a.ci.low, b.ci.low) << what;
  EXPECT_EQ(a.ci.high, b.ci.high) << what;
}

TEST(PathwayMaskTest, WideKernelsEqualTheOneWordKernelsOnTheSameEvents) {
  SyntheticRoutingOptions so;
  so.events = 20000;
  so.vocab = 300;
  so.num_pathways = 64;
  so.top_k = 6;
  so.tokens = SyntheticTokens::kBigram;
  so.route_by = SyntheticRouteBy::kPreviousToken;
  so.token_preference = 0.5;
  const absl::StatusOr<SyntheticEvents> e = GenerateSyntheticEvents(so);
  ASSERT_TRUE(e.ok());
  // The same events as a 64-pathway layer (one word) and a 200-pathway layer whose pathways
  // 64..199 are never selected (four words): every per-pathway count, and every permutation's
  // draws, are the same.
  const RoutingTable narrow = Table(*e, 64, 6), wide = Table(*e, 200, 6);
  ASSERT_EQ(narrow.mask_words, 1u);
  ASSERT_EQ(wide.mask_words, 4u);
  AnalysisOptions o;
  o.bootstrap = 20;
  const LayerResult a = Analyze(narrow, o), b = Analyze(wide, o);
  ASSERT_TRUE(std::isfinite(a.mi.ci.low));  // the bootstrap ran
  ASSERT_GT(a.mi.null_mean, 0.0);           // and the null
  ExpectSameEffect(a.mi, b.mi, "mi");
  ExpectSameEffect(a.mean_kl, b.mean_kl, "mean_kl");
  ExpectSameEffect(a.token_specialisation, b.token_specialisation, "token_specialisation");
  ASSERT_EQ(a.sources.size(), b.sources.size());
  for (size_t s = 0; s < a.sources.size(); ++s) {
    EXPECT_EQ(a.sources[s].source, b.sources[s].source);
    ExpectSameEffect(a.sources[s].mi, b.sources[s].mi, a.sources[s].source.c_str());
  }
  EXPECT_EQ(a.routing_source, "previous_token");
  EXPECT_EQ(b.routing_source, "previous_token");
  ASSERT_EQ(b.pathways.size(), 200u);
  for (uint32_t p = 0; p < 64; ++p) {
    EXPECT_EQ(a.pathways[p].load, b.pathways[p].load) << p;
    ExpectSameEffect(a.pathways[p].kl, b.pathways[p].kl, "pathway kl");
    ExpectSameEffect(a.pathways[p].current_given_previous, b.pathways[p].current_given_previous,
                     "pathway current_given_previous");
  }
  for (uint32_t p = 64; p < 200; ++p) EXPECT_EQ(b.pathways[p].load, 0u) << p;
}

SyntheticRoutingOptions Wide(double token_preference, uint64_t seed) {
  SyntheticRoutingOptions so;
  so.events = 60000;
  so.vocab = 500;
  so.num_pathways = 256;
  so.top_k = 8;
  so.token_preference = token_preference;
  so.seed = seed;
  return so;
}

// Wide(token_preference, seed) analysed with 50 bootstrap resamples.
LayerResult AnalyzeWide(double token_preference, uint64_t seed) {
  const absl::StatusOr<RoutingTable> t = SyntheticRoutingTable(Wide(token_preference, seed));
  EXPECT_TRUE(t.ok()) << t.status();
  if (!t.ok()) return LayerResult{};
  AnalysisOptions o;
  o.bootstrap = 50;
  return Analyze(*t, o);
}

TEST(PathwayMaskTest, PlantedTokenRoutingIsFoundAt256Pathways) {
  const LayerResult L = AnalyzeWide(0.6, 1);
  EXPECT_EQ(L.num_pathways, 256u);
  EXPECT_EQ(L.routing_source, "current_token");
  EXPECT_GT(L.mi.ci.low, 0.1);
  EXPECT_GT(L.token_specialisation.ci.low, 0.1);
  // Preferred sets are random 8-sets of all 256 pathways: pathways beyond 64 are flagged too.
  uint32_t beyond = 0;
  for (const PathwayResult& p : L.pathways) beyond += p.pathway >= 64 && p.specialised_vs_null;
  EXPECT_GE(L.specialised_vs_null_pathways, 100u);
  EXPECT_GE(beyond, 75u);
}

TEST(PathwayMaskTest, RoutingThatIgnoresTokensFlagsNothingAt256Pathways) {
  const LayerResult L = AnalyzeWide(0.0, 2);
  EXPECT_EQ(L.specialised_vs_null_pathways, 0u);
  EXPECT_EQ(L.routing_source, "none");
  EXPECT_LE(L.mi.ci.low, 0.0);
  for (const PathwayResult& p : L.pathways) EXPECT_FALSE(p.specialised_vs_null) << p.pathway;
}

TEST(PathwayMaskTest, PlantedCategoryPathwaysBeyond64AreNamed) {
  SyntheticRoutingOptions so = Wide(0.3, 3);
  const CategoryMap cats = RandomCategories(so.vocab, 12, 0.8, 7);
  so.categories = &cats;
  so.planted_categories = 12;  // category c -> pathways 8c..8c+7: c9 -> 72..79, c11 -> 88..95
  so.category_preference = 0.6;
  const absl::StatusOr<RoutingTable> t = SyntheticRoutingTable(so);
  ASSERT_TRUE(t.ok()) << t.status();
  AnalysisOptions o;
  o.bootstrap = 30;
  o.category_permutations = 199;
  const LayerResult L = Analyze(*t, o, &cats);
  for (uint32_t p = 72; p < 96; ++p) {
    if (p >= 80 && p < 88) continue;  // c10's
    EXPECT_TRUE(L.pathways[p].category_specialised) << "pathway " << p;
    EXPECT_EQ(L.pathways[p].category, p < 80 ? "c9" : "c11") << "pathway " << p;
  }
  for (uint32_t p = 96; p < 256; ++p) EXPECT_FALSE(L.pathways[p].category_specialised) << p;
  EXPECT_GT(L.category_ami.ci.low, 0.0);
}

}  // namespace
}  // namespace monoroute::analysis
