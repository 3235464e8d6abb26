// Tests of the recorder's key/value layouts and the UInt64Add merge operator.
#include "services/recorder/key_codec.h"

#include <gtest/gtest.h>

#include "services/recorder/uint64_add_operator.h"
#include "tests/services/recorder/recorder_test_util.h"

namespace monoroute::recorder {
namespace {

TEST(KeyCodecTest, BigEndianKeysSortNumerically) {
  EXPECT_LT(CountsAllKey(1, 2, 0, 255), CountsAllKey(1, 2, 0, 256));
  EXPECT_LT(CountsBucketKey(1, 2, 9, 1, 999), CountsBucketKey(1, 2, 10, 0, 0));
  EXPECT_LT(EventsKey(1, 0, 255, "w", 9), EventsKey(1, 0, 256, "w", 0));
  EXPECT_LT(EventsKey(1, 6, UINT64_MAX, "w", 9), EventsKey(2, 0, 0, "", 0));
  EXPECT_EQ(CountsAllKey(3, 4, 1, 5).substr(0, 9), CountsLayerPrefix(3, kCountsAll, 4));
}

TEST(KeyCodecTest, EventsKeyRoundTrip) {
  EventsKeyParts p;
  ASSERT_TRUE(ParseEventsKey(EventsKey(7, 4, 123456789012ull, "writer-1", 42), &p));
  EXPECT_EQ(p.run, 7u);
  EXPECT_EQ(p.layer, 4u);
  EXPECT_EQ(p.step, 123456789012ull);
  EXPECT_EQ(p.writer, "writer-1");
  EXPECT_EQ(p.batch_seq, 42u);
  EXPECT_FALSE(ParseEventsKey("short", &p));
}

TEST(KeyCodecTest, RunRecordRoundTrip) {
  RunRecord r{9, testing::TestSpec("run.1")};
  r.spec.raw_retention_steps = 77;
  absl::StatusOr<RunRecord> d = DecodeRunRecord(EncodeRunRecord(r));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->run_num, 9u);
  EXPECT_TRUE(d->spec == r.spec);
  EXPECT_EQ(DecodeRunRecord("\x01\xff").status().code(), absl::StatusCode::kDataLoss);
}

TEST(KeyCodecTest, WriterStatsRoundTrip) {
  WriterStats w;
  w.events = 5;
  w.batches = 2;
  w.min_step = 3;
  w.max_step = 9;
  w.layers_mask = 0b1010;
  w.splits_mask = 3;
  w.first_ms = 1700000000000;
  w.last_ms = 1700000000999;
  absl::StatusOr<WriterStats> d = DecodeWriterStats(EncodeWriterStats(w));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->events, 5u);
  EXPECT_EQ(d->max_step, 9u);
  EXPECT_EQ(d->layers_mask, 0b1010u);
  EXPECT_EQ(d->last_ms, 1700000000999);
}

TEST(KeyCodecTest, RawBlockRoundTrip) {
  RunSpecData spec = testing::TestSpec("r");
  EventBatchData b = testing::MakeBatch(spec, "w", 1, 50, 3, 7);
  std::vector<uint32_t> idx = {0, 5, 49, 120};
  std::string v;
  EncodeRawBlock(b, idx.data(), idx.size(), spec.top_k, 2, &v);
  absl::StatusOr<RawBlock> rb = DecodeRawBlock(v);
  ASSERT_TRUE(rb.ok()) << rb.status();
  EXPECT_EQ(rb->split, 2);
  ASSERT_EQ(rb->token_id.size(), 4u);
  for (size_t i = 0; i < idx.size(); ++i) {
    EXPECT_EQ(rb->token_id[i], b.token_id[idx[i]]);
    EXPECT_EQ(rb->sequence_id[i], b.sequence_id[idx[i]]);
    EXPECT_EQ(rb->position[i], b.position[idx[i]]);
    EXPECT_EQ(rb->next_token_id[i], b.next_token_id[idx[i]]);
    for (uint32_t j = 0; j < spec.top_k; ++j) {
      EXPECT_EQ(rb->pathways[i * 4 + j], b.pathways[idx[i] * 4 + j]);
      EXPECT_EQ(rb->weights[i * 4 + j], b.weights[idx[i] * 4 + j]);
    }
  }
  EXPECT_FALSE(DecodeRawBlock(v.substr(0, v.size() - 1)).ok());
}

TEST(UInt64AddOperatorTest, AddsElementWiseWithPaddingAndWrap) {
  UInt64AddOperator op;
  EXPECT_STREQ(op.Name(), "monoroute.UInt64Add");
  std::string a, b, out;
  uint64_t va[] = {1, 300, 0};
  uint64_t vb[] = {2, 5, 7, 9, static_cast<uint64_t>(-3)};
  EncodeVarintVector(va, 3, &a);
  EncodeVarintVector(vb, 5, &b);
  rocksdb::Slice sa(a);
  ASSERT_TRUE(op.Merge("k", &sa, b, &out, nullptr));
  std::vector<uint64_t> got;
  ASSERT_TRUE(AddVarintVector(out, &got));
  EXPECT_EQ(got, (std::vector<uint64_t>{3, 305, 7, 9, static_cast<uint64_t>(-3)}));
  // Signed fixed point wraps correctly: -3 + 5 = 2.
  std::string c;
  uint64_t vc[] = {0, 0, 0, 0, 5};
  EncodeVarintVector(vc, 5, &c);
  rocksdb::Slice so(out);
  std::string out2;
  ASSERT_TRUE(op.Merge("k", &so, c, &out2, nullptr));
  got.clear();
  ASSERT_TRUE(AddVarintVector(out2, &got));
  EXPECT_EQ(got[4], 2u);
  // No existing value; malformed operand is a failed merge (corruption), not a crash.
  ASSERT_TRUE(op.Merge("k", nullptr, a, &out, nullptr));
  EXPECT_EQ(out, a);
  EXPECT_FALSE(op.Merge("k", nullptr, std::string("\xff\xff", 2), &out, nullptr));
}

}  // namespace
}  // namespace monoroute::recorder
