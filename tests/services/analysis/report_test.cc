// Tests of the run-level analysis (layers in parallel, controls, run comparison), the JSON report
// and the PNG figure on synthetic routing.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "services/analysis/report_json.h"
#include "services/analysis/report_png.h"
#include "services/analysis/run_analysis.h"
#include "services/analysis/synthetic_routing.h"

namespace monoroute::analysis {
namespace {

RoutingTable Table(double preference, uint32_t layer, uint64_t events = 30000) {
  SyntheticRoutingOptions o;
  o.events = events;
  o.vocab = 1500;
  o.token_preference = preference;
  o.seed = 10 + layer;
  o.model_seed = 100 + layer;
  return *SyntheticRoutingTable(o);
}

// A routed run whose layers prefer tokens more and more, with a token-blind "fresh routers"
// control and a weaker "dense slices" control on the same sequences, plus an empty layer 8.
RunAnalysis MakeRun(const std::string& id, double preference, const CategoryMap* cats,
                    bool controls) {
  RunAnalysis run;
  run.info.run_id = id;
  run.info.routed_layers = {0, 2, 4, 6, 8};
  run.info.num_pathways = 16;
  run.info.top_k = 4;
  run.info.vocab_size = 50257;
  run.info.split = "valid";
  std::vector<LayerInput> layers;
  for (uint32_t l : {0u, 2u, 4u, 6u}) {
    LayerInput in{l, Table(preference * (1 + l / 4.0), l), {}};
    if (controls) {
      in.controls.push_back({kFreshRoutersControl, "valid/fresh_routers", Table(0.0, l)});
      in.controls.push_back({kDenseSlicesControl, "valid/dense_slices", Table(0.1, l)});
    }
    layers.push_back(std::move(in));
  }
  layers.push_back({8, RoutingTable{16, 4}, {}});
  AnalysisOptions opts;
  opts.threads = 2;
  opts.bootstrap = 40;
  opts.category_permutations = 199;
  RunContext rc;
  rc.categories = cats;
  rc.decode = [](uint32_t t) { return " tok" + std::to_string(t); };
  auto r = AnalyzeLayers(layers, rc, opts, &run.empty_layers, &run.replicates);
  EXPECT_TRUE(r.ok()) << r.status();
  run.layers = *std::move(r);
  return run;
}

TEST(StepRangesTest, CoveringAndConsecutive) {
  auto r = StepRanges(0, 9999, 4);
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0], std::make_pair(uint64_t{0}, uint64_t{2499}));
  EXPECT_EQ(r[3].second, 9999u);
  for (size_t i = 1; i < r.size(); ++i) EXPECT_EQ(r[i].first, r[i - 1].second + 1);
  EXPECT_EQ(StepRanges(5, 6, 8).size(), 2u);
  EXPECT_TRUE(StepRanges(5, 4, 3).empty());
}

TEST(ControlSplitTest, NamesAndDetection) {
  EXPECT_EQ(ControlSplit("valid", kFreshRoutersControl), "valid/fresh_routers");
  EXPECT_TRUE(IsControlSplit("valid/dense_slices"));
  EXPECT_FALSE(IsControlSplit("valid"));
}

