// The report adapter reads schema 2 (flat fields, what ReportToJson writes today, checked on a
// real ReportToJson document) and schema 3 (effect objects) reports, and tolerates missing keys.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "services/analysis/explorer/report_view.h"
#include "services/analysis/report_json.h"
#include "services/analysis/run_analysis.h"
#include "services/analysis/synthetic_routing.h"

namespace monoroute::analysis::explorer {
namespace {

TEST(ExplorerReportViewTest, Schema2FromReportToJson) {
  SyntheticRoutingOptions so;
  so.events = 20000;
  so.vocab = 500;
  so.token_preference = 0.5;
  auto table = SyntheticRoutingTable(so);
  ASSERT_TRUE(table.ok());
  std::vector<LayerInput> in(1);
  in[0].layer = 2;
  in[0].table = *table;
  AnalysisOptions opts;
  opts.bootstrap = 20;
  opts.category_permutations = 0;
  opts.threads = 1;
  RunAnalysis run;
  run.info.run_id = "r1";
  run.info.labels = {{"balancing", "glbl"}};
  run.info.num_pathways = 16;
  run.info.top_k = 4;
  RunContext rc;
  rc.vocab_size = 500;
  auto layers = AnalyzeLayers(in, rc, opts, &run.empty_layers, &run.replicates);
  ASSERT_TRUE(layers.ok()) << layers.status();
  run.layers = *layers;
  auto v = ParseReportView(ReportToJson(run, nullptr, opts, 0));
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->run_id, "r1");
  EXPECT_EQ(v->labels.at("balancing"), "glbl");
  EXPECT_EQ(v->num_pathways, 16u);
  ASSERT_EQ(v->layers.size(), 1u);
  const LayerView& L = v->layers[0];
  EXPECT_EQ(L.layer, 2u);
  EXPECT_EQ(L.pathways.size(), 16u);
  EXPECT_FALSE(L.answer.empty());
  ASSERT_FALSE(L.effects.empty());
  auto mi = std::find_if(L.effects.begin(), L.effects.end(),
                         [](const auto& e) { return e.measure == "mi" && e.against == "null"; });
  ASSERT_NE(mi, L.effects.end());
  EXPECT_NEAR(mi->excess, run.layers[0].mi.excess, 1e-9);
  EXPECT_FALSE(std::isnan(mi->ci.low));
  EXPECT_NEAR(L.max_violation, run.layers[0].max_violation, 1e-9);
  EXPECT_FALSE(v->headline.empty());
  // Every pathway's KL excess and interval as the report wrote them (its effect object "kl").
  for (size_t i = 0; i < L.pathways.size(); ++i) {
    const PathwayResult& want = run.layers[0].pathways[i];
    EXPECT_EQ(L.pathways[i].pathway, want.pathway);
    EXPECT_NEAR(L.pathways[i].kl_excess, want.kl.excess, 1e-9) << i;
    EXPECT_NEAR(L.pathways[i].kl_ci.low, want.kl.ci.low, 1e-9) << i;
    EXPECT_FALSE(std::isnan(L.pathways[i].kl_excess)) << i;
  }
}

TEST(ExplorerReportViewTest, Schema3EffectObjects) {
  const std::string doc = R"({
    "schema_version": 3,
    "run": {"run_id": "r3", "num_pathways": 8, "top_k": 2, "freshness": {"finished": true}},
    "summary": {"answer": "Routing added token specialisation in layer 0."},
    "layers": [{
      "layer": 0, "answer": "Layer 0 pathways specialise on tokens.", "max_violation": 0.2,
      "routing_source": "trained_router",
      "mi_nats": {"observed": 0.3, "null_mean": 0.1, "excess": 0.2, "ci": [0.15, 0.25]},
      "controls": [{"control": "fresh_routers",
                    "mi_nats": {"observed": 0.3, "null_mean": 0.05, "excess": 0.25,
                                "ci": [0.2, 0.3]}}],
      "pathways": [{"pathway": 5, "kl": {"observed": 1.6, "null_mean": 0.1, "excess": 1.5,
                                         "ci": [1.2, 1.8]},
                    "specialised": true, "answer": "dragons",
                    "top_tokens_by_lift": [{"token": " dragon"}]},
                   {"pathway": 6, "kl": {"excess": 0.2, "ci": {"low": 0.1, "high": 0.3}},
                    "category_specialised": true, "category": "animal"}]
    }]})";
  auto v = ParseReportView(doc);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->schema_version, 3);
  EXPECT_TRUE(v->finished);
  EXPECT_EQ(v->headline, "Routing added token specialisation in layer 0.");
  const LayerView& L = v->layers.at(0);
  EXPECT_EQ(L.answer, "Layer 0 pathways specialise on tokens.");
  EXPECT_EQ(L.routing_source, "trained_router");
  ASSERT_EQ(L.effects.size(), 2u);
  EXPECT_EQ(L.effects[0].against, "null");
  EXPECT_DOUBLE_EQ(L.effects[0].ci.high, 0.25);
  EXPECT_EQ(L.effects[1].against, "fresh_routers");
  EXPECT_DOUBLE_EQ(L.effects[1].excess, 0.25);
  const PathwaySummaryView& p = L.pathways.at(0);
  EXPECT_EQ(p.pathway, 5u);
  EXPECT_DOUBLE_EQ(p.kl_excess, 1.5);
  EXPECT_DOUBLE_EQ(p.kl_ci.low, 1.2);
  EXPECT_EQ(p.responds_to, "dragons");
  EXPECT_EQ(p.top_tokens, std::vector<std::string>({" dragon"}));
  // The report's own form (report_fields.h): interval as {low, high}, the category by its key.
  const PathwaySummaryView& q = L.pathways.at(1);
  EXPECT_DOUBLE_EQ(q.kl_excess, 0.2);
  EXPECT_DOUBLE_EQ(q.kl_ci.high, 0.3);
  EXPECT_EQ(q.responds_to, "animal");
}

