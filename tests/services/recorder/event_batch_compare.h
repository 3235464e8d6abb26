// DiffViews: the first difference between two routing-event views (header fields and columns,
// weights compared bit for bit), or "" when equal. Shared by event_batch_reader_test and
// tests/fuzz/event_batch_reader_fuzzer, which compare EventBatchReader with the generated parser.
#ifndef MONOROUTE_TESTS_SERVICES_RECORDER_EVENT_BATCH_COMPARE_H_
#define MONOROUTE_TESTS_SERVICES_RECORDER_EVENT_BATCH_COMPARE_H_

#include <cstring>
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

}  // namespace monoroute::recorder::testing

#endif  // MONOROUTE_TESTS_SERVICES_RECORDER_EVENT_BATCH_COMPARE_H_
