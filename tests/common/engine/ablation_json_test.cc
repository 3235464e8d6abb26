// Tests of AblationResult's JSON document: AblationResultToJson's keys, and AblationResultFromJson
// reading it back (every field, NaN as null), documents of version 1 and malformed values.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "common/engine/ablation.h"

namespace monoroute::engine {
namespace {

BootstrapDifference Diff(double estimate, double low, double high, double se, int64_t n) {
  BootstrapDifference d;
  d.estimate = estimate;
  d.low = low;
  d.high = high;
  d.se = se;
  d.replicates = n;
  return d;
}

// A result with every field set (none at its default), one interval without replicates (NaN).
AblationResult Sample() {
  AblationResult r;
  r.layer = 2;
  r.pathway = 5;
  r.tokens = 4096;
  r.sequences = 32;
  r.selected_tokens = 700;
  r.base_loss = 3.25;
  r.ablated_loss = 3.5;
  r.target_effect = 0.75;
  r.controls = {{1, 690, 0.125}, {7, 710, BootstrapDifference::kNaN}};
  r.control_effect = 0.125;
  r.effect_difference = Diff(0.625, 0.5, 0.75, 0.0625, 999);
  r.top_token_ids = {11, 13, 262};
  r.top_token_count = 300;
  r.rest_token_count = 400;
  r.top_increase = 1.5;
  r.rest_increase = 0.25;
  r.top_vs_rest = Diff(1.25, BootstrapDifference::kNaN, BootstrapDifference::kNaN,
                       BootstrapDifference::kNaN, 0);
  r.selected_increase = 0.75;
  r.other_increase = 0.03125;
  r.bootstrap = 1000;
  r.seed = 18446744073709551615ULL;
  r.category_source = "data/lexicon";
  r.min_category_tokens = 40;
  AblationCategoryEffect c;
  c.category = "animal";
  c.status = "ok";
  c.tokens = 120;
  c.control_tokens = 480;
  c.controls_used = {1, 7};
  c.target_increase = 0.875;
  c.control_increase = 0.25;
  c.difference = Diff(0.625, 0.375, 0.875, 0.125, 1000);
  r.categories = {c};
  c.category = "none";
  c.status = "too few tokens";
  c.tokens = 3;
  c.controls_used.clear();
  c.target_increase = c.control_increase = BootstrapDifference::kNaN;
  c.difference = BootstrapDifference();
  r.categories.push_back(c);
  return r;
}

// Equal, NaN equal to NaN.
void ExpectSame(double a, double b, const char* what) {
  if (std::isnan(a)) {
    EXPECT_TRUE(std::isnan(b)) << what;
  } else {
    EXPECT_EQ(a, b) << what;
  }
}

void ExpectSame(const BootstrapDifference& a, const BootstrapDifference& b, const char* what) {
  ExpectSame(a.estimate, b.estimate, what);
  ExpectSame(a.low, b.low, what);
  ExpectSame(a.high, b.high, what);
  ExpectSame(a.se, b.se, what);
  EXPECT_EQ(a.replicates, b.replicates) << what;
}

TEST(AblationJsonTest, WritesTheDocumentedKeys) {
  const nlohmann::json j = nlohmann::json::parse(AblationResultToJson(Sample()));
  EXPECT_EQ(j["version"], kAblationJsonVersion);
  EXPECT_EQ(j["effect_difference_ci"], nlohmann::json::array({0.5, 0.75}));
  EXPECT_EQ(j["effect_difference_replicates"], 999);
  EXPECT_EQ(j["top_vs_rest_difference"], 1.25);
  EXPECT_TRUE(j["top_vs_rest_ci"][0].is_null());
  EXPECT_TRUE(j["top_vs_rest_se"].is_null());
  EXPECT_TRUE(j["controls"][1]["effect"].is_null());
  EXPECT_EQ(j["interval"], "percentile");
  EXPECT_EQ(j["category_of"], "current token");
  EXPECT_EQ(j["categories"][0]["difference_ci"], nlohmann::json::array({0.375, 0.875}));
  EXPECT_EQ(j["categories"][0]["chance_level"], 0.0);
  EXPECT_TRUE(j["categories"][0]["null"].is_string());

  AblationResult plain = Sample();
  plain.category_source.clear();
  const nlohmann::json k = nlohmann::json::parse(AblationResultToJson(plain));
  EXPECT_FALSE(k.contains("categories"));
  EXPECT_FALSE(k.contains("category_of"));
  EXPECT_FALSE(k.contains("min_category_tokens"));
}

TEST(AblationJsonTest, ReadsBackEveryField) {
  const AblationResult r = Sample();
  const std::string json = AblationResultToJson(r);
  int version = 0;
  absl::StatusOr<AblationResult> t = AblationResultFromJson(json, &version);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(version, kAblationJsonVersion);
  EXPECT_EQ(AblationResultToJson(*t), json);
  EXPECT_EQ(t->layer, 2);
  EXPECT_EQ(t->pathway, 5);
  EXPECT_EQ(t->tokens, 4096);
  EXPECT_EQ(t->sequences, 32);
  EXPECT_EQ(t->selected_tokens, 700);
  EXPECT_EQ(t->base_loss, 3.25);
  EXPECT_EQ(t->ablated_loss, 3.5);
  ASSERT_EQ(t->controls.size(), 2u);
  EXPECT_EQ(t->controls[1].pathway, 7);
  EXPECT_EQ(t->controls[1].load, 710);
  EXPECT_TRUE(std::isnan(t->controls[1].effect));
  ExpectSame(t->effect_difference, r.effect_difference, "effect_difference");
  ExpectSame(t->top_vs_rest, r.top_vs_rest, "top_vs_rest");
  EXPECT_EQ(t->top_token_ids, r.top_token_ids);
  EXPECT_EQ(t->top_token_count, 300);
  EXPECT_EQ(t->rest_token_count, 400);
  EXPECT_EQ(t->other_increase, 0.03125);
  EXPECT_EQ(t->bootstrap, 1000);
  EXPECT_EQ(t->seed, r.seed);
  EXPECT_EQ(t->category_source, "data/lexicon");
  EXPECT_EQ(t->min_category_tokens, 40);
  ASSERT_EQ(t->categories.size(), 2u);
  EXPECT_EQ(t->categories[0].category, "animal");
  EXPECT_EQ(t->categories[0].controls_used, (std::vector<int>{1, 7}));
  ExpectSame(t->categories[0].difference, r.categories[0].difference, "categories[0]");
  EXPECT_EQ(t->categories[1].status, "too few tokens");
  EXPECT_TRUE(std::isnan(t->categories[1].target_increase));
}

TEST(AblationJsonTest, ReadsVersionOneAndSkipsMalformedValues) {
  int version = 0;
  absl::StatusOr<AblationResult> t = AblationResultFromJson(
      R"({"layer": 4, "pathway": "x", "target_effect": null, "base_loss": "high",
          "controls": [{"pathway": 3}, 7], "categories": [{"category": "a"}]})",
      &version);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(version, 1);
  EXPECT_EQ(t->layer, 4);
  EXPECT_EQ(t->pathway, 0);
  EXPECT_TRUE(std::isnan(t->target_effect));
  EXPECT_EQ(t->base_loss, 0.0);
  ASSERT_EQ(t->controls.size(), 1u);
  EXPECT_EQ(t->controls[0].pathway, 3);
  EXPECT_TRUE(t->categories.empty());  // no category_source: no breakdown

  for (const char* bad : {"", "[1, 2]", "{\"layer\": ", "3"}) {
    absl::StatusOr<AblationResult> b = AblationResultFromJson(bad);
    EXPECT_EQ(b.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace monoroute::engine
