// Tests of EventBatchWire: the hand-written encoding is byte-identical to the generated
// v1::EventBatch serializer (so every v1 reader parses it) for full, default and empty batches,
// values of every varint width, short and long packed columns; buffers are reused.
#include "services/recorder/event_batch_wire.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "services/recorder/proto_convert.h"

namespace monoroute::recorder {
namespace {

// The generated serializer's bytes for the same batch.
std::string Reference(const events::RoutingEventView& v) {
  v1::EventBatch m;
  ToProto(v, &m);
  return m.SerializeAsString();
}

std::string Bytes(const EventBatchWire& w) { return std::string(w.data(), w.size()); }

// `n` events with top_k 3 whose values cover 1- to 10-byte varints.
events::RoutingEventBatch WideBatch(size_t n) {
  events::RoutingEventBatch b;
  b.header.run_id = "run-1";
  b.header.writer_id = "writer-7";
  b.header.split = "valid/fresh_routers";
  b.header.step = uint64_t{1} << 40;
  b.header.layer = 6;
  b.header.top_k = 3;
  b.header.batch_id = 123456789;
  for (size_t i = 0; i < n; ++i) {
    b.sequence_id.push_back(i % 3 == 0 ? std::numeric_limits<uint64_t>::max() - i : i << (i % 60));
    b.position.push_back(static_cast<uint32_t>(i));
    b.token_id.push_back(static_cast<uint32_t>((uint64_t{i} * 2654435761u) >> (i % 32)));
    b.next_token_id.push_back(i % 2 == 0 ? 0u : std::numeric_limits<uint32_t>::max());
    for (uint32_t k = 0; k < 3; ++k) {
      b.pathways.push_back((static_cast<uint32_t>(i) + k) % 256);
      b.weights.push_back(k == 0 ? -0.0f : static_cast<float>(i) * 0.37f - 5.0f);
    }
  }
  return b;
}

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
  events::RoutingEventBatch back = FromProto(m);
  EXPECT_EQ(back.header.run_id, b.header.run_id);
  EXPECT_EQ(back.header.writer_id, b.header.writer_id);
  EXPECT_EQ(back.header.split, b.header.split);
  EXPECT_EQ(back.header.step, b.header.step);
  EXPECT_EQ(back.header.layer, b.header.layer);
  EXPECT_EQ(back.header.top_k, b.header.top_k);
  EXPECT_EQ(back.header.batch_id, b.header.batch_id);
  EXPECT_EQ(back.sequence_id, b.sequence_id);
  EXPECT_EQ(back.position, b.position);
  EXPECT_EQ(back.token_id, b.token_id);
  EXPECT_EQ(back.next_token_id, b.next_token_id);
  EXPECT_EQ(back.pathways, b.pathways);
  ASSERT_EQ(back.weights.size(), b.weights.size());
  for (size_t i = 0; i < b.weights.size(); ++i) {
    EXPECT_EQ(std::signbit(back.weights[i]), std::signbit(b.weights[i])) << i;
    EXPECT_EQ(back.weights[i], b.weights[i]) << i;
  }
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
