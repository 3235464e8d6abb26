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
  // Schema 3: every effect is {"observed", "null_mean", "excess", "ci": [lo, hi]}.
  ASSERT_EQ(j["layers"].size(), 4u);
  auto is_effect = [](const nlohmann::json& e) {
    return e.is_object() && e.contains("observed") && e.contains("null_mean") &&
           e.contains("excess") && e["ci"].is_array() && e["ci"].size() == 2;
  };
  for (const auto& L : j["layers"]) {
    for (const char* k : {"mi", "mean_purity", "mean_kl", "token_specialisation", "category_mi",
                          "category_ami", "current_given_previous", "previous_given_current"}) {
      EXPECT_TRUE(is_effect(L[k])) << k;
    }
    EXPECT_TRUE(L["token_specialisation"]["null_mean"].is_number());  // its chance
    for (const char* k : {"mi_ceiling_nats", "max_violation"}) EXPECT_TRUE(L[k].is_number()) << k;
    EXPECT_EQ(L["events_used"], L["events"]);
    EXPECT_LE(L["category_ami"]["ci"][0].get<double>(), L["category_ami"]["ci"][1].get<double>());
    ASSERT_EQ(L["sources"].size(), 4u);
    EXPECT_EQ(L["sources"][1]["source"], "previous_token");
    EXPECT_TRUE(is_effect(L["sources"][1]["mi"]));
    EXPECT_TRUE(L["routing_source"].is_string());
    // Recorded controls, then the synthetic ones.
    ASSERT_EQ(L["controls"].size(), 4u);
    EXPECT_EQ(L["controls"][0]["control"], "fresh_routers");
    EXPECT_EQ(L["controls"][2]["control"], "hash_current_token");
    EXPECT_EQ(L["controls"][2]["routing_source"], "current_token");
    EXPECT_EQ(L["controls"][3]["control"], "hash_previous_token");
    EXPECT_EQ(L["controls"][3]["routing_source"], "previous_token");
    EXPECT_TRUE(is_effect(L["controls"][0]["mi_delta"]));
    EXPECT_TRUE(L["controls"][0]["mi_delta"]["ci"][0].is_number());
    ASSERT_EQ(L["pathways"].size(), 16u);
    for (const auto& p : L["pathways"]) {
      EXPECT_TRUE(p["specialised"].is_boolean());
      EXPECT_TRUE(p["category_specialised"].is_boolean());
      EXPECT_TRUE(is_effect(p["kl"]));
      EXPECT_TRUE(is_effect(p["kl_vs_control"]));
      EXPECT_EQ(p["sources"].size(), 4u);
      // A category label only where the category test flags it.
      if (!p["category_specialised"].get<bool>()) {
        EXPECT_EQ(p["category"], "");
      }
      for (const auto& t : p["top_tokens"]) {
        EXPECT_GE(t["count"].get<uint64_t>(), 10u);
        EXPECT_TRUE(t["lift"].is_number());
      }
    }
  }
  // Trained routing carries more token information than the token-blind fresh routers.
  const auto& L6 = j["layers"][3];
  EXPECT_GT(L6["controls"][0]["mi_delta"]["ci"][0].get<double>(), 0.0);
  EXPECT_EQ(L6["specialised_reference"], "fresh_routers");
  EXPECT_GT(j["summary"]["specialised_pathways"].get<int>(), 0);
  EXPECT_EQ(j["summary"]["empty_layers"], nlohmann::json::array({8}));
  ASSERT_EQ(j["summary"]["answers"].size(), 4u);
  EXPECT_NE(j["summary"]["answers"][3].get<std::string>().find("responds to the current token"),
            std::string::npos)
      << j["summary"]["answers"][3];
  EXPECT_FALSE(j["summary"]["headline"].empty());
  EXPECT_TRUE(is_effect(j["summary"]["headline"][0]["over_controls"]["fresh_routers"]));
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
  EXPECT_TRUE(j["layers"][0]["category_ami"]["excess"].is_null());
  EXPECT_TRUE(j["layers"][0]["category_ami"]["ci"][0].is_null());
  EXPECT_TRUE(j["baseline"].is_null());
  EXPECT_EQ(j["layers"][0]["specialised_reference"], "none");
}

TEST(ReportTest, CompareRunsPairsSharedSequences) {
  RunAnalysis a = MakeRun("a", 0.4, nullptr, false);
  RunAnalysis b = MakeRun("b", 0.0, nullptr, false);
  auto rows = CompareRuns(a, b, AnalysisOptions());
  ASSERT_EQ(rows.size(), 4u);
  for (const auto& [layer, c] : rows) {
    EXPECT_EQ(c.control, "baseline");
    EXPECT_EQ(c.split, "b");
    EXPECT_GT(c.mi_delta.ci.low, 0.0) << "layer " << layer;
  }
}

TEST(AnalyzeLayersTest, FixedEventsAcrossTheLayerAndItsControls) {
  std::vector<LayerInput> layers;
  LayerInput in{0, Table(0.4, 0, 40960), {}};
  in.controls.push_back({kFreshRoutersControl, "valid/fresh_routers", Table(0.0, 0, 30720)});
  layers.push_back(std::move(in));
  AnalysisOptions o;
  o.bootstrap = 20;
  o.estimand_events = 20000;
  auto r = AnalyzeLayers(layers, {}, o, nullptr, nullptr);
  ASSERT_TRUE(r.ok()) << r.status();
  const LayerResult& L = r->front();
  EXPECT_EQ(L.events, 40960u);
  EXPECT_EQ(L.events_used, 19968u);  // 156 whole sequences of 128
  ASSERT_GE(L.controls.size(), 1u);
  EXPECT_EQ(L.controls[0].events, 30720u);
  EXPECT_EQ(L.controls[0].events_used, L.events_used);  // the same sequences
  // Without a cap: the smaller of the two.
  o.estimand_events = 0;
  std::vector<LayerInput> again;
  LayerInput in2{0, Table(0.4, 0, 40960), {}};
  in2.controls.push_back({kFreshRoutersControl, "valid/fresh_routers", Table(0.0, 0, 30720)});
  again.push_back(std::move(in2));
  auto r2 = AnalyzeLayers(again, {}, o, nullptr, nullptr);
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->front().events_used, 30720u);  // the sequences both tables have
  EXPECT_EQ(r2->front().controls[0].events_used, 30720u);
}

TEST(ReportWorkTest, TooMuchWorkIsResourceExhaustedWithTheNumbers) {
  AnalysisOptions o;
  absl::Status s = CheckReportWork(158000000, 8, 1000000, o);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(s.message().find("158000000 events"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("--split"), std::string::npos);
  o.bootstrap = 10000;
  s = CheckReportWork(1000000, 8, 1000000, o);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(s.message().find("--bootstrap"), std::string::npos) << s.message();
  EXPECT_TRUE(CheckReportWork(1000000, 8, 1000000, AnalysisOptions()).ok());
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
