// Tests of the recorder's wire <-> core conversions of run specs and summaries, which walk
// recorder_types.h's field lists by protobuf reflection: every listed field is in the proto, and
// every value (repeated layers, the labels map, bools, 64-bit steps) survives the round trip.
#include "services/recorder/proto_convert.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/services/recorder/recorder_test_util.h"

namespace monoroute::recorder {
namespace {

// Every field set, none to its default.
RunSpecData FullSpec() {
  RunSpecData s = testing::TestSpec("run-1", /*store_raw=*/false);
  s.vocab_size = 50257;
  s.raw_retention_steps = uint64_t{1} << 40;
  s.labels["balancing"] = "glbl";
  return s;
}

TEST(RecorderProtoConvertTest, EveryListedFieldIsInTheProto) {
  EXPECT_THAT(FieldsMissingFromProto(), ::testing::IsEmpty());
}

TEST(RecorderProtoConvertTest, RunSpecRoundTripsEveryField) {
  const RunSpecData s = FullSpec();
  v1::RunSpec p;
  ToProto(s, &p);
  EXPECT_EQ(p.run_id(), "run-1");
  EXPECT_THAT(p.routed_layers(), ::testing::ElementsAre(0u, 2u, 4u, 6u));
  EXPECT_EQ(p.num_pathways(), 16u);
  EXPECT_EQ(p.top_k(), 4u);
  EXPECT_EQ(p.vocab_size(), 50257u);
  EXPECT_FALSE(p.store_raw_events());
  EXPECT_EQ(p.step_bucket(), 10u);
  EXPECT_EQ(p.raw_retention_steps(), uint64_t{1} << 40);
  ASSERT_EQ(p.labels().size(), 2u);
  EXPECT_EQ(p.labels().at("balancing"), "glbl");
  EXPECT_TRUE(FromProto(p) == s);
  // A default message reads as the default spec (proto3 defaults: store_raw_events false).
  RunSpecData empty = FromProto(v1::RunSpec());
  EXPECT_TRUE(empty.run_id.empty() && empty.routed_layers.empty() && empty.labels.empty());
  EXPECT_FALSE(empty.store_raw_events);
}

TEST(RecorderProtoConvertTest, ToProtoReplacesRepeatedFieldsAndLabels) {
  v1::RunSpec p;
  ToProto(FullSpec(), &p);
  RunSpecData smaller = FullSpec();
  smaller.routed_layers = {1};
  smaller.labels = {{"only", "one"}};
  ToProto(smaller, &p);
  EXPECT_THAT(p.routed_layers(), ::testing::ElementsAre(1u));
  ASSERT_EQ(p.labels().size(), 1u);
  EXPECT_EQ(p.labels().at("only"), "one");
}

TEST(RecorderProtoConvertTest, RunSummaryCarriesItsSpecAndCounters) {
  RunSummaryData s;
  s.spec = FullSpec();
  s.events = 123456789012;
  s.batches = 7;
  s.min_step = 3;
  s.max_step = 99;
  s.layers_seen = {2, 6};
  s.splits = {"train", "valid"};
  s.first_write_unix_ms = -5;
  s.last_write_unix_ms = 1765000000000;
  s.watermark = 42;
  s.finished = true;
  s.finished_unix_ms = 1765000000001;
  v1::RunSummary p;
  ToProto(s, &p);
  EXPECT_TRUE(FromProto(p.spec()) == s.spec);
  EXPECT_EQ(p.events(), 123456789012u);
  EXPECT_EQ(p.batches(), 7u);
  EXPECT_EQ(p.min_step(), 3u);
  EXPECT_EQ(p.max_step(), 99u);
  EXPECT_THAT(p.layers_seen(), ::testing::ElementsAre(2u, 6u));
  EXPECT_THAT(p.splits(), ::testing::ElementsAre("train", "valid"));
  EXPECT_EQ(p.first_write_unix_ms(), -5);
  EXPECT_EQ(p.last_write_unix_ms(), 1765000000000);
  EXPECT_EQ(p.watermark(), 42u);
  EXPECT_TRUE(p.finished());
  EXPECT_EQ(p.finished_unix_ms(), 1765000000001);
}

}  // namespace
}  // namespace monoroute::recorder
