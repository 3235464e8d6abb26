// Tests of run spec and batch validation: each bad input has the right code and names the field.
#include "services/recorder/batch_validator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "tests/services/recorder/recorder_test_util.h"

namespace monoroute::recorder {
namespace {

using ::testing::HasSubstr;

class BatchValidatorTest : public ::testing::Test {
 protected:
  BatchValidatorTest()
      : layout_(RunLayout::From(testing::TestSpec("r1"))),
        batch_(testing::MakeBatch(layout_.spec, "w", 7, 8, 3, 1)) {}

  absl::Status Check(size_t max_events = 1 << 20) {
    return ValidateBatch(layout_, batch_, max_events, &idx_);
  }

  RunLayout layout_;
  EventBatchData batch_;
  std::vector<uint8_t> idx_;
};

TEST_F(BatchValidatorTest, AcceptsGoodBatchAndMapsLayers) {
  ASSERT_TRUE(Check().ok());
  ASSERT_EQ(idx_.size(), batch_.num_events());
  for (size_t i = 0; i < idx_.size(); ++i) {
    EXPECT_EQ(layout_.spec.routed_layers[idx_[i]], batch_.layer[i]);
  }
}

TEST_F(BatchValidatorTest, EmptyBatch) {
  EventBatchData empty;
  empty.batch_seq = 7;
  empty.writer_id = "w";
  absl::Status s = ValidateBatch(layout_, empty, 100, &idx_);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("batch 7: empty batch"));
}

TEST_F(BatchValidatorTest, LengthsDiffer) {
  batch_.position.pop_back();
  absl::Status s = Check();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("position has"));
}

TEST_F(BatchValidatorTest, TopKLengthMismatch) {
  batch_.pathways.pop_back();
  batch_.weights.pop_back();
  absl::Status s = Check();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("pathways has"));
}

TEST_F(BatchValidatorTest, UndeclaredLayer) {
  batch_.layer[3] = 5;
  absl::Status s = Check();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("layer[3] = 5 is not a routed layer"));
}

TEST_F(BatchValidatorTest, PathwayOutOfRange) {
  batch_.pathways[9] = 16;
  absl::Status s = Check();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("pathways[9] = 16 >= num_pathways 16"));
}

TEST_F(BatchValidatorTest, TokenOutOfRange) {
  batch_.token_id[2] = 1000;
  absl::Status s = Check();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("token_id[2] = 1000 >= vocab_size 1000"));
}

TEST_F(BatchValidatorTest, NonFiniteWeight) {
  batch_.weights[12] = std::numeric_limits<float>::quiet_NaN();
  absl::Status s = Check();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "batch 7: weights[12] is not finite");
  batch_.weights[12] = std::numeric_limits<float>::infinity();
  EXPECT_EQ(Check().message(), "batch 7: weights[12] is not finite");
}

TEST_F(BatchValidatorTest, RepeatedPathwayInOneEventsTopK) {
  // Event 2's top-4 (pathways[8..11]) names one pathway twice: it would be counted twice.
  batch_.pathways[10] = batch_.pathways[8];
  absl::Status s = Check();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), absl::StrCat("batch 7: event 2: pathway ", batch_.pathways[8],
                                      " appears more than once in its top-k (pathways[8..11])"));
  // The same pathways in every event are fine: only a repeat within one event's top-k is not.
  for (size_t e = 0; e < batch_.num_events(); ++e) {
    for (size_t j = 0; j < 4; ++j) batch_.pathways[e * 4 + j] = static_cast<uint32_t>(j);
  }
  EXPECT_TRUE(Check().ok());
}

TEST_F(BatchValidatorTest, Oversize) {
  absl::Status s = Check(10);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(s.message(), HasSubstr("exceed the limit of 10"));
}

TEST(RunSpecValidationTest, RejectsBadSpecs) {
  RunSpecData out;
  RunSpecData s = testing::TestSpec("ok");
  EXPECT_TRUE(ValidateRunSpec(s, &out).ok());
  s.step_bucket = 0;
  ASSERT_TRUE(ValidateRunSpec(s, &out).ok());
  EXPECT_EQ(out.step_bucket, kDefaultStepBucket);

  RunSpecData bad = testing::TestSpec("bad id!");
  EXPECT_THAT(ValidateRunSpec(bad, &out).message(), HasSubstr("run_id"));
  bad = testing::TestSpec("r");
  bad.top_k = 17;
  EXPECT_THAT(ValidateRunSpec(bad, &out).message(), HasSubstr("top_k 17"));
  bad = testing::TestSpec("r");
  bad.routed_layers = {0, 2, 0};
  EXPECT_THAT(ValidateRunSpec(bad, &out).message(), HasSubstr("routed_layers[2] = 0 is repeated"));
  bad = testing::TestSpec("r");
  bad.vocab_size = 0;
  EXPECT_EQ(ValidateRunSpec(bad, &out).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace monoroute::recorder
