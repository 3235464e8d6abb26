// Tests of EventBatchWire: the hand-written encoding is byte-identical to the generated
// v1::EventBatch serializer (so every v1 reader parses it) for full, default and empty batches,
// values of every varint width, short and long packed columns; buffers are reused.
#include "services/recorder/event_batch_wire.h"

#include <gtest/gtest.h>

#include <string>

#include "services/recorder/proto_convert.h"
#include "tests/services/recorder/event_batch_test_util.h"

namespace monoroute::recorder {
namespace {

// The generated serializer's bytes for the same batch.
std::string Reference(const events::RoutingEventView& v) {
  v1::EventBatch m;
  ToProto(v, &m);
  return m.SerializeAsString();
}

std::string Bytes(const EventBatchWire& w) { return std::string(w.data(), w.size()); }

using testing::DiffViews;
using testing::WideBatch;

TEST(EventBatchWireTest, MatchesTheGeneratedSerializer) {
  for (size_t n : {1u, 2u, 40u, 5000u}) {  // 5000 events: packed lengths of 2 and 3 bytes
    events::RoutingEventBatch b = WideBatch(n);
    EventBatchWire w;
    w.Encode(b.view());
    EXPECT_EQ(Bytes(w), Reference(b.view())) << n << " events";
    EXPECT_LE(w.size(), MaxEncodedEventBatchBytes(b.view()));
  }
}

TEST(EventBatchWireTest, DefaultsAndEmptyColumnsAreOmittedLikeProto3) {
  events::RoutingEventBatch b;  // every field at its default
  EventBatchWire w;
  w.Encode(b.view());
  EXPECT_EQ(w.size(), 0u);
  EXPECT_EQ(Bytes(w), Reference(b.view()));
  b.header.writer_id = "w";  // one field set, columns empty, step 0
  b.token_id = {0};
  w.Encode(b.view());
  EXPECT_EQ(Bytes(w), Reference(b.view()));
}

TEST(EventBatchWireTest, ParsesBackToTheSameColumns) {
  events::RoutingEventBatch b = WideBatch(300);
  EventBatchWire w;
  w.Encode(b.view());
  v1::EventBatch m;
  ASSERT_TRUE(m.ParseFromArray(w.data(), static_cast<int>(w.size())));
  // Header and columns equal, weights bit for bit (signed zeros included).
  EXPECT_EQ(DiffViews(ViewOf(m), b.view()), "");
}

TEST(EventBatchWireTest, ReusedBufferKeepsItsMemoryAndHoldsOnlyTheLatestBatch) {
  EventBatchWire w;
  events::RoutingEventBatch big = WideBatch(2000), small = WideBatch(3);
  w.Encode(big.view());
  const size_t capacity = w.capacity();
  const char* memory = w.data();
  w.Encode(small.view());
  EXPECT_EQ(w.capacity(), capacity);
  EXPECT_EQ(w.data(), memory);
  EXPECT_EQ(Bytes(w), Reference(small.view()));
  w.Encode(big.view());
  EXPECT_EQ(Bytes(w), Reference(big.view()));
}

}  // namespace
}  // namespace monoroute::recorder