TEST(ExplorerReportViewTest, RoutingStructureApartFromTheTokenEffects) {
  const std::string doc = R"({
    "schema_version": 3,
    "layers": [{
      "layer": 0, "next_routed_layer": 2,
      "mi": {"observed": 0.3, "null_mean": 0.1, "excess": 0.2, "ci": [0.15, 0.25]},
      "coactivation": {"observed": 0.2, "null_mean": 0.01, "excess": 0.19, "ci": [0.18, 0.2]},
      "locality": {"observed": 0.3, "null_mean": 0.25, "excess": 0.05, "ci": [0.04, 0.06]},
      "cross_layer_mi": {"observed": 0.18, "null_mean": 0.001, "excess": 0.179,
                         "ci": [0.17, 0.19]},
      "coactivation_pairs": [
        {"pathway_a": 1, "pathway_b": 2, "together": 100, "expected": 10.0,
         "lift": {"observed": 10.0, "null_mean": 1.0, "excess": 9.0, "ci": [8.0, 10.0]}},
        {"pathway_a": 1, "pathway_b": 3, "together": 12, "expected": 10.0,
         "lift": {"observed": 1.2, "null_mean": 1.0, "excess": 0.2, "ci": [-0.5, 0.9]}},
        {"pathway_a": 4, "pathway_b": 5, "together": 30, "expected": 10.0,
         "lift": {"observed": 3.0, "null_mean": 1.0, "excess": 2.0, "ci": [1.0, 3.0]}}]
    }, {
      "layer": 2, "next_routed_layer": 2,
      "cross_layer_mi": {"observed": null, "null_mean": null, "excess": null, "ci": [null, null]}
    }]})";
  auto v = ParseReportView(doc);
  ASSERT_TRUE(v.ok()) << v.status();
  const LayerView& L = v->layers.at(0);
  ASSERT_EQ(L.effects.size(), 1u);  // the token MI only
  EXPECT_EQ(L.effects[0].measure, "mi");
  ASSERT_EQ(L.structure.size(), 3u);
  EXPECT_EQ(L.structure[0].measure, "coactivation");
  EXPECT_EQ(L.structure[1].measure, "locality");
  EXPECT_DOUBLE_EQ(L.structure[1].ci.low, 0.04);
  EXPECT_EQ(L.structure[2].measure, "cross_layer_mi");
  EXPECT_TRUE(L.has_next_layer);
  EXPECT_EQ(L.next_routed_layer, 2u);
  ASSERT_EQ(L.top_pairs.size(), 2u);  // lift intervals above the null only, by lift
  EXPECT_EQ(L.top_pairs[0].pathway_b, 2u);
  EXPECT_EQ(L.top_pairs[0].together, 100u);
  EXPECT_EQ(L.top_pairs[1].pathway_a, 4u);
  const LayerView& last = v->layers.at(1);
  EXPECT_TRUE(last.structure.empty());  // no next routed layer: nothing measured
  EXPECT_FALSE(last.has_next_layer);
}

TEST(ExplorerReportViewTest, ToleratesMissingAndOddKeys) {
  auto v = ParseReportView(R"({"layers": [{"layer": 1, "pathways": [3, {"pathway": null}]},
                                          "x"], "run": 7})");
  ASSERT_TRUE(v.ok()) << v.status();
  ASSERT_EQ(v->layers.size(), 1u);
  EXPECT_TRUE(std::isnan(v->layers[0].max_violation));
  EXPECT_EQ(v->layers[0].pathways.size(), 1u);
  EXPECT_EQ(ParseReportView("[1]").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseReportView("not json").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace monoroute::analysis::explorer