TEST(AnalyzeLayersTest, AllEmptyIsFailedPrecondition) {
  std::vector<LayerInput> layers;
  layers.push_back({0, RoutingTable{4, 1}, {}});
  auto r = AnalyzeLayers(layers, {}, {}, nullptr, nullptr);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(ReportTest, JsonHasEveryFieldControlsAndHeadline) {
  const CategoryMap cats = RandomCategories(1500, 5, 0.6, 3);
  RunAnalysis routed = MakeRun("routed", 0.4, &cats, true);
  RunAnalysis other = MakeRun("other", 0.2, &cats, false);
  EXPECT_EQ(routed.empty_layers, std::vector<uint32_t>{8});
  const std::string text = ReportToJson(routed, &other, AnalysisOptions(), 123);
  auto j = nlohmann::json::parse(text);
  EXPECT_EQ(j["schema_version"], kReportSchemaVersion);
  EXPECT_EQ(j["run"]["run_id"], "routed");
  // The seed's fields.
  EXPECT_NEAR(j["average_purity"].get<double>(), AveragePurity(routed.layers), 1e-12);
  EXPECT_EQ(j["utilisation_per_layer"].size(), 4u);
  EXPECT_EQ(j["top_tokens_per_pathway"]["2"]["5"].size(), 10u);
  // Fixed names of the issue.
  ASSERT_EQ(j["layers"].size(), 4u);
  for (const auto& L : j["layers"]) {
    for (const char* k : {"token_specialisation", "token_specialisation_chance", "category_ami",
                          "mi_excess_nats", "mi_ceiling_nats", "max_violation"}) {
      EXPECT_TRUE(L[k].is_number()) << k;
    }
    ASSERT_TRUE(L["category_ami_ci"].is_array());
    EXPECT_EQ(L["category_ami_ci"].size(), 2u);
    EXPECT_LE(L["category_ami_ci"][0].get<double>(), L["category_ami_ci"][1].get<double>());
    ASSERT_EQ(L["controls"].size(), 2u);
    EXPECT_EQ(L["controls"][0]["control"], "fresh_routers");
    EXPECT_TRUE(L["controls"][0]["mi_excess_delta_ci"].is_array());
    EXPECT_EQ(L["specialised_reference"], "fresh_routers");
    ASSERT_EQ(L["pathways"].size(), 16u);
    for (const auto& p : L["pathways"]) {
      EXPECT_TRUE(p["specialised"].is_boolean());
      EXPECT_TRUE(p["category_specialised"].is_boolean());
      EXPECT_TRUE(p["kl_excess_ci"].is_array());
    }
  }
  // Trained routing carries more token information than the token-blind fresh routers.
  const auto& L6 = j["layers"][3];
  EXPECT_GT(L6["controls"][0]["mi_excess_delta_ci"][0].get<double>(), 0.0);
  EXPECT_GT(j["summary"]["specialised_pathways"].get<int>(), 0);
  EXPECT_EQ(j["summary"]["empty_layers"], nlohmann::json::array({8}));
  EXPECT_FALSE(j["summary"]["headline"].empty());
  EXPECT_TRUE(j["summary"]["headline"][0]["over_fresh_routers_ci"].is_array());
  // Baseline comparison.
  ASSERT_TRUE(j["baseline"].is_object());
  EXPECT_EQ(j["baseline"]["run"]["run_id"], "other");
  EXPECT_EQ(j["baseline"]["comparison"]["layers"].size(), 4u);
  EXPECT_EQ(j["baseline"]["comparison"]["layers"][0]["control"], "baseline");
  EXPECT_TRUE(j["over_training"].is_array());
}

TEST(ReportTest, UndefinedNumbersAreNull) {
  RunAnalysis run = MakeRun("r", 0.3, nullptr, false);
  auto j = nlohmann::json::parse(ReportToJson(run, nullptr, AnalysisOptions(), 0));
  EXPECT_TRUE(j["layers"][0]["category_ami"].is_null());
  EXPECT_TRUE(j["layers"][0]["category_ami_ci"].is_null());
  EXPECT_TRUE(j["baseline"].is_null());
  EXPECT_EQ(j["layers"][0]["specialised_reference"], "null");
}

TEST(ReportTest, CompareRunsPairsSharedSequences) {
  RunAnalysis a = MakeRun("a", 0.4, nullptr, false);
  RunAnalysis b = MakeRun("b", 0.0, nullptr, false);
  auto rows = CompareRuns(a, b, AnalysisOptions());
  ASSERT_EQ(rows.size(), 4u);
  for (const auto& [layer, c] : rows) {
    EXPECT_EQ(c.control, "baseline");
    EXPECT_EQ(c.split, "b");
    EXPECT_GT(c.mi_excess_delta_ci.low, 0.0) << "layer " << layer;
  }
}

TEST(ReportTest, PngIsAValidImage) {
  RunAnalysis run = MakeRun("png", 0.4, nullptr, true);
  AnalysisOptions o;
  auto png = RenderReportPng(run, nullptr, &o);
  ASSERT_TRUE(png.ok()) << png.status();
  ASSERT_GT(png->size(), 1000u);
  EXPECT_EQ(png->substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  if (const char* out = std::getenv("MONOROUTE_ANALYSIS_PNG_OUT")) {
    std::ofstream(out, std::ios::binary) << *png;
  }
  // Without controls and without any specialised pathway it still renders.
  RunAnalysis blind = MakeRun("blind", 0.0, nullptr, false);
  EXPECT_TRUE(RenderReportPng(blind, nullptr, nullptr).ok());
}

}  // namespace
}  // namespace monoroute::analysis
