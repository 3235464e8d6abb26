// Tests of the stored ablation on the pathway page (pathway_ablation.h, the page's ablation block
// and the /api JSON, which the static export shares): a saved document with the per-category
// breakdown (`monoroute ablate --lexicon`) and one without.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "services/analysis/explorer/explorer_json.h"
#include "services/analysis/explorer/pages.h"
#include "services/analysis/explorer/pathway_ablation.h"
#include "services/analysis/explorer/pathway_profile.h"

namespace monoroute::analysis::explorer {
namespace {

// A document as engine::AblationResultToJson writes it with a lexicon (version 2): "thing" has an
// effect above 0, "name" covers 0, "start" is below the minimum count.
constexpr char kWithCategories[] = R"({"version":2,"layer":0,"pathway":3,"tokens":4096,
  "sequences":32,"selected_tokens":4096,"target_effect":5.0,"control_effect":0.0,
  "controls":[{"pathway":1,"load":500,"effect":0.0},{"pathway":6,"load":480,"effect":0.0}],
  "effect_difference":5.0,"effect_difference_ci":[4.5,5.5],"top_token_count":2000,
  "rest_token_count":2096,"top_increase":6.0,"rest_increase":4.0,"top_vs_rest_difference":2.0,
  "top_vs_rest_ci":[1.0,3.0],"bootstrap":400,"interval":"percentile","seed":11,
  "category_source":"/data/lexicon","category_of":"current token","min_category_tokens":30,
  "categories":[
    {"category":"thing","status":"ok","tokens":72,"control_tokens":40,"controls_used":[1,6],
     "target_increase":151.25,"control_increase":0.0,"difference":151.25,
     "difference_ci":[140.5,160.75],"difference_se":5.0,"difference_replicates":400,
     "null":"load-matched control pathways","chance_level":0.0},
    {"category":"name","status":"ok","tokens":120,"control_tokens":60,"controls_used":[1,6],
     "target_increase":0.0,"control_increase":0.0,"difference":0.0,
     "difference_ci":[-0.0001,0.0001],"difference_se":0.0,"difference_replicates":400,
     "null":"load-matched control pathways","chance_level":0.0},
    {"category":"start","status":"too few tokens","tokens":12,"control_tokens":5,
     "controls_used":[1],"target_increase":0.5,"control_increase":0.0,"difference":null,
     "difference_ci":[null,null],"difference_se":null,"difference_replicates":0,
     "null":"load-matched control pathways","chance_level":0.0}]})";

// A version-1 document (no version key, no categories).
constexpr char kWithout[] = R"({"layer":0,"pathway":3,"tokens":4096,"sequences":32,
  "selected_tokens":40,"target_effect":0.5,"control_effect":0.1,"controls":[],
  "effect_difference":0.4,"effect_difference_ci":[0.3,0.5],"bootstrap":1000})";

PathwayProfile ProfileWith(const char* doc) {
  PathwayProfile p;
  p.run_id = "planted";
  p.layer = 0;
  p.pathway = 3;
  p.num_pathways = 8;
  p.top_k = 2;
  absl::StatusOr<PathwayAblation> a = ParseAblationJson(doc, 0, 3);
  EXPECT_TRUE(a.ok()) << a.status();
  if (a.ok()) p.ablation = *a;
  p.ablation.path = "/ckpt/ablations/layer0_pathway3.json";
  return p;
}

TEST(ExplorerAblationTest, ParsesThePerCategoryTable) {
  absl::StatusOr<PathwayAblation> a = ParseAblationJson(kWithCategories, 0, 3);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->version, 2);
  EXPECT_EQ(a->result.category_source, "/data/lexicon");
  EXPECT_EQ(a->result.min_category_tokens, 30);
  ASSERT_EQ(a->result.categories.size(), 3u);
  const engine::AblationCategoryEffect& thing = a->result.categories[0];
  EXPECT_EQ(thing.category, "thing");
  EXPECT_EQ(thing.status, "ok");
  EXPECT_EQ(thing.tokens, 72);
  EXPECT_EQ(thing.control_tokens, 40);
  EXPECT_EQ(thing.controls_used, (std::vector<int>{1, 6}));
  EXPECT_DOUBLE_EQ(thing.difference.low, 140.5);
  EXPECT_DOUBLE_EQ(thing.difference.high, 160.75);
  EXPECT_TRUE(std::isnan(a->result.categories[2].difference.estimate));
  absl::StatusOr<PathwayAblation> old = ParseAblationJson(kWithout, 0, 3);
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(old->version, 1);
  EXPECT_TRUE(old->result.categories.empty());
}

