// The statistics on synthetic routing with known truth: routing that ignores tokens flags nothing
// and its token specialisation equals its chance; token-preferring routing with categories
// unrelated to it flags categories at no more than the nominal rate; planted category pathways
// are found; bootstrap intervals cover the true mutual information about 95% of the time;
// controls and their paired differences.
#include "services/analysis/layer_analysis.h"

#include <gtest/gtest.h>

#include <cmath>
#include <iostream>

#include "services/analysis/run_analysis.h"
#include "services/analysis/synthetic_routing.h"

namespace monoroute::analysis {
namespace {

RoutingTable Table(const SyntheticRoutingOptions& o) {
  absl::StatusOr<RoutingTable> t = SyntheticRoutingTable(o);
  EXPECT_TRUE(t.ok()) << t.status();
  return *std::move(t);
}

LayerResult Analyze(const RoutingTable& t, const AnalysisOptions& o,
                    const CategoryMap* cats = nullptr, uint32_t vocab = 50257,
                    LayerReplicates* reps = nullptr) {
  LayerContext ctx;
  ctx.vocab_size = vocab;
  ctx.categories = cats;
  absl::StatusOr<LayerResult> r = AnalyzeLayer(t, ctx, o, reps);
  EXPECT_TRUE(r.ok()) << r.status();
  return *std::move(r);
}

// Exact I(pathway; token) over routings for the synthetic model with token preference rho and
// uniform random sets: P(p | t) = (rho [p in S_t] + (1 - rho) k / P) / k.
double TrueMutualInformation(const SyntheticRoutingOptions& o) {
  const std::vector<double> q = ZipfProbabilities(o.vocab, o.zipf);
  const uint32_t P = o.num_pathways, k = o.top_k;
  std::vector<std::vector<double>> cond(o.vocab, std::vector<double>(P));
  std::vector<double> marg(P, 0.0);
  for (uint32_t t = 0; t < o.vocab; ++t) {
    for (uint32_t p = 0; p < P; ++p) cond[t][p] = (1.0 - o.token_preference) / P;
    for (uint32_t p : SyntheticPreferredSet(o.model_seed, t, P, k)) {
      cond[t][p] += o.token_preference / k;
    }
    for (uint32_t p = 0; p < P; ++p) marg[p] += q[t] * cond[t][p];
  }
  double mi = 0.0;
  for (uint32_t t = 0; t < o.vocab; ++t) {
    for (uint32_t p = 0; p < P; ++p) mi += q[t] * cond[t][p] * std::log(cond[t][p] / marg[p]);
  }
  return mi;
}

TEST(LayerAnalysisTest, RoutingThatIgnoresTokensFlagsNothingAndSpecialisationIsChance) {
  for (uint64_t seed : {1, 2, 3}) {
    SyntheticRoutingOptions so;
    so.events = 60000;
    so.vocab = 2000;
    so.pathway_skew = 1.5;  // unequal loads, like an unbalanced router
    so.token_preference = 0.0;
    so.seed = seed;
    AnalysisOptions o;
    o.bootstrap = 100;
    o.seed = seed;
    const LayerResult L = Analyze(Table(so), o);
    EXPECT_EQ(L.specialised_vs_null_pathways, 0u) << "seed " << seed;
    EXPECT_EQ(L.routing_source, "none") << "seed " << seed;
    EXPECT_GT(L.eligible_tokens, 100u);
    // Naive chance k/P would be 0.25; the best-pathway estimator is biased upward at small counts,
    // and the chance reported is that estimator's own expectation.
    EXPECT_GT(L.token_specialisation.observed, 0.3);
    EXPECT_NEAR(L.token_specialisation.observed, L.token_specialisation.null_mean, 0.02)
        << "seed " << seed;
    EXPECT_LE(L.token_specialisation.ci.low, 0.0);
    EXPECT_GE(L.token_specialisation.ci.high, 0.0);
    EXPECT_NEAR(L.mi.excess, 0.0, 0.01);
    EXPECT_LE(L.mi.ci.low, 0.0);
    for (const PathwayResult& p : L.pathways) EXPECT_FALSE(p.specialised_vs_null);
  }
}

TEST(LayerAnalysisTest, TokenPreferringRoutingIsFoundAndMeasured) {
  SyntheticRoutingOptions so;
  so.events = 60000;
  so.vocab = 500;
  so.token_preference = 0.6;
  AnalysisOptions o;
  o.bootstrap = 100;
  const LayerResult L = Analyze(Table(so), o);
  EXPECT_GT(L.mi.ci.low, 0.1);
  EXPECT_GT(L.token_specialisation.ci.low, 0.2);
  EXPECT_GE(L.specialised_vs_null_pathways, 12u);
  // Without a fresh-router control nothing counts as `specialised`.
  EXPECT_EQ(L.specialised_pathways, 0u);
  EXPECT_EQ(L.specialised_reference, "none");
  EXPECT_EQ(L.routing_source, "current_token");
  EXPECT_EQ(L.events_used, 60000u);
  EXPECT_LE(L.mi.observed, L.mi_ceiling_nats);
}

TEST(LayerAnalysisTest, UnrelatedCategoriesAreFlaggedAtMostAtTheNominalRate) {
  // Routers that strongly prefer particular tokens, categories assigned at random: a
  // routing-level null calls such categories "significant"; the label-permutation null must not.
  int flagged = 0, pathways = 0, layers_with_flags = 0;
  std::vector<double> amis;
  const int kDatasets = 20;
  for (int d = 0; d < kDatasets; ++d) {
    SyntheticRoutingOptions so;
    so.events = 30000;
    so.vocab = 400;
    so.token_preference = 0.8;
    so.seed = 100 + d;
    const CategoryMap cats = RandomCategories(so.vocab, 6, 0.7, 1000 + d);
    AnalysisOptions o;
    o.bootstrap = 30;
    o.category_permutations = 499;
    o.seed = d + 1;
    const LayerResult L = Analyze(Table(so), o, &cats);
    flagged += L.category_specialised_pathways;
    layers_with_flags += L.category_specialised_pathways > 0;
    for (const auto& p : L.pathways) pathways += p.load > 0;
    amis.push_back(L.category_ami.excess);
  }
  std::cout << flagged << " of " << pathways << " pathways flagged in " << layers_with_flags
            << " of " << kDatasets << " layers\n";
  // BH at 5% under the complete null: P(any flag in a layer) <= 0.05.
  EXPECT_LE(layers_with_flags, 3) << flagged << " of " << pathways << " pathways flagged";
  EXPECT_LE(static_cast<double>(flagged) / pathways, 0.05);
  // AMI is 0 under the null (mean over datasets near 0, each small).
  double mean = 0.0;
  for (double a : amis) {
    mean += a;
    EXPECT_LT(std::abs(a), 0.05);
  }
  EXPECT_NEAR(mean / kDatasets, 0.0, 0.01);
}

TEST(LayerAnalysisTest, PlantedCategoryPathwaysAreFound) {
  SyntheticRoutingOptions so;
  so.events = 60000;
  so.vocab = 400;
  so.token_preference = 0.3;
  const CategoryMap cats = RandomCategories(so.vocab, 6, 0.7, 7);
  so.categories = &cats;
  so.planted_categories = 2;  // c0 -> pathways 0..3, c1 -> pathways 4..7
  so.category_preference = 0.5;
  AnalysisOptions o;
  o.bootstrap = 50;
  o.category_permutations = 499;
  const LayerResult L = Analyze(Table(so), o, &cats);
  for (uint32_t p = 0; p < 8; ++p) {
    EXPECT_TRUE(L.pathways[p].category_specialised) << "pathway " << p;
    EXPECT_EQ(L.pathways[p].category, p < 4 ? "c0" : "c1") << "pathway " << p;
    EXPECT_GT(L.pathways[p].enrichment, 1.5) << "pathway " << p;
  }
  EXPECT_GT(L.category_ami.ci.low, 0.0);
  for (uint32_t p = 8; p < 16; ++p) EXPECT_FALSE(L.pathways[p].category_specialised) << p;
  EXPECT_LE(L.category_nmi, L.category_nmi_ceiling + 1e-9);
  EXPECT_LE(L.category_mi.observed, L.category_mi_ceiling_nats + 1e-9);
}

// Categories: "function" = the 60 most frequent types (like the lexicon's), the rest labelled
// at random among 5 others.
CategoryMap FrequencyCategories(uint32_t vocab, uint64_t seed) {
  CategoryMap m = RandomCategories(vocab, 6, 0.7, seed);
  m.names[0] = "function";
  for (uint32_t t = 0; t < vocab; ++t) {
    if (t < 60) {
      m.category_of_token[t] = 0;
    } else if (m.category_of_token[t] == 0) {
      m.category_of_token[t] = 1;
    }
  }
  return m;
}

TEST(LayerAnalysisTest, FrequencyOnlyRoutingFindsNoCategoryInATopFrequencyCategory) {
  // A router that routes by frequency rank only: frequency must not pass for a category.
  const int kLayers = 20;
  int layers_flagged = 0, ami_covers_zero = 0;
  for (int d = 0; d < kLayers; ++d) {
    SyntheticRoutingOptions so;
    so.events = 40000;
    so.vocab = 2000;
    so.route_by = SyntheticRouteBy::kFrequency;
    so.token_preference = 0.7;
    so.seed = 300 + d;
    const CategoryMap cats = FrequencyCategories(so.vocab, 4000 + d);
    AnalysisOptions o;
    o.bootstrap = 40;
    o.category_permutations = 199;
    o.sources = false;
    o.seed = d + 1;
    const LayerResult L = Analyze(Table(so), o, &cats);
    layers_flagged += L.category_specialised_pathways > 0;
    ami_covers_zero += CiCovers(L.category_ami.ci, 0.0);
  }
  std::cout << "frequency-only routing: " << layers_flagged << " of " << kLayers
            << " layers category-flagged, AMI interval covers 0 in " << ami_covers_zero << "\n";
  EXPECT_LE(layers_flagged, 1);  // <= 5% of layers
  EXPECT_GE(ami_covers_zero, 17);
}

TEST(LayerAnalysisTest, BalancedAndCollapsedRoutingWithTheSameTokenPreferenceFlagAlike) {
  // The control: balanced routing with token preference 0.5. Trained: the same preference,
  // balanced (another sample) or collapsed onto a few pathways, preferred sets included (the
  // same token stream): its light pathways look pure mechanically, its MI is below the control's.
  SyntheticRoutingOptions base;
  base.events = 60000;
  base.vocab = 500;
  base.token_preference = 0.5;
  base.seed = 11;
  AnalysisOptions o;
  o.bootstrap = 60;
  o.sources = false;
  LayerReplicates cr;
  const LayerResult C = Analyze(Table(base), o, nullptr, 50257, &cr);
  auto flags = [&](double skew, uint64_t seed) {
    SyntheticRoutingOptions so = base;
    so.pathway_skew = skew;
    so.skew_preferred_sets = skew > 0;
    so.seed = seed;
    LayerReplicates tr;
    LayerResult L = Analyze(Table(so), o, nullptr, 50257, &tr);
    CompareWithControl("fresh_routers", "valid/fresh_routers", C, cr, tr, o, &L);
    std::cout << "skew " << skew << ": MI vs control " << L.controls[0].mi_delta.excess
              << ", vs-null flags " << L.specialised_vs_null_pathways << ", specialised "
              << L.specialised_pathways << " (" << L.specialised_reference << ")\n";
    return static_cast<int>(L.specialised_pathways);
  };
  const int balanced = flags(0.0, 12), collapsed = flags(8.0, 11);
  EXPECT_LE(std::abs(balanced - collapsed), 2);
}

TEST(LayerAnalysisTest, BootstrapIntervalsCoverTheTrueMutualInformation) {
  SyntheticRoutingOptions base;
  base.events = 20000;
  base.seq_len = 64;
  base.vocab = 30;
  base.num_pathways = 8;
  base.top_k = 2;
  base.token_preference = 0.3;
  const double truth = TrueMutualInformation(base);
  ASSERT_GT(truth, 0.02);
  const int kSims = 100;
  int covered = 0;
  double mean_estimate = 0.0;
  for (int s = 0; s < kSims; ++s) {
    SyntheticRoutingOptions so = base;
    so.seed = 5000 + s;  // a new sample of the same model (model_seed fixed)
    AnalysisOptions o;
    o.bootstrap = 200;
    o.null_replicates = 8;
    o.sources = false;  // the token MI only
    o.seed = s + 1;
    const LayerResult L = Analyze(Table(so), o, nullptr, 30);
    mean_estimate += L.mi.excess;
    covered += L.mi.ci.low <= truth && truth <= L.mi.ci.high;
  }
  mean_estimate /= kSims;
  std::cout << "true MI " << truth << ", mean estimate " << mean_estimate << ", coverage "
            << covered << "/" << kSims << "\n";
  EXPECT_NEAR(mean_estimate, truth, 0.1 * truth);
  EXPECT_GE(covered, 88) << "coverage " << covered << "% of " << kSims;
  EXPECT_LE(covered, 99) << "coverage " << covered << "% of " << kSims;
}

TEST(LayerAnalysisTest, ControlsPairedOverTheSameSequences) {
  // Trained: tokens prefer pathways. Control A: the same token stream routed at random (a
  // "fresh" router that carries no token information). Control B: identical routing.
  SyntheticRoutingOptions so;
  so.events = 40000;
  so.vocab = 400;
  so.token_preference = 0.6;
  const RoutingTable trained = Table(so);
  SyntheticRoutingOptions blind = so;
  blind.token_preference = 0.0;
  const RoutingTable control = Table(blind);
  ASSERT_EQ(trained.blocks(), control.blocks());
  AnalysisOptions o;
  o.bootstrap = 100;
  LayerReplicates tr, cr, sr;
  LayerResult L = Analyze(trained, o, nullptr, 50257, &tr);
  const LayerResult C = Analyze(control, o, nullptr, 50257, &cr);
  const LayerResult S = Analyze(trained, o, nullptr, 50257, &sr);
  CompareWithControl("fresh_routers", "valid/fresh_routers", C, cr, tr, o, &L);
  ASSERT_EQ(L.controls.size(), 1u);
  EXPECT_GT(L.controls[0].mi_delta.ci.low, 0.1);
  EXPECT_EQ(L.specialised_reference, "fresh_routers");
  EXPECT_GE(L.specialised_pathways, 12u);
  // Against itself: every delta is 0 and no pathway beats the control by the minimum effect.
  LayerResult L2 = S;
  CompareWithControl("fresh_routers", "x", S, sr, sr, o, &L2);
  EXPECT_NEAR(L2.controls[0].mi_delta.excess, 0.0, 1e-12);
  EXPECT_EQ(L2.specialised_pathways, 0u);
}

TEST(LayerAnalysisTest, SameResultForTheSameSeed) {
  SyntheticRoutingOptions so;
  so.events = 20000;
  so.vocab = 300;
  so.token_preference = 0.3;
  const RoutingTable t = Table(so);
  AnalysisOptions o;
  o.bootstrap = 20;
  const LayerResult a = Analyze(t, o), b = Analyze(t, o);
  EXPECT_EQ(a.mi.excess, b.mi.excess);
  EXPECT_EQ(a.mi.ci.low, b.mi.ci.low);
  EXPECT_EQ(a.token_specialisation.null_mean, b.token_specialisation.null_mean);
}

TEST(LayerAnalysisTest, BadOptionsNameTheField) {
  SyntheticRoutingOptions so;
  so.events = 1000;
  so.vocab = 50;
  const RoutingTable t = Table(so);
  AnalysisOptions o;
  o.fdr = 1.5;
  LayerContext ctx;
  absl::StatusOr<LayerResult> r = AnalyzeLayer(t, ctx, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("options.fdr"), std::string::npos);
  o = AnalysisOptions();
  o.null_replicates = 1;
  EXPECT_EQ(AnalyzeLayer(t, ctx, o).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AnalyzeLayer(RoutingTable{16, 4}, ctx, AnalysisOptions()).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(LayerAnalysisTest, FewSequencesGiveNoIntervalsAndNoFlags) {
  SyntheticRoutingOptions so;
  so.events = 5 * 128;  // 5 sequences < min_blocks
  so.vocab = 50;
  so.token_preference = 0.9;
  const LayerResult L = Analyze(Table(so), AnalysisOptions());
  EXPECT_EQ(L.bootstrap_replicates, 0);
  EXPECT_TRUE(std::isnan(L.mi.ci.low));
  EXPECT_EQ(L.specialised_pathways, 0u);
  EXPECT_EQ(L.specialised_reference, "none");
  EXPECT_GT(L.mi.excess, 0.1);  // the point estimate is still there
}

}  // namespace
}  // namespace monoroute::analysis
