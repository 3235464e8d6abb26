// ExplorerSite over an in-memory ExplorerData with the planted run: every page type renders the
// planted pathway's sentences with " dragon" highlighted, the API returns the same data as JSON,
// errors map to HTTP codes, and the static links point at files.
#include "services/analysis/explorer/explorer_site.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "services/analysis/explorer/explorer_json.h"
#include "services/analysis/explorer/html.h"
#include "tests/services/analysis/explorer_planted.h"

namespace monoroute::analysis::explorer {
namespace {

using testing::PlantedRun;
using testing::PlantedText;

class FakeData : public ExplorerData {
 public:
  FakeData() : run_(std::make_shared<RunEvents>(PlantedRun(40))) {}
  absl::StatusOr<std::vector<RunListing>> ListRuns() override {
    RunListing a, b;
    a.run_id = "planted";
    a.events = 1600;
    b.run_id = "other";
    return std::vector<RunListing>{a, b};
  }
  absl::StatusOr<std::shared_ptr<const RunEvents>> Events(const std::string& run,
                                                          const std::string& split) override {
    if (run != "planted" && run != "other") return absl::NotFoundError("run " + run + " not found");
    if (!split.empty() && split != "valid") return absl::NotFoundError("split " + split);
    return run_;
  }
  absl::StatusOr<std::string> ReportJson(const std::string& run, const std::string&) override {
    return std::string(R"({"schema_version":3,"run":{"run_id":")") + run +
           R"("},"layers":[{"layer":0,"answer":"Layer 0 <b>answer</b>","max_violation":0.1,
             "mi_nats":{"observed":0.3,"null_mean":0.1,"excess":0.2,"ci":[0.1,0.3]},
             "locality":{"observed":0.5,"null_mean":0.25,"excess":0.25,"ci":[0.2,0.3]},
             "cross_layer_mi":{"observed":0.2,"null_mean":0.01,"excess":0.19,"ci":[0.1,0.3]},
             "next_routed_layer":2,
             "coactivation_pairs":[{"pathway_a":1,"pathway_b":5,"together":40,"expected":4.0,
               "lift":{"observed":10.0,"null_mean":1.0,"excess":9.0,"ci":[8.0,10.0]}}],
             "pathways":[{"pathway":5,"specialised":true,"kl_excess_nats":2.0}]}]})";
  }
  absl::StatusOr<TryResult> Try(const std::string&, const std::string& text,
                                const std::string&) override {
    TryResult r;
    r.checkpoint = "/ckpt";
    r.top_k = 2;
    r.routed_layers = {0};
    TryToken t;
    t.text = text;
    t.routing.push_back({0, {5, 1}, {0.9f, 0.1f}});
    r.tokens.push_back(t);
    return r;
  }
  // Logit tables: " dragon" (100) raised, id 42 lowered; records what it was asked; refuses
  // checkpoints outside "/ckpt".
  absl::StatusOr<PathwayLogits> Logits(const PathwayLogitsOptions& o) override {
    logit_requests.push_back(o);
    if (o.checkpoint.rfind("/ckpt", 0) != 0) {
      return absl::PermissionDeniedError("logits: checkpoint " + o.checkpoint + " outside");
    }
    PathwayLogits r;
    r.computed = true;
    r.checkpoint = o.checkpoint;
    r.contexts = static_cast<uint32_t>(o.contexts.size());
    r.raised = {{100, "", 2.5}};
    r.lowered = {{42, "", -1.5}};
    return r;
  }
  std::vector<PathwayLogitsOptions> logit_requests;
  // A stored ablation of layer 0 pathway 5 beside checkpoints under "/ckpt" only.
  absl::StatusOr<std::string> AblationJson(const std::string& checkpoint, uint32_t layer,
                                           uint32_t pathway) override {
    if (checkpoint.rfind("/ckpt", 0) != 0) return absl::PermissionDeniedError("outside");
    if (layer != 0 || pathway != 5) return absl::NotFoundError("no ablation result stored");
    return std::string(R"({"layer":0,"pathway":5,"tokens":4096,"sequences":32,
      "selected_tokens":40,"target_effect":0.5,"control_effect":0.1,
      "controls":[{"pathway":1,"load":41,"effect":0.1},{"pathway":2,"load":39,"effect":0.1}],
      "effect_difference":0.4,"effect_difference_ci":[0.3,0.5],"top_token_count":30,
      "rest_token_count":10,"top_increase":0.6,"rest_increase":0.2,
      "top_vs_rest_difference":0.4,"top_vs_rest_ci":[0.1,0.7],"bootstrap":1000})");
  }

 private:
  std::shared_ptr<const RunEvents> run_;
};

