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

TEST(KeyCodecTest, FinishedRunRecordRoundTripAndVersion1StillDecodes) {
  RunRecord r{3, testing::TestSpec("run.2")};
  const std::string v1 = EncodeRunRecord(r);
  EXPECT_EQ(v1[0], 1);  // an unfinished run keeps the original layout
  absl::StatusOr<RunRecord> d1 = DecodeRunRecord(v1);
  ASSERT_TRUE(d1.ok()) << d1.status();
  EXPECT_FALSE(d1->finished);
  EXPECT_EQ(d1->finished_unix_ms, 0);
  r.finished = true;
  r.finished_unix_ms = 1700000000123;
  const std::string v2 = EncodeRunRecord(r);
  EXPECT_EQ(v2[0], 2);
  EXPECT_EQ(v2.substr(1, v1.size() - 1), v1.substr(1));  // the version 1 fields, then the tail
  absl::StatusOr<RunRecord> d2 = DecodeRunRecord(v2);
  ASSERT_TRUE(d2.ok()) << d2.status();
  EXPECT_TRUE(d2->finished);
  EXPECT_EQ(d2->finished_unix_ms, 1700000000123);
  EXPECT_TRUE(d2->spec == r.spec);
  EXPECT_EQ(DecodeRunRecord(v2.substr(0, v2.size() - 1)).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeRunRecord("\x03").status().code(), absl::StatusCode::kDataLoss);
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
  events::RoutingEventBatch b = testing::MakeBatch(spec, "w", 1, 50, 3, 7);
  std::string v;
  EncodeRawBlock(b.view(), 2, &v);
  absl::StatusOr<RawBlock> rb = DecodeRawBlock(v);
  ASSERT_TRUE(rb.ok()) << rb.status();
  EXPECT_EQ(rb->split, 2);
  EXPECT_EQ(rb->top_k, 4u);
  EXPECT_EQ(rb->token_id, b.token_id);
  EXPECT_EQ(rb->sequence_id, b.sequence_id);
  EXPECT_EQ(rb->position, b.position);
  EXPECT_EQ(rb->next_token_id, b.next_token_id);
  EXPECT_EQ(rb->pathways, b.pathways);
  EXPECT_EQ(rb->weights, b.weights);
  EXPECT_FALSE(DecodeRawBlock(v.substr(0, v.size() - 1)).ok());
}

TEST(KeyCodecTest, RawBlockBytesAreStable) {
  // The stored format (docs/recorder.md): version 1, split, varint n, varint k, the varint
  // columns, one byte per pathway, little-endian float weights.
  events::RoutingEventBatch b;
  b.header.top_k = 2;
  b.sequence_id = {1, 300};
  b.position = {0, 1};
  b.token_id = {5, 6};
  b.next_token_id = {6, 7};
  b.pathways = {0, 1, 3, 2};
  b.weights = {0.5f, 0.25f, 1.0f, 0.0f};
  std::string v;
  EncodeRawBlock(b.view(), 2, &v);
  const std::string want(
      "\x01\x02\x02\x02"  // version, split, n, k
      "\x01\xac\x02"
      "\x00\x01"
      "\x05\x06"
      "\x06\x07"          // sequence_id, position, token, next
      "\x00\x01\x03\x02"  // pathways
      "\x00\x00\x00\x3f"
      "\x00\x00\x80\x3e"
      "\x00\x00\x80\x3f"
      "\x00\x00\x00\x00",
      33);
  EXPECT_EQ(v, want);
  EXPECT_EQ(EventsKey(1, 2, 3, "w", 4), std::string("\0\0\0\x01"
                                                    "\0\0\0\x02"
                                                    "\0\0\0\0\0\0\0\x03"
                                                    "\0\x01w"
                                                    "\0\0\0\0\0\0\0\x04",
                                                    27));
}

std::vector<uint64_t> Decode(const std::string& v) {
  std::vector<uint64_t> d;
  EXPECT_TRUE(AddSparse(v, &d));
  return d;
}

TEST(UInt64AddOperatorTest, SparseRoundTripOmitsZeros) {
  std::vector<uint64_t> v = {0, 3, 0, 0, 300, static_cast<uint64_t>(-3)};
  std::string enc;
  EncodeSparse(v.data(), v.size(), &enc);
  EXPECT_EQ(Decode(enc), v);
  std::string empty;
  EncodeSparse(v.data(), 1, &empty);
  EXPECT_TRUE(empty.empty());
  std::vector<uint64_t> d;
  EXPECT_FALSE(AddSparse(std::string("\x01\x01\x00\x01", 4), &d));  // index not increasing
  EXPECT_FALSE(AddSparse(std::string("\xff\xff", 2), &d));          // truncated varint
}

TEST(UInt64AddOperatorTest, FullAndPartialMergeAddElementWise) {
  UInt64AddOperator op;
  EXPECT_STREQ(op.Name(), "monoroute.UInt64Add");
  std::vector<uint64_t> a = {1, 0, 5}, b = {2, 7, 0, 9}, c = {0, 0, 0, 0, 0, 0, 0, 4};
  std::string ea, eb, ec;
  EncodeSparse(a.data(), a.size(), &ea);
  EncodeSparse(b.data(), b.size(), &eb);
  EncodeSparse(c.data(), c.size(), &ec);
  rocksdb::Slice existing(ea);
  std::vector<rocksdb::Slice> ops = {eb, ec};
  rocksdb::MergeOperator::MergeOperationInput in("k", &existing, ops, nullptr);
  std::string out_value;
  rocksdb::Slice out_operand;
  rocksdb::MergeOperator::MergeOperationOutput out(out_value, out_operand);
  ASSERT_TRUE(op.FullMergeV2(in, &out));
  EXPECT_EQ(Decode(out_value), (std::vector<uint64_t>{3, 7, 5, 9, 0, 0, 0, 4}));
  std::string partial;
  ASSERT_TRUE(op.PartialMergeMulti("k", std::deque<rocksdb::Slice>{eb, ec}, &partial, nullptr));
  EXPECT_EQ(Decode(partial), (std::vector<uint64_t>{2, 7, 0, 9, 0, 0, 0, 4}));
  // Signed fixed point wraps: -3 + 5 = 2.
  std::vector<uint64_t> neg = {static_cast<uint64_t>(-3)}, pos = {5};
  std::string en, ep;
  EncodeSparse(neg.data(), 1, &en);
  EncodeSparse(pos.data(), 1, &ep);
  ASSERT_TRUE(op.PartialMergeMulti("k", std::deque<rocksdb::Slice>{en, ep}, &partial, nullptr));
  EXPECT_EQ(Decode(partial), (std::vector<uint64_t>{2}));
  // A malformed operand is a failed merge (corruption), not a crash.
  std::vector<rocksdb::Slice> bad = {rocksdb::Slice("\xff", 1)};
  rocksdb::MergeOperator::MergeOperationInput bad_in("k", nullptr, bad, nullptr);
  EXPECT_FALSE(op.FullMergeV2(bad_in, &out));
}

}  // namespace
}  // namespace monoroute::recorder
