// Tests of AblationResult's JSON document: AblationResultFromJson reads every key of a version-2
// document and AblationResultToJson writes the same document back (NaN as null, the categories
// only with a category source); documents of version 1 and malformed values.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "common/engine/ablation.h"

namespace monoroute::engine {
namespace {

// Every key AblationResultToJson writes, none at its default; nulls where a value is NaN.
constexpr char kDocument[] = R"({
  "version": 2, "layer": 2, "pathway": 5, "tokens": 4096, "sequences": 32,
  "selected_tokens": 700, "base_loss": 3.25, "ablated_loss": 3.5, "target_effect": 0.75,
  "controls": [{"pathway": 1, "load": 690, "effect": 0.125},
               {"pathway": 7, "load": 710, "effect": null}],
  "control_effect": 0.125,
  "effect_difference": 0.625, "effect_difference_ci": [0.5, 0.75],
  "effect_difference_se": 0.0625, "effect_difference_replicates": 999,
  "top_token_ids": [11, 13, 262], "top_token_count": 300, "rest_token_count": 400,
  "top_increase": 1.5, "rest_increase": 0.25,
  "top_vs_rest_difference": 1.25, "top_vs_rest_ci": [null, null], "top_vs_rest_se": null,
  "top_vs_rest_replicates": 0,
  "selected_increase": 0.75, "other_increase": 0.03125, "bootstrap": 1000,
  "interval": "percentile", "seed": 18446744073709551615,
  "category_source": "data/lexicon", "category_of": "current token", "min_category_tokens": 40,
  "categories": [
    {"category": "animal", "status": "ok", "tokens": 120, "control_tokens": 480,
     "controls_used": [1, 7], "target_increase": 0.875, "control_increase": 0.25,
     "difference": 0.625, "difference_ci": [0.375, 0.875], "difference_se": 0.125,
     "difference_replicates": 1000, "chance_level": 0.0,
     "null": "load-matched control pathways, ablated alone, on their tokens of this category"},
    {"category": "none", "status": "too few tokens", "tokens": 3, "control_tokens": 0,
     "controls_used": [], "target_increase": null, "control_increase": null,
     "difference": null, "difference_ci": [null, null], "difference_se": null,
     "difference_replicates": 0, "chance_level": 0.0,
     "null": "load-matched control pathways, ablated alone, on their tokens of this category"}]
})";

TEST(AblationJsonTest, ReadsAndWritesEveryKey) {
  int version = 0;
  absl::StatusOr<AblationResult> r = AblationResultFromJson(kDocument, &version);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(version, 2);
  EXPECT_EQ(nlohmann::json::parse(AblationResultToJson(*r)), nlohmann::json::parse(kDocument));
  EXPECT_EQ(r->layer, 2);
  EXPECT_EQ(r->base_loss, 3.25);
  ASSERT_EQ(r->controls.size(), 2u);
  EXPECT_EQ(r->controls[1].load, 710);
  EXPECT_TRUE(std::isnan(r->controls[1].effect));
  EXPECT_EQ(r->effect_difference.replicates, 999);
  EXPECT_EQ(r->effect_difference.high, 0.75);
  EXPECT_TRUE(std::isnan(r->top_vs_rest.low));
  EXPECT_EQ(r->top_vs_rest.estimate, 1.25);
  EXPECT_EQ(r->top_token_ids, (std::vector<int32_t>{11, 13, 262}));
  EXPECT_EQ(r->seed, 18446744073709551615ULL);
  ASSERT_EQ(r->categories.size(), 2u);
  EXPECT_EQ(r->categories[0].controls_used, (std::vector<int>{1, 7}));
  EXPECT_EQ(r->categories[0].difference.low, 0.375);
  EXPECT_EQ(r->categories[1].status, "too few tokens");
  EXPECT_TRUE(std::isnan(r->categories[1].target_increase));
}

TEST(AblationJsonTest, CategoriesOnlyWithASource) {
  absl::StatusOr<AblationResult> r = AblationResultFromJson(kDocument);
  ASSERT_TRUE(r.ok()) << r.status();
  r->category_source.clear();
  const nlohmann::json j = nlohmann::json::parse(AblationResultToJson(*r));
  EXPECT_FALSE(j.contains("categories"));
  EXPECT_FALSE(j.contains("category_of"));
  EXPECT_FALSE(j.contains("min_category_tokens"));
  EXPECT_EQ(j["version"], kAblationJsonVersion);
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