class ExplorerSiteTest : public ::testing::Test {
 protected:
  FakeData data_;
  ExplorerSite site_{&data_, PlantedText, ExplorerOptions{}};
};

TEST_F(ExplorerSiteTest, PathwayPageHighlightsThePlantedToken) {
  SiteResponse r = site_.Handle("/runs/planted/layers/0/pathways/5", {});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("<mark class=\"hit\" tabindex=\"0\" data-gate=\"0.900\"> dragon"),
            std::string::npos);
  EXPECT_NE(r.body.find(" w"), std::string::npos);  // the neighbours
  EXPECT_NE(r.body.find("specialised"), std::string::npos);
  EXPECT_NE(r.body.find("valid/fresh_routers"), std::string::npos);  // control link
  EXPECT_EQ(r.body.find("http://"), std::string::npos);              // no other host
  EXPECT_EQ(r.body.find("https://"), std::string::npos);
}

TEST_F(ExplorerSiteTest, ApiMatchesThePage) {
  SiteResponse r = site_.Handle("/api/runs/planted/layers/0/pathways/5", {});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/json");
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["load"], 40);
  EXPECT_EQ(j["top_contexts"][0]["tokens"][j["top_contexts"][0]["routed_index"].get<int>()],
            " dragon");
  EXPECT_EQ(j["tokens_by_lift"][0]["token"], " dragon");
  ASSERT_EQ(j["load_over_training"].size(), 1u);  // the planted run: one step (7)
  EXPECT_EQ(j["load_over_training"][0]["step_low"], 7);
  EXPECT_EQ(j["load_over_training"][0]["selecting"], 40);
  EXPECT_DOUBLE_EQ(j["load_over_training"][0]["load_vs_uniform"].get<double>(),
                   j["load_vs_uniform"].get<double>());
  SiteResponse page = site_.Handle("/runs/planted/layers/0/pathways/5", {});
  EXPECT_NE(page.body.find("recorded at one step (7) only"), std::string::npos);
  auto three = nlohmann::json::parse(
      site_.Handle("/api/runs/planted/layers/0/pathways/5", {{"top_contexts", "3"}}).body);
  EXPECT_EQ(three["top_contexts"].size(), 3u);
  EXPECT_EQ(j["top_contexts"].size(), 20u);  // the default
  for (const char* bad : {"0", "1001", "x"}) {
    SiteResponse r = site_.Handle("/api/runs/planted/layers/0/pathways/5", {{"top_contexts", bad}});
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_NE(r.body.find("top_contexts"), std::string::npos);
  }
}

TEST_F(ExplorerSiteTest, OverviewRunsCompareTry) {
  SiteResponse o = site_.Handle("/runs/planted", {});
  ASSERT_EQ(o.status, 200) << o.body;
  EXPECT_NE(o.body.find("Layer 0 &lt;b&gt;answer&lt;/b&gt;"), std::string::npos);  // escaped
  EXPECT_NE(o.body.find("/runs/planted/layers/0/pathways/5"), std::string::npos);
  EXPECT_NE(o.body.find("<code> dragon</code>"), std::string::npos);  // grid: top token by lift
  // The routing structure, with tooltips naming docs/analysis.md and the co-activated pair.
  EXPECT_NE(o.body.find("Routing structure"), std::string::npos);
  EXPECT_NE(o.body.find("consistency with layer 2"), std::string::npos);
  EXPECT_NE(o.body.find("docs/analysis.md, Routing structure"), std::string::npos);
  EXPECT_NE(o.body.find("/runs/planted/layers/0/pathways/1\">1</a>+"), std::string::npos);
  EXPECT_NE(o.body.find("[0.2000, 0.3000]"), std::string::npos) << o.body;  // locality interval
  auto oj = nlohmann::json::parse(site_.Handle("/api/runs/planted", {}).body);
  EXPECT_EQ(oj["layers"][0]["pathways"][5]["load"], 40);
  EXPECT_EQ(oj["report"]["schema_version"], 3);
  SiteResponse runs = site_.Handle("/", {});
  EXPECT_NE(runs.body.find("href=\"/runs/planted\""), std::string::npos);
  SiteResponse c = site_.Handle("/runs/planted/compare/other", {});
  EXPECT_EQ(c.status, 200);
  SiteResponse redirect = site_.Handle("/compare", {{"run", "planted"}, {"baseline", "other"}});
  EXPECT_EQ(redirect.status, 303);
  EXPECT_EQ(redirect.location, "/runs/planted/compare/other");
  SiteResponse t = site_.Handle("/runs/planted/try", {{"text", " dragon<"}});
  EXPECT_EQ(t.status, 200);
  EXPECT_NE(t.body.find("<code> dragon&lt;</code>"), std::string::npos);
  EXPECT_NE(t.body.find("/runs/planted/layers/0/pathways/5"), std::string::npos);
}

