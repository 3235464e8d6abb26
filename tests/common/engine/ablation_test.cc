// Tests of pathway ablation on a tiny routed checkpoint trained in the test.
#include "common/engine/ablation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/engine/train.h"
#include "tests/common/engine/test_util.h"

namespace monoroute::engine {
namespace {

using ::testing::HasSubstr;

class AblationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    model_dir_ = new std::string(testing::TrainTinyRoutedCheckpoint(*dir_));
    ASSERT_FALSE(model_dir_->empty()) << "training the tiny routed checkpoint failed";
    testing::WriteText(dir_->Sub("eval.txt"), testing::StoryCorpus(20, /*seed=*/3));
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete model_dir_;
  }
  AblationOptions Options() {
    AblationOptions o;
    o.model_dir = *model_dir_;
    o.data_path = dir_->Sub("eval.txt");
    o.seq_len = 32;
    o.batch_size = 4;
    o.layer = 0;
    o.pathway = 3;
    return o;
  }
  static testing::TempDir* dir_;
  static std::string* model_dir_;
};
testing::TempDir* AblationTest::dir_ = nullptr;
std::string* AblationTest::model_dir_ = nullptr;

TEST_F(AblationTest, SplitsTheLossIncreaseBySelection) {
  auto r = RunPathwayAblation(Options());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->layer, 0);
  EXPECT_EQ(r->pathway, 3);
  EXPECT_GT(r->tokens, 0);
  EXPECT_EQ(r->tokens % 32, 0);
  EXPECT_GT(r->selected_tokens, 0);
  EXPECT_LT(r->selected_tokens, r->tokens);
  EXPECT_NE(r->ablated_loss, r->base_loss);
  // The mean increase over all tokens is the selection-weighted mix of the two means.
  double mix = (r->selected_increase * r->selected_tokens +
                r->other_increase * (r->tokens - r->selected_tokens)) /
               r->tokens;
  EXPECT_NEAR(mix, r->ablated_loss - r->base_loss, 1e-6);
  EXPECT_NEAR(r->ratio, r->selected_increase / r->other_increase, 1e-9);
  // Tokens that never route to the pathway are only affected through attention to earlier
  // tokens: their mean change is smaller than on selected tokens.
  EXPECT_GT(std::abs(r->selected_increase), std::abs(r->other_increase));
  nlohmann::json j = nlohmann::json::parse(AblationResultToJson(*r));
  EXPECT_EQ(j["pathway"], 3);
  EXPECT_EQ(j["tokens"], r->tokens);
}

TEST_F(AblationTest, SeveralTargetsShareTheIntactPass) {
  AblationOptions o = Options();
  o.max_batches = 2;
  auto all = RunPathwayAblations(o, {{0, 0}, {0, 1}, {0, 7}});
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].tokens, 2 * 4 * 32);
  EXPECT_EQ((*all)[0].base_loss, (*all)[2].base_loss);
  int64_t selected = 0;
  for (const auto& r : *all) selected += r.selected_tokens;
  EXPECT_GT(selected, 0);
  o.layer = 0;
  o.pathway = 1;
  auto one = RunPathwayAblation(o);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->ablated_loss, (*all)[1].ablated_loss);
}

TEST_F(AblationTest, BadInputIsAClearError) {
  AblationOptions o = Options();
  o.layer = 1;  // not routed (every 2nd layer from 0)
  auto r = RunPathwayAblation(o);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("layer: 1 is not a routed layer"));
  o = Options();
  o.pathway = 8;
  r = RunPathwayAblation(o);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("pathway: 8 is outside [0, 8)"));
  o = Options();
  o.data_path = dir_->Sub("none.txt");
  r = RunPathwayAblation(o);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("none.txt"));
  o = Options();
  o.model_dir = dir_->Sub("nomodel");
  r = RunPathwayAblation(o);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("nomodel"));
}

}  // namespace
}  // namespace monoroute::engine
