// Tests of AnalyzeLayer and CountMatrix against hand-computed values.
#include "services/analysis/layer_analysis.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "services/analysis/count_matrix.h"

namespace monoroute::analysis {
namespace {

CountMatrix Matrix(uint32_t P, const std::vector<CountTriple>& cells) {
  auto m = CountMatrix::FromTriples(P, cells);
  EXPECT_TRUE(m.ok()) << m.status();
  return *std::move(m);
}

LayerResult Analyze(const CountMatrix& m, uint32_t top_k = 1, const CategoryMap* cats = nullptr,
                    AnalysisOptions opts = {}) {
  LayerContext ctx;
  ctx.layer = 2;
  ctx.top_k = top_k;
  ctx.categories = cats;
  ctx.decode = [](uint32_t t) { return "tok" + std::to_string(t); };
  auto r = AnalyzeLayer(m, ctx, opts);
  EXPECT_TRUE(r.ok()) << r.status();
  return *std::move(r);
}

TEST(CountMatrixTest, SumsDuplicatesAndBuildsColumns) {
  CountMatrix m = Matrix(3, {{0, 10, 2}, {2, 5, 1}, {0, 10, 3}, {1, 7, 0}, {2, 10, 4}});
  EXPECT_EQ(m.num_columns(), 2u);  // tokens 5 and 10 (7 has count 0)
  EXPECT_EQ(m.column_token()[0], 5u);
  EXPECT_EQ(m.column_total()[1], 9u);
  EXPECT_EQ(m.total(), 10u);
  EXPECT_EQ(m.load(0), 5u);
  EXPECT_EQ(m.load(1), 0u);
  EXPECT_EQ(m.load(2), 5u);
  EXPECT_EQ(m.row_end(1) - m.row_begin(1), 0u);
}

TEST(CountMatrixTest, RejectsBadInput) {
  auto bad = CountMatrix::FromTriples(2, {{2, 1, 1}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("pathway 2"), std::string::npos);
  EXPECT_FALSE(CountMatrix::FromColumns(2, {0}, {1, 2}, {1}).ok());
  EXPECT_FALSE(CountMatrix::FromTriples(0, {}).ok());
}

TEST(LayerAnalysisTest, UniformDistributionHasPurityZero) {
  std::vector<CountTriple> cells;
  for (uint32_t p = 0; p < 4; ++p)
    for (uint32_t t = 0; t < 8; ++t) cells.push_back({p, t, 5});
  LayerResult L = Analyze(Matrix(4, cells));
  for (const auto& R : L.pathways) {
    EXPECT_NEAR(R.entropy_nats, std::log(8.0), 1e-12);
    EXPECT_NEAR(R.entropy_bits, 3.0, 1e-12);
    EXPECT_NEAR(R.purity, 0.0, 1e-12);
    EXPECT_NEAR(R.kl_nats, 0.0, 1e-12);
    EXPECT_TRUE(R.utilised);
  }
  EXPECT_NEAR(L.mean_purity, 0.0, 1e-12);
  EXPECT_NEAR(L.utilisation, 1.0, 1e-12);
  EXPECT_NEAR(L.load_entropy_normalised, 1.0, 1e-12);
  EXPECT_EQ(L.distinct_tokens, 8u);
}

TEST(LayerAnalysisTest, OneTokenPathwayHasPurityOne) {
  LayerResult L = Analyze(Matrix(2, {{0, 7, 30}, {1, 7, 10}, {1, 8, 10}, {1, 9, 10}}));
  const PathwayResult& R = L.pathways[0];
  EXPECT_NEAR(R.entropy_nats, 0.0, 1e-12);
  EXPECT_NEAR(R.purity, 1.0, 1e-12);
  // KL to the unigram q(7) = 40/60: ln(1 / (2/3)).
  EXPECT_NEAR(R.kl_nats, std::log(1.5), 1e-12);
  ASSERT_EQ(R.top_tokens.size(), 1u);
  EXPECT_EQ(R.top_tokens[0].token_id, 7u);
  EXPECT_EQ(R.top_tokens[0].token, "tok7");
  EXPECT_EQ(R.top_tokens[0].count, 30u);
  EXPECT_NEAR(R.top_tokens[0].share, 1.0, 1e-12);
}

TEST(LayerAnalysisTest, KnownTwoTokenCase) {
  // Layer with 4 distinct tokens; pathway 0 sees token 0 three times and token 1 once.
  LayerResult L =
      Analyze(Matrix(2, {{0, 0, 3}, {0, 1, 1}, {1, 0, 1}, {1, 1, 3}, {1, 2, 2}, {1, 3, 2}}));
  const PathwayResult& R = L.pathways[0];
  EXPECT_NEAR(R.entropy_nats, 0.5623351446188083, 1e-12);
  EXPECT_NEAR(R.normalised_entropy, 0.5623351446188083 / std::log(4.0), 1e-12);
  EXPECT_NEAR(R.purity, 0.5943609377704335, 1e-12);
  // q = (4, 4, 2, 2) / 12: KL = .75 ln(.75 / (1/3)) + .25 ln(.25 / (1/3)).
  EXPECT_NEAR(R.kl_nats, 0.75 * std::log(2.25) + 0.25 * std::log(0.75), 1e-12);
  EXPECT_EQ(R.distinct_tokens, 2u);
  EXPECT_EQ(R.top_tokens[0].token_id, 0u);
  EXPECT_EQ(R.top_tokens[1].token_id, 1u);
  EXPECT_NEAR(L.pathways[1].load_share, 8.0 / 12.0, 1e-12);
}

TEST(LayerAnalysisTest, KlOfMirroredTwoTokenCase) {
  LayerResult L = Analyze(Matrix(2, {{0, 0, 3}, {0, 1, 1}, {1, 0, 1}, {1, 1, 3}}));
  EXPECT_NEAR(L.pathways[0].kl_nats, 0.13081203594113697, 1e-12);
  EXPECT_NEAR(L.pathways[1].kl_nats, 0.13081203594113697, 1e-12);
  EXPECT_NEAR(L.mean_kl_nats, 0.13081203594113697, 1e-12);
}

TEST(LayerAnalysisTest, PerTokenSpecialisation) {
  // top_k = 1, two pathways: token 0 goes 9x to p0 and 1x to p1 (0.9); token 1 5/5 (0.5);
  // token 2 seen twice (below min_token_count = 10): not eligible.
  LayerResult L = Analyze(Matrix(2, {{0, 0, 9}, {1, 0, 1}, {0, 1, 5}, {1, 1, 5}, {1, 2, 2}}));
  EXPECT_EQ(L.eligible_tokens, 2u);
  EXPECT_NEAR(L.token_specialisation, 0.7, 1e-12);
  EXPECT_NEAR(L.token_specialisation_weighted, 0.7, 1e-12);
  EXPECT_NEAR(L.token_specialisation_chance, 0.5, 1e-12);
  EXPECT_EQ(L.pathways[0].owned_tokens, 2u);  // tie on token 1 goes to the lower pathway
  EXPECT_NEAR(L.pathways[0].mean_token_specialisation, 0.7, 1e-12);
  EXPECT_TRUE(std::isnan(L.pathways[1].mean_token_specialisation));
}

TEST(LayerAnalysisTest, TopKScalesTokenSpecialisationToOccurrences) {
  // top_k = 2 of 4 pathways; token 0 occurs 10 times, always routed to p0 and one other.
  LayerResult L =
      Analyze(Matrix(4, {{0, 0, 10}, {1, 0, 4}, {2, 0, 3}, {3, 0, 3}, {1, 1, 10}, {2, 1, 10}}), 2);
  EXPECT_EQ(L.events, 20u);
  EXPECT_EQ(L.eligible_tokens, 2u);
  EXPECT_NEAR(L.token_specialisation, 1.0, 1e-12);
  EXPECT_NEAR(L.token_specialisation_chance, 0.5, 1e-12);
}

TEST(LayerAnalysisTest, NmiOnPlantedExample) {
  CategoryMap cats;
  cats.names = {"animal", "colour"};
  cats.category_of_token = {0, 0, 1, 1, -1};
  // Perfect split: p0 only animals, p1 only colours -> NMI 1, category purity 1.
  LayerResult perfect = Analyze(Matrix(2, {{0, 0, 5}, {0, 1, 5}, {1, 2, 5}, {1, 3, 5}}), 1, &cats);
  EXPECT_NEAR(perfect.category_nmi, 1.0, 1e-12);
  EXPECT_NEAR(perfect.category_purity, 1.0, 1e-12);
  EXPECT_NEAR(perfect.pathways[0].category_purity, 1.0, 1e-12);
  ASSERT_EQ(perfect.pathways[0].categories.size(), 1u);
  EXPECT_EQ(perfect.pathways[0].categories[0].category, "animal");
  // Independent: both pathways see the same category mix -> NMI 0.
  LayerResult indep = Analyze(Matrix(2, {{0, 0, 5}, {0, 2, 5}, {1, 1, 5}, {1, 3, 5}}), 1, &cats);
  EXPECT_NEAR(indep.category_nmi, 0.0, 1e-12);
  // Joint [[3,1],[0,4]] (uncategorised token 4 ignored): NMI 0.5615896365639194.
  LayerResult part = Analyze(Matrix(2, {{0, 0, 3}, {0, 2, 1}, {1, 3, 4}, {1, 4, 9}}), 1, &cats);
  EXPECT_NEAR(part.category_nmi, 0.5615896365639194, 1e-12);
  EXPECT_NEAR(part.category_purity, 7.0 / 8.0, 1e-12);
}

TEST(LayerAnalysisTest, PlantedPathwayHasHighZAndRandomHasNone) {
  std::mt19937_64 rng(3);
  const uint32_t P = 16, V = 400;
  CategoryMap cats;
  cats.names = {"animal", "other"};
  cats.category_of_token.assign(V, 1);
  for (uint32_t t = 0; t < 40; ++t) cats.category_of_token[t] = 0;
  std::vector<CountTriple> planted, random;
  std::uniform_int_distribution<uint32_t> tok(0, V - 1), pw(0, P - 1), animal(0, 39);
  for (int e = 0; e < 40000; ++e) {
    const uint32_t t = tok(rng);
    uint32_t p = pw(rng);
    random.push_back({p, t, 1});
    if (t < 40)
      p = 3;  // animals always go to pathway 3
    else
      while (p == 3) p = pw(rng);  // and nothing else does
    planted.push_back({p, t, 1});
  }
  LayerResult L = Analyze(Matrix(P, planted), 1, &cats);
  EXPECT_GT(L.pathways[3].purity_z, 10.0);
  EXPECT_GT(L.pathways[3].kl_z, 10.0);
  EXPECT_NEAR(L.pathways[3].category_purity, 1.0, 1e-12);
  EXPECT_GT(L.pathways[3].category_purity_z, 10.0);
  EXPECT_TRUE(L.pathways[3].specialised);
  LayerResult R = Analyze(Matrix(P, random), 1, &cats);
  for (const auto& pr : R.pathways) {
    EXPECT_LT(std::abs(pr.purity_z), 4.5) << "pathway " << pr.pathway;
    EXPECT_LT(std::abs(pr.category_purity_z), 4.5) << "pathway " << pr.pathway;
    EXPECT_FALSE(pr.specialised);
  }
  EXPECT_LT(R.category_nmi, 0.01);
  EXPECT_LT(std::abs(R.purity_z), 4.5);
  EXPECT_GT(L.category_nmi, 0.2);
}

TEST(LayerAnalysisTest, UtilisationAndDeadPathways) {
  AnalysisOptions opts;
  opts.utilisation_threshold = 0.5;  // >= 0.5 / 4 = 12.5% of the load
  LayerResult L = Analyze(Matrix(4, {{0, 0, 50}, {1, 1, 45}, {2, 2, 5}}), 1, nullptr, opts);
  EXPECT_NEAR(L.utilisation, 0.5, 1e-12);
  EXPECT_TRUE(std::isnan(L.pathways[3].purity));
  EXPECT_FALSE(L.pathways[3].utilised);
  EXPECT_EQ(L.load, (std::vector<uint64_t>{50, 45, 5, 0}));
  EXPECT_NEAR(L.mean_purity, 1.0, 1e-12);  // mean over pathways with load
}

TEST(LayerAnalysisTest, ErrorsAreClear) {
  LayerContext ctx;
  ctx.top_k = 1;
  auto empty = AnalyzeLayer(Matrix(2, {}), ctx, {});
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kFailedPrecondition);
  ctx.top_k = 3;
  auto bad_k = AnalyzeLayer(Matrix(2, {{0, 1, 1}}), ctx, {});
  EXPECT_EQ(bad_k.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace monoroute::analysis
