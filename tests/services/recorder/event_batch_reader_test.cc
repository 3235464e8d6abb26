// Tests of EventBatchReader: canonical encodings (EventBatchWire, the generated serializer) parse
// on the fast path to the batch that was encoded; every other input gives exactly what the
// generated parser gives (unknown fields, unpacked columns, repeated fields, non-ASCII strings,
// truncated or corrupted bytes, checked by a seeded mutation sweep); columns are reused.
#include "services/recorder/event_batch_reader.h"

#include <google/protobuf/stubs/logging.h>
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "services/recorder/event_batch_wire.h"
#include "services/recorder/proto_convert.h"
#include "tests/services/recorder/event_batch_test_util.h"

namespace monoroute::recorder {
namespace {

using testing::DiffViews;
using testing::WideBatch;

std::string Encode(const events::RoutingEventView& v) {
  EventBatchWire w;
  w.Encode(v);
  return std::string(w.data(), w.size());
}

// Parses `bytes` with the reader and the generated parser; both must agree.
void ExpectSameAsGenerated(const std::string& bytes, const std::string& what) {
  EventBatchReader r;
  absl::Status s = r.Parse(bytes);
  v1::EventBatch m;
  const bool ok = m.ParseFromString(bytes);
  ASSERT_EQ(s.ok(), ok) << what << ": " << s;
  if (!ok) {
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << what;
    EXPECT_NE(s.message().find("EventBatch: malformed wire bytes"), std::string::npos) << s;
    return;
  }
  EXPECT_EQ(DiffViews(r.view(), ViewOf(m)), "") << what;
}

TEST(EventBatchReaderTest, CanonicalBytesTakeTheFastPathToTheEncodedBatch) {
  for (size_t n : {1u, 2u, 40u, 5000u}) {
    events::RoutingEventBatch b = WideBatch(n);
    EventBatchReader r;
    ASSERT_TRUE(r.Parse(Encode(b.view())).ok());
    EXPECT_FALSE(r.used_generic_parser()) << n;
    EXPECT_EQ(DiffViews(r.view(), b.view()), "") << n << " events";
    // The generated serializer's bytes are the same encoding.
    v1::EventBatch m;
    ToProto(b.view(), &m);
    ASSERT_TRUE(r.Parse(m.SerializeAsString()).ok());
    EXPECT_FALSE(r.used_generic_parser());
    EXPECT_EQ(DiffViews(r.view(), b.view()), "");
  }
}

TEST(EventBatchReaderTest, EmptyBytesAreTheDefaultBatch) {
  EventBatchReader r;
  ASSERT_TRUE(r.Parse("").ok());
  EXPECT_EQ(r.view().num_events(), 0u);
  EXPECT_TRUE(r.view().header.writer_id.empty());
  // ... which the store rejects by its validation, naming the field.
  EXPECT_FALSE(r.view().Validate().ok());
}

TEST(EventBatchReaderTest, UnusualEncodingsGiveWhatTheGeneratedParserGives) {
  const std::string base = Encode(WideBatch(20).view());
  // Unknown field 99 (varint) appended: kept as an unknown field by protobuf, ignored here.
  ExpectSameAsGenerated(base + std::string("\x98\x06\x05", 3), "unknown field");
  // Reserved field 10 (the old per-event step array), packed.
  ExpectSameAsGenerated(base + std::string("\x52\x02\x01\x02", 4), "reserved field");
  // Unpacked token_id elements (field 14, wire type 0) are appended to the column.
  ExpectSameAsGenerated(base + std::string("\x70\x07\x70\x08", 4), "unpacked column");
  // A second packed token_id run is appended; a second run_id replaces the first.
  ExpectSameAsGenerated(base + std::string("\x72\x02\x03\x04\x0a\x01x", 7), "repeated fields");
  // A header field with a wrong wire type is an unknown field to protobuf.
  ExpectSameAsGenerated(base + std::string("\x1a\x01z", 3), "batch_seq as bytes");
  // Non-ASCII strings: valid UTF-8 accepted, invalid rejected (proto3 strings).
  google::protobuf::LogSilencer quiet;
  ExpectSameAsGenerated(base + std::string("\x22\x02\xc3\xa9", 4), "UTF-8 split");
  ExpectSameAsGenerated(base + std::string("\x22\x01\xff", 3), "invalid UTF-8 split");
  // Weights whose length is not a multiple of 4, a 10-byte varint, an over-long varint.
  ExpectSameAsGenerated(base + std::string("\x8a\x01\x03\x00\x00\x00", 6), "short weights");
  ExpectSameAsGenerated(std::string("\x28\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11),
                        "10-byte step");
  ExpectSameAsGenerated(std::string("\x28\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 11),
                        "10-byte step, high bits");
  ExpectSameAsGenerated(std::string("\x28\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12),
                        "11-byte varint");
  ExpectSameAsGenerated(std::string("\x30\xff\xff\xff\xff\x7f", 6), "layer over 32 bits");
  ExpectSameAsGenerated(std::string("\x00\x01", 2), "field 0");
  // Empty packed runs (the fuzzer found a null memcpy for empty weights).
  ExpectSameAsGenerated(std::string("\x8a\x01\x00\x72\x00", 5), "empty packed runs");
  ExpectSameAsGenerated(base + std::string("\x8a\x01\x00", 3), "empty weights run appended");
  ExpectSameAsGenerated(std::string("\x0b\x0c", 2), "group");
}

TEST(EventBatchReaderTest, MutatedBytesGiveWhatTheGeneratedParserGives) {
  const std::string base = Encode(WideBatch(12).view());
  google::protobuf::LogSilencer quiet;  // the generated parser logs every invalid UTF-8 string
  std::mt19937 rng(7);
  for (int i = 0; i < 3000; ++i) {
    std::string b = base;
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      const size_t at = rng() % b.size();
      switch (rng() % 3) {
        case 0:
          b[at] = static_cast<char>(rng());
          break;
        case 1:
          b.resize(at);
          break;
        default:
          b.insert(at, 1, static_cast<char>(rng()));
      }
      if (b.empty()) break;
    }
    ExpectSameAsGenerated(b, "mutation " + std::to_string(i));
  }
}

TEST(EventBatchReaderTest, ColumnsAreReusedAndHoldOnlyTheLatestBatch) {
  events::RoutingEventBatch big = WideBatch(2000), small = WideBatch(3);
  EventBatchReader r;
  ASSERT_TRUE(r.Parse(Encode(big.view())).ok());
  const uint32_t* memory = r.view().token_id.data();
  ASSERT_TRUE(r.Parse(Encode(small.view())).ok());
  EXPECT_EQ(r.view().token_id.data(), memory);
  EXPECT_EQ(DiffViews(r.view(), small.view()), "");
  // After a generic parse, the next canonical batch is read on the fast path again.
  ASSERT_TRUE(r.Parse(Encode(small.view()) + std::string("\x98\x06\x05", 3)).ok());
  EXPECT_TRUE(r.used_generic_parser());
  ASSERT_TRUE(r.Parse(Encode(big.view())).ok());
  EXPECT_FALSE(r.used_generic_parser());
  EXPECT_EQ(DiffViews(r.view(), big.view()), "");
}

}  // namespace
}  // namespace monoroute::recorder