// The reader fills the engine's own type with every stored field, the ones the page does not show
// included (controls' loads, standard errors, replicates, the seed).
TEST(ExplorerAblationTest, ReadsTheEnginesResultType) {
  absl::StatusOr<engine::AblationResult> r = engine::AblationResultFromJson(kWithCategories);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->layer, 0);
  EXPECT_EQ(r->pathway, 3);
  ASSERT_EQ(r->controls.size(), 2u);
  EXPECT_EQ(r->controls[1].pathway, 6);
  EXPECT_EQ(r->controls[1].load, 480);
  EXPECT_DOUBLE_EQ(r->effect_difference.estimate, 5.0);
  EXPECT_DOUBLE_EQ(r->effect_difference.low, 4.5);
  EXPECT_EQ(r->seed, 11u);
  EXPECT_EQ(r->bootstrap, 400);
  EXPECT_DOUBLE_EQ(r->categories[0].difference.se, 5.0);
  EXPECT_EQ(r->categories[0].difference.replicates, 400);
  EXPECT_TRUE(std::isnan(r->categories[2].difference.se));
  // Absent keys keep the type's defaults (NaN for the means).
  absl::StatusOr<engine::AblationResult> old = engine::AblationResultFromJson(kWithout);
  ASSERT_TRUE(old.ok());
  EXPECT_TRUE(std::isnan(old->top_increase));
  EXPECT_TRUE(old->top_token_ids.empty());
  EXPECT_EQ(engine::AblationResultFromJson("[1]").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ExplorerAblationTest, PageShowsTheTableWithKeyboardTooltips) {
  for (bool static_site : {false, true}) {
    SiteLinks links;
    links.run_id = "planted";
    links.static_site = static_site;
    const std::string page = RenderPathwayPage(ProfileWith(kWithCategories), nullptr, {}, links);
    const size_t at = page.find("id=\"ablation-categories\"");
    ASSERT_NE(at, std::string::npos) << page;
    EXPECT_NE(page.find("<code>/data/lexicon</code>", at), std::string::npos);
    EXPECT_NE(page.find("chance level 0", at), std::string::npos);
    EXPECT_NE(page.find("fewer than 30 routed tokens", at), std::string::npos);
    // One row per category: its counts, increases and the difference with its interval.
    EXPECT_NE(page.find("<td>thing</td><td class=\"n\">72</td><td class=\"n\">151.2500</td>"
                        "<td class=\"n\">40</td><td class=\"n\">0.0000</td><td class=\"n\">"
                        "151.2500 [140.5000, 160.7500]</td>",
                        at),
              std::string::npos)
        << page.substr(at);
    EXPECT_NE(page.find("<td>name</td>", at), std::string::npos);
    EXPECT_NE(page.find("[-0.0001, 0.0001]", at), std::string::npos);
    EXPECT_NE(page.find("<td>start</td><td class=\"n\">12</td>", at), std::string::npos);
    EXPECT_NE(page.find("too few tokens", at), std::string::npos);
    // Each column's measure has a focusable tooltip naming docs/analysis.md.
    const std::string table = page.substr(at, page.find("</table>", at) - at);
    size_t tips = 0;
    for (size_t i = table.find("tabindex=\"0\""); i != std::string::npos;
         i = table.find("tabindex=\"0\"", i + 1)) {
      ++tips;
    }
    EXPECT_EQ(tips, 5u) << table;
    EXPECT_NE(table.find("Per-category ablation"), std::string::npos);
    EXPECT_NE(table.find("docs/analysis.md"), std::string::npos);
    EXPECT_NE(table.find("chance level 0"), std::string::npos);
  }
  // Without a breakdown: how to compute one.
  SiteLinks links;
  links.run_id = "planted";
  const std::string old = RenderPathwayPage(ProfileWith(kWithout), nullptr, {}, links);
  EXPECT_EQ(old.find("id=\"ablation-categories\""), std::string::npos);
  EXPECT_NE(old.find("Per category: not computed"), std::string::npos);
  EXPECT_NE(old.find("--lexicon DIR"), std::string::npos);
}

TEST(ExplorerAblationTest, ApiCarriesTheTableWithNullAndChanceLevel) {
  nlohmann::json j = nlohmann::json::parse(ProfileToJson(ProfileWith(kWithCategories)));
  const nlohmann::json& a = j["ablation"];
  EXPECT_EQ(a["version"], 2);
  EXPECT_EQ(a["min_category_tokens"], 30);
  ASSERT_EQ(a["categories"].size(), 3u);
  const nlohmann::json& thing = a["categories"][0];
  EXPECT_EQ(thing["category"], "thing");
  EXPECT_EQ(thing["tokens"], 72);
  EXPECT_DOUBLE_EQ(thing["difference"]["estimate"].get<double>(), 151.25);
  EXPECT_DOUBLE_EQ(thing["difference"]["ci"][0].get<double>(), 140.5);
  EXPECT_EQ(thing["chance_level"], 0.0);
  EXPECT_NE(thing["null"].get<std::string>().find("load-matched control"), std::string::npos);
  EXPECT_EQ(a["categories"][2]["status"], "too few tokens");
  EXPECT_TRUE(a["categories"][2]["difference"]["estimate"].is_null());
  nlohmann::json old = nlohmann::json::parse(ProfileToJson(ProfileWith(kWithout)));
  EXPECT_EQ(old["ablation"]["version"], 1);
  EXPECT_TRUE(old["ablation"]["categories"].empty());
}

}  // namespace
}  // namespace monoroute::analysis::explorer
