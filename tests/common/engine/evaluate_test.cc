// EvaluateModel on a tiny checkpoint trained in the test: its loss equals the ablation's intact
// loss (an independent log_softmax computation over the same windows); dense-only differs for a
// routed model; bad input is rejected naming the field.
#include "common/engine/evaluate.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "common/engine/ablation.h"
#include "common/engine/train.h"
#include "tests/common/engine/test_util.h"

namespace monoroute::engine {
namespace {

using ::testing::HasSubstr;

class EvaluateTest : public testing::TinyCheckpointTest {
 protected:
  static EvaluateOptions Options() {
    EvaluateOptions o = EvalOn<EvaluateOptions>(4);
    o.threads = 2;
    return o;
  }
};

TEST_F(EvaluateTest, EqualsTheAblationsIndependentIntactLoss) {
  absl::StatusOr<EvaluateResult> r = EvaluateModel(Options());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->routed);
  EXPECT_GT(r->tokens, 0);
  EXPECT_NEAR(r->perplexity, std::exp(r->loss), 1e-9);
  AblationOptions a = EvalOn<AblationOptions>(4);  // the same windows
  a.layer = 0;
  a.pathway = 1;
  absl::StatusOr<AblationResult> ab = RunPathwayAblation(a);
  ASSERT_TRUE(ab.ok()) << ab.status();
  EXPECT_EQ(ab->tokens, r->tokens);
  EXPECT_NEAR(ab->base_loss, r->loss, 1e-5);
  nlohmann::json j = nlohmann::json::parse(EvaluateResultToJson(Options(), *r));
  EXPECT_EQ(j["tokens"], r->tokens);
  EXPECT_EQ(j["routed"], true);
}

TEST_F(EvaluateTest, DenseOnlyEvaluatesWithoutTheRouters) {
  absl::StatusOr<EvaluateResult> routed = EvaluateModel(Options());
  EvaluateOptions o = Options();
  o.dense_only = true;
  absl::StatusOr<EvaluateResult> dense = EvaluateModel(o);
  ASSERT_TRUE(routed.ok() && dense.ok());
  EXPECT_FALSE(dense->routed);
  EXPECT_EQ(dense->tokens, routed->tokens);
  EXPECT_NE(dense->loss, routed->loss);
  EXPECT_TRUE(std::isfinite(dense->loss));
}

TEST_F(EvaluateTest, BadInputNamesTheField) {
  EvaluateOptions o = Options();
  o.data_path = dir_->Sub("missing.txt");
  absl::StatusOr<EvaluateResult> r = EvaluateModel(o);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("data: "));
  o = Options();
  o.seq_len = 65;  // the tiny model has 64 positions
  r = EvaluateModel(o);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("seq_len"));
  o = Options();
  o.batch_size = 0;
  EXPECT_THAT(std::string(EvaluateModel(o).status().message()), HasSubstr("batch_size"));
  o = Options();
  o.precision = "fp8";
  EXPECT_THAT(std::string(EvaluateModel(o).status().message()), HasSubstr("precision"));
  o = Options();
  o.model_dir = dir_->Sub("nothing-here");
  EXPECT_FALSE(EvaluateModel(o).ok());
}

}  // namespace
}  // namespace monoroute::engine