TEST_F(ExplorerSiteTest, ErrorsMapToHttpCodes) {
  EXPECT_EQ(site_.Handle("/runs/nope", {}).status, 404);
  EXPECT_EQ(site_.Handle("/runs/planted/layers/1/pathways/0", {}).status, 404);
  EXPECT_EQ(site_.Handle("/runs/planted/layers/x/pathways/0", {}).status, 400);
  EXPECT_EQ(site_.Handle("/runs/planted/layers/0/pathways/99", {}).status, 404);
  SiteResponse api = site_.Handle("/api/runs/planted/layers/0/pathways/99", {});
  EXPECT_EQ(api.status, 404);
  EXPECT_EQ(nlohmann::json::parse(api.body)["error"]["code"], 404);
  EXPECT_EQ(site_.Handle("/api/runs/planted/try", {}).status, 400);
  EXPECT_EQ(site_.Handle("/elsewhere", {}).status, 404);
}

TEST_F(ExplorerSiteTest, StaticLinksAreFiles) {
  const RunEvents run = PlantedRun(40);
  SiteLinks links{"planted", true, ""};
  auto page = site_.PathwayPage(run, "", 0, 5, links);
  ASSERT_TRUE(page.ok());
  EXPECT_NE(page->find("href=\"index.html\""), std::string::npos);
  EXPECT_EQ(page->find("href=\"/"), std::string::npos);  // nothing absolute
  auto overview = site_.OverviewPage(run, "", links);
  ASSERT_TRUE(overview.ok());
  EXPECT_NE(overview->find("href=\"layer0_pathway5.html\""), std::string::npos);
  EXPECT_EQ(overview->find("href=\"/"), std::string::npos);
}

TEST_F(ExplorerSiteTest, LogitTablesFromTheCheckpointOnThePageApiAndNeuronpedia) {
  SiteResponse none = site_.Handle("/api/runs/planted/layers/0/pathways/5", {});
  auto nj = nlohmann::json::parse(none.body);
  EXPECT_FALSE(nj["logits"]["computed"]);  // no checkpoint given, no label
  EXPECT_TRUE(data_.logit_requests.empty());
  EXPECT_NE(site_.Handle("/runs/planted/layers/0/pathways/5", {}).body.find("Not computed"),
            std::string::npos);

  SiteResponse page =
      site_.Handle("/runs/planted/layers/0/pathways/5", {{"checkpoint", "/ckpt/a"}});
  ASSERT_EQ(page.status, 200) << page.body;
  ASSERT_EQ(data_.logit_requests.size(), 1u);
  const PathwayLogitsOptions& req = data_.logit_requests[0];
  EXPECT_EQ(req.layer, 0u);
  EXPECT_EQ(req.pathway, 5u);
  ASSERT_EQ(req.contexts.size(), 20u);  // the top contexts: every one ends at the planted token
  for (const LogitContext& c : req.contexts) {
    ASSERT_EQ(c.token_ids.size(), testing::kDragonPosition + 1);  // positions 0..5
    EXPECT_EQ(c.token_ids.back(), testing::kDragon);
    EXPECT_FLOAT_EQ(c.gate, 0.9f);
  }
  const size_t raised = page.body.find("id=\"raised\"");
  ASSERT_NE(raised, std::string::npos);
  EXPECT_NE(page.body.find("<code> dragon</code></td><td class=\"n\">2.500", raised),
            std::string::npos);
  EXPECT_NE(page.body.find("-1.500", raised), std::string::npos);
  // Links carry the checkpoint; the API and a second view come from the cache.
  EXPECT_NE(page.body.find("/runs/planted/try?checkpoint=%2Fckpt%2Fa"), std::string::npos);
  auto j = nlohmann::json::parse(
      site_.Handle("/api/runs/planted/layers/0/pathways/5", {{"checkpoint", "/ckpt/a"}}).body);
  EXPECT_TRUE(j["logits"]["computed"]);
  EXPECT_EQ(j["logits"]["contexts"], 20);
  EXPECT_EQ(j["logits"]["raised"][0]["token"], " dragon");
  EXPECT_EQ(j["logits"]["lowered"][0]["token_id"], 42);
  EXPECT_DOUBLE_EQ(j["logits"]["lowered"][0]["value"].get<double>(), -1.5);
  EXPECT_EQ(data_.logit_requests.size(), 1u);

  // A refused checkpoint: the page still renders and says why.
  SiteResponse refused =
      site_.Handle("/runs/planted/layers/0/pathways/5", {{"checkpoint", "/etc"}});
  EXPECT_EQ(refused.status, 200);
  EXPECT_NE(refused.body.find("outside"), std::string::npos);

  // The Neuronpedia features: pos_str / neg_str are the logit tables.
  const RunEvents run = PlantedRun(40);
  auto prof = site_.Profile(run, 0, 5, "/ckpt/a");
  ASSERT_TRUE(prof.ok());
  auto np = nlohmann::json::parse(NeuronpediaBatchJson("m", "planted", 0, {**prof}));
  const auto& f = np["features"][0];
  EXPECT_EQ(f["pos_str"][0], " dragon");
  EXPECT_DOUBLE_EQ(f["pos_values"][0].get<double>(), 2.5);
  EXPECT_EQ(f["neg_values"][0], -1.5);
  EXPECT_EQ(f["monoroute_tokens_by_lift_str"][0], " dragon");
}

