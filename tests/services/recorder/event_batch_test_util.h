// Test helpers of the EventBatch wire code: DiffViews, the first difference between two
// routing-event views (header fields and columns, weights compared bit for bit), and WideBatch,
// a batch whose values cover every varint width. Shared by event_batch_wire_test,
// event_batch_reader_test and tests/fuzz/event_batch_reader_fuzzer.
#ifndef MONOROUTE_TESTS_SERVICES_RECORDER_EVENT_BATCH_TEST_UTIL_H_
#define MONOROUTE_TESTS_SERVICES_RECORDER_EVENT_BATCH_TEST_UTIL_H_

#include <cstdint>
#include <cstring>
#include <limits>
#include <string>

#include "absl/types/span.h"
#include "common/events/routing_event_batch.h"

namespace monoroute::recorder::testing {

// "" when `a` and `b` hold the same header and columns; else the name of the first field that
// differs.
inline std::string DiffViews(const events::RoutingEventView& a, const events::RoutingEventView& b) {
  const events::RoutingEventHeader &x = a.header, &y = b.header;
  if (x.run_id != y.run_id) return "run_id";
  if (x.writer_id != y.writer_id) return "writer_id";
  if (x.split != y.split) return "split";
  if (x.step != y.step) return "step";
  if (x.layer != y.layer) return "layer";
  if (x.top_k != y.top_k) return "top_k";
  if (x.batch_id != y.batch_id) return "batch_id";
  auto same = [](auto u, auto v) {
    return u.size() == v.size() &&
           (u.empty() || std::memcmp(u.data(), v.data(), u.size() * sizeof(u[0])) == 0);
  };
  if (!same(a.sequence_id, b.sequence_id)) return "sequence_id";
  if (!same(a.position, b.position)) return "position";
  if (!same(a.token_id, b.token_id)) return "token_id";
  if (!same(a.next_token_id, b.next_token_id)) return "next_token_id";
  if (!same(a.pathways, b.pathways)) return "pathways";
  if (!same(a.weights, b.weights)) return "weights";
  return "";
}

// `n` events with top_k 3 whose values cover 1- to 10-byte varints and signed zero weights.
inline events::RoutingEventBatch WideBatch(size_t n) {
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

}  // namespace monoroute::recorder::testing

#endif  // MONOROUTE_TESTS_SERVICES_RECORDER_EVENT_BATCH_TEST_UTIL_H_
