// Tests of the run-level analysis, the JSON report and the PNG figure on synthetic counts.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "services/analysis/report_json.h"
#include "services/analysis/report_png.h"
#include "services/analysis/run_analysis.h"
#include "services/analysis/synthetic_counts.h"

namespace monoroute::analysis {
namespace {

RunAnalysis MakeRun(double preference, const CategoryMap* cats, uint64_t seed) {
  RunAnalysis run;
  run.info.run_id = preference > 0 ? "routed" : "dense";
  run.info.routed_layers = {0, 2, 4, 6};
  run.info.num_pathways = 16;
  run.info.top_k = 4;
  run.info.vocab_size = 50257;
  run.info.events = 4 * 200000;
  std::vector<LayerInput> layers;
  for (uint32_t l : run.info.routed_layers) {
    SyntheticOptions o;
    o.events = 200000;
    o.vocab = 3000;
    o.preference = preference * (1 + l / 4.0);
    o.seed = seed + l;
    auto m = CountMatrix::FromTriples(16, SyntheticCounts(o));
    EXPECT_TRUE(m.ok());
    layers.push_back({l, *std::move(m)});
  }
  layers.push_back({8, *CountMatrix::FromTriples(16, {})});  // an empty layer
  AnalysisOptions opts;
  opts.threads = 2;
  auto r = AnalyzeLayers(
      layers, 4, cats, [](uint32_t t) { return " tok" + std::to_string(t); }, opts,
      &run.empty_layers);
  EXPECT_TRUE(r.ok()) << r.status();
  run.layers = *std::move(r);
  return run;
}

TEST(StepRangesTest, AlignedToBucketsAndCovering) {
  auto r = StepRanges(0, 9999, 1000, 4);
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0], std::make_pair(uint64_t{0}, uint64_t{1999}));
  EXPECT_EQ(r[3].second, 9999u);
  for (size_t i = 1; i < r.size(); ++i) {
    EXPECT_EQ(r[i].first, r[i - 1].second + 1);
    EXPECT_EQ(r[i].first % 1000, 0u);
  }
  auto few = StepRanges(1500, 2500, 1000, 8);  // only 2 buckets touched
  ASSERT_EQ(few.size(), 2u);
  EXPECT_EQ(few[0], std::make_pair(uint64_t{1500}, uint64_t{1999}));
  EXPECT_EQ(few[1], std::make_pair(uint64_t{2000}, uint64_t{2500}));
  EXPECT_TRUE(StepRanges(5, 4, 1, 3).empty());
}

TEST(AnalyzeLayersTest, AllEmptyIsFailedPrecondition) {
  std::vector<LayerInput> layers;
  layers.push_back({0, *CountMatrix::FromTriples(4, {})});
  auto r = AnalyzeLayers(layers, 1, nullptr, {}, {}, nullptr);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(ReportTest, JsonHasSeedFieldsAndEveryMeasure) {
  RunAnalysis routed = MakeRun(1.5, nullptr, 1);
  RunAnalysis dense = MakeRun(0.0, nullptr, 100);
  EXPECT_EQ(routed.empty_layers, std::vector<uint32_t>{8});
  const std::string text = ReportToJson(routed, &dense, {}, 123);
  auto j = nlohmann::json::parse(text);
  EXPECT_EQ(j["schema_version"], kReportSchemaVersion);
  EXPECT_EQ(j["run"]["run_id"], "routed");
  EXPECT_NEAR(j["average_purity"].get<double>(), AveragePurity(routed.layers), 1e-12);
  EXPECT_EQ(j["utilisation_per_layer"].size(), 4u);
  EXPECT_EQ(j["top_tokens_per_pathway"]["2"]["5"].size(), 10u);
  EXPECT_TRUE(j["top_tokens_per_pathway"]["2"]["5"][0]["token"].is_string());
  ASSERT_EQ(j["layers"].size(), 4u);
  const auto& L = j["layers"][1];
  for (const char* key : {"mean_purity", "null_purity_mean", "purity_z", "mean_kl_nats", "kl_z",
                          "utilisation", "token_specialisation", "load", "pathways"}) {
    EXPECT_TRUE(L.contains(key)) << key;
  }
  EXPECT_EQ(L["pathways"].size(), 16u);
  EXPECT_TRUE(L["category_nmi"].is_null());  // no lexicon
  // Routed synthetic layers are far above their null; the dense baseline is at it.
  EXPECT_GT(L["purity_z"].get<double>(), 10.0);
  const auto& cmp = j["baseline"]["comparison"]["layers"];
  ASSERT_EQ(cmp.size(), 4u);
  EXPECT_GT(cmp[0]["purity_delta"].get<double>(), 0.0);
  for (const auto& B : dense.layers) EXPECT_LT(std::abs(B.purity_z), 5.0) << B.layer;
  EXPECT_EQ(j["summary"]["empty_layers"][0], 8);
}

TEST(ReportTest, PngIsAValidImage) {
  CategoryMap cats;
  cats.names = {"animal", "colour", "verb"};
  cats.category_of_token.resize(3000);
  for (size_t t = 0; t < 3000; ++t) cats.category_of_token[t] = static_cast<int16_t>(t % 4) - 1;
  RunAnalysis routed = MakeRun(1.5, &cats, 1);
  RunAnalysis dense = MakeRun(0.0, &cats, 100);
  auto png = RenderReportPng(routed, &dense);
  ASSERT_TRUE(png.ok()) << png.status();
  ASSERT_GT(png->size(), 1000u);
  EXPECT_EQ(png->substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  if (const char* out = std::getenv("MONOROUTE_ANALYSIS_PNG_OUT")) {
    std::ofstream(out, std::ios::binary) << *png;
  }
}

}  // namespace
}  // namespace monoroute::analysis
