// Tests of RoutingEventBatch / RoutingEventView: the view shares the columns, and each run-free
// rule of Validate rejects with the right code and a message naming the field.
#include "common/events/routing_event_batch.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>

namespace monoroute::events {
namespace {

using ::testing::HasSubstr;

// 3 events of top-2 at step 5 of layer 2, batch 7.
RoutingEventBatch Good() {
  RoutingEventBatch b;
  b.header.run_id = "r1";
  b.header.writer_id = "w";
  b.header.split = "valid";
  b.header.step = 5;
  b.header.layer = 2;
  b.header.top_k = 2;
  b.header.batch_id = 7;
  b.sequence_id = {10, 10, 11};
  b.position = {0, 1, 0};
  b.token_id = {3, 4, 5};
  b.next_token_id = {4, 9, 6};
  b.pathways = {0, 1, 2, 3, 1, 0};
  b.weights = {0.75f, 0.25f, 0.5f, 0.5f, 0.9f, 0.1f};
  return b;
}

TEST(RoutingEventBatchTest, ViewSharesColumnsAndCopiesHeader) {
  RoutingEventBatch b = Good();
  RoutingEventView v = b.view();
  EXPECT_EQ(v.num_events(), 3u);
  EXPECT_EQ(v.token_id.data(), b.token_id.data());
  EXPECT_EQ(v.pathways.data(), b.pathways.data());
  EXPECT_EQ(v.weights.size(), 6u);
  EXPECT_EQ(v.header.step, 5u);
  EXPECT_EQ(v.header.layer, 2u);
  EXPECT_EQ(v.header.batch_id, 7u);
  EXPECT_TRUE(b.Validate().ok()) << b.Validate();
}

TEST(RoutingEventBatchTest, CopyOfAViewOwnsEqualColumns) {
  RoutingEventBatch b = Good();
  RoutingEventBatch c = RoutingEventBatch::CopyOf(b.view());
  EXPECT_NE(c.token_id.data(), b.token_id.data());
  EXPECT_EQ(c.header.run_id, b.header.run_id);
  EXPECT_EQ(c.header.batch_id, b.header.batch_id);
  EXPECT_EQ(c.sequence_id, b.sequence_id);
  EXPECT_EQ(c.position, b.position);
  EXPECT_EQ(c.token_id, b.token_id);
  EXPECT_EQ(c.next_token_id, b.next_token_id);
  EXPECT_EQ(c.pathways, b.pathways);
  EXPECT_EQ(c.weights, b.weights);
}

TEST(RoutingEventBatchTest, EmptyAndOversize) {
  RoutingEventBatch b = Good();
  absl::Status s = b.Validate(RoutingEventLimits{2});
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(s.message(), "batch 7: 3 events exceed the limit of 2 per batch");
  RoutingEventBatch empty;
  empty.header = b.header;
  s = empty.Validate();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "batch 7: empty batch (no events)");
}

TEST(RoutingEventBatchTest, HeaderFieldsAreNamed) {
  RoutingEventBatch b = Good();
  b.header.writer_id.clear();
  EXPECT_EQ(b.Validate().message(), "batch 7: writer_id is empty");
  b.header.writer_id = std::string(kMaxWriterIdBytes + 1, 'w');
  EXPECT_THAT(b.Validate().message(), HasSubstr("writer_id '"));
  b = Good();
  b.header.run_id = std::string(kMaxRunIdBytes + 1, 'r');
  EXPECT_THAT(b.Validate().message(), HasSubstr("run_id '"));
  b = Good();
  b.header.split = "bad\nsplit";
  EXPECT_THAT(b.Validate().message(), HasSubstr("split 'bad"));
  b.header.split = std::string(kMaxSplitBytes + 1, 's');
  EXPECT_THAT(b.Validate().message(), HasSubstr("bytes, at most 64"));
  b = Good();
  b.header.top_k = 0;
  EXPECT_EQ(b.Validate().message(), "batch 7: top_k 0 must be in 1..256");
}

TEST(RoutingEventBatchTest, ColumnLengthsAreNamed) {
  RoutingEventBatch b = Good();
  b.position.pop_back();
  absl::Status s = b.Validate();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "batch 7: array lengths differ: token_id has 3 entries, position has 2");
  b = Good();
  b.weights.pop_back();
  EXPECT_EQ(b.Validate().message(),
            "batch 7: weights has 5 entries, expected 6 (3 events x top_k 2)");
  b = Good();
  b.header.top_k = 3;
  EXPECT_EQ(b.Validate().message(),
            "batch 7: pathways has 6 entries, expected 9 (3 events x top_k 3)");
}

TEST(RoutingEventBatchTest, TopKValuesAreChecked) {
  RoutingEventBatch b = Good();
  b.pathways[3] = 2;  // event 1's top-2 is {2, 2}
  EXPECT_EQ(b.Validate().message(),
            "batch 7: event 1: pathway 2 appears more than once in its top-k (pathways[2..3])");
  b = Good();
  b.pathways[4] = 300;
  EXPECT_THAT(b.Validate().message(), HasSubstr("pathways[4] = 300 >= 256"));
  b = Good();
  b.weights[1] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(b.Validate().message(), "batch 7: weights[1] is not finite");
  b.weights[1] = 2e6f;
  EXPECT_THAT(b.Validate().message(), HasSubstr("weights[1] = 2e+06 is outside"));
}

TEST(RoutingEventBatchTest, EffectiveSplit) {
  EXPECT_EQ(EffectiveSplit(""), "train");
  EXPECT_EQ(EffectiveSplit("valid/fresh_routers"), "valid/fresh_routers");
}

}  // namespace
}  // namespace monoroute::events
