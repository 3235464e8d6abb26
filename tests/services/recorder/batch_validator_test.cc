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
    return ValidateBatch(layout_, batch_.view(), max_events, &idx_);
  }

  RunLayout layout_;
  events::RoutingEventBatch batch_;
  uint8_t idx_ = 255;
};

TEST_F(BatchValidatorTest, AcceptsGoodBatchAndMapsItsLayer) {
  ASSERT_TRUE(Check().ok());
  EXPECT_EQ(layout_.spec.routed_layers[idx_], batch_.header.layer);
  for (int li = 0; li < 4; ++li) {  // every routed layer maps to its index
    batch_ = testing::MakeBatch(layout_.spec, "w", 7, 8, 3, 1, "", li);
    ASSERT_TRUE(Check().ok());
    EXPECT_EQ(idx_, li);
  }
}

TEST_F(BatchValidatorTest, EmptyBatch) {
  events::RoutingEventBatch empty;
  empty.header = batch_.header;
  absl::Status s = ValidateBatch(layout_, empty.view(), 100, &idx_);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("batch 7: empty batch"));
}

TEST_F(BatchValidatorTest, LengthsDiffer) {
  batch_.position.pop_back();
  absl::Status s = Check();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("position has 7"));
}

TEST_F(BatchValidatorTest, TopKLengthMismatch) {
  batch_.pathways.pop_back();
  batch_.weights.pop_back();
  absl::Status s = Check();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("pathways has"));
}

TEST_F(BatchValidatorTest, UndeclaredLayer) {
  batch_.header.layer = 5;
  absl::Status s = Check();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "batch 7: layer 5 is not a routed layer of run r1 (declared: 0,2,4,6)");
}

TEST_F(BatchValidatorTest, TopKOfAnotherRun) {
  // Columns consistent with top_k 2, but the run routes top-4.
  batch_.header.top_k = 2;
  batch_.pathways.resize(batch_.num_events() * 2);
  batch_.weights.resize(batch_.num_events() * 2);
  for (size_t e = 0; e < batch_.num_events(); ++e) {
    batch_.pathways[2 * e] = 0;
    batch_.pathways[2 * e + 1] = 1;
  }
  absl::Status s = Check();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "batch 7: top_k 2 differs from run r1's top_k 4");
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
  absl::Status s = Check(5);  // 8 events
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(s.message(), "batch 7: 8 events exceed the limit of 5 per batch");
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