TEST_F(ExplorerSiteTest, StoredAblationOnThePathwayPageAndApi) {
  // No checkpoint: the page says there is no ablation result and how to store one.
  SiteResponse none = site_.Handle("/runs/planted/layers/0/pathways/5", {});
  EXPECT_NE(none.body.find("No ablation result for this run"), std::string::npos);
  EXPECT_NE(none.body.find("--layer 0 --pathway 5 --save"), std::string::npos);
  // Stored beside the checkpoint: the controlled effect with its interval, top ids vs the rest.
  SiteResponse page =
      site_.Handle("/runs/planted/layers/0/pathways/5", {{"checkpoint", "/ckpt/a"}});
  ASSERT_EQ(page.status, 200);
  const size_t at = page.body.find("id=\"ablation\"");
  ASSERT_NE(at, std::string::npos);
  EXPECT_NE(page.body.find("0.4000 nats [0.3000, 0.5000]", at), std::string::npos) << page.body;
  EXPECT_NE(page.body.find("(pathways 1, 2)", at), std::string::npos);
  EXPECT_NE(page.body.find("0.4000 [0.1000, 0.7000]", at), std::string::npos);
  EXPECT_NE(page.body.find("/ckpt/a/ablations/layer0_pathway5.json", at), std::string::npos);
  auto j = nlohmann::json::parse(
      site_.Handle("/api/runs/planted/layers/0/pathways/5", {{"checkpoint", "/ckpt/a"}}).body);
  EXPECT_TRUE(j["ablation"]["found"]);
  EXPECT_DOUBLE_EQ(j["ablation"]["effect_difference"]["ci"][1].get<double>(), 0.5);
  // Another pathway: none stored, and the page says so.
  SiteResponse other =
      site_.Handle("/runs/planted/layers/0/pathways/2", {{"checkpoint", "/ckpt/a"}});
  EXPECT_NE(other.body.find("No ablation result for this run: no ablation result stored"),
            std::string::npos);
  // A result for another pathway is refused by the parser.
  EXPECT_FALSE(ParseAblationJson(R"({"layer":0,"pathway":4})", 0, 5).ok());
  EXPECT_FALSE(ParseAblationJson("[]", 0, 5).ok());
}

TEST_F(ExplorerSiteTest, LogitTablesFromTheRunsCheckpointLabel) {
  RunEvents run = PlantedRun(40);
  run.labels["checkpoint"] = "/ckpt/label";
  auto page = site_.PathwayPage(run, "", 0, 5, SiteLinks{"planted", true, ""});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(data_.logit_requests.size(), 1u);
  EXPECT_EQ(data_.logit_requests[0].checkpoint, "/ckpt/label");
  EXPECT_NE(page->find("id=\"raised\""), std::string::npos);
}

TEST(ExplorerHtmlTest, EscapingAndFormatting) {
  EXPECT_EQ(Esc("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
  EXPECT_EQ(TokenHtml("a\nb"),
            "a\xe2\x8f\x8e"
            "b");
  EXPECT_EQ(UrlEncode("valid/fresh routers"), "valid%2Ffresh%20routers");
  EXPECT_EQ(Fmt(std::nan("")), "\xe2\x80\x93");
  EXPECT_EQ(Fmt(0.12345, 2), "0.12");
  EXPECT_EQ(FmtInterval(std::nan(""), std::nan("")), "");
}

}  // namespace
}  // namespace monoroute::analysis::explorer
