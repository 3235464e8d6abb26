// The columns of routed events: per event its sequence, position, token, next token, and its
// top-k pathways and routing weights. One field list, owned (EventColumns: std::vector) or viewed
// (EventColumnsView: absl::Span, not owned), held by every type that carries routed events: the
// engine's and recorder's RoutingEventBatch / RoutingEventView and the explorer's LayerEvents.
// Value types, thread-compatible.
#ifndef MONOROUTE_COMMON_EVENTS_EVENT_COLUMNS_H_
#define MONOROUTE_COMMON_EVENTS_EVENT_COLUMNS_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace monoroute::events {

// An owned column of T.
template <class T>
using OwnedColumn = std::vector<T>;
// A read-only column of T that is not owned (it must outlive the view).
template <class T>
using ViewedColumn = absl::Span<const T>;

// Row i is the token at position[i] of sequence sequence_id[i]; its top_k pathways and weights
// are pathways[i*top_k .. (i+1)*top_k) and weights[...] (descending weight in the engine). top_k
// is not a column: the holder (a batch header, a layer) says it.
template <template <class> class Column>
struct EventColumnsOf {
  // Stable id of each event's sequence (its window index in the split's token stream).
  Column<uint64_t> sequence_id;
  // Each event's token position in its sequence.
  Column<uint32_t> position;
  // Each event's input token id.
  Column<uint32_t> token_id;
  // Each event's next token id (the token the model predicts there).
  Column<uint32_t> next_token_id;
  // N * top_k pathway ids, row-major (event i owns [i*top_k, (i+1)*top_k)).
  Column<uint32_t> pathways;
  // N * top_k routing weights (the router's gates), row-major like pathways.
  Column<float> weights;

  // Events held (the token_id column's length).
  size_t num_events() const { return token_id.size(); }
};

// Columns that own their entries.
using EventColumns = EventColumnsOf<OwnedColumn>;
// Read-only columns of entries owned elsewhere.
using EventColumnsView = EventColumnsOf<ViewedColumn>;

// A view of `c` (valid while `c` is alive and unchanged).
EventColumnsView ViewOf(const EventColumns& c);

// An owning copy of every column of `v` (whatever their lengths).
EventColumns CopyOf(const EventColumnsView& v);

// Checks the column lengths: N = num_events() entries in each per-event column, N * top_k in
// pathways and weights. INVALID_ARGUMENT naming the column otherwise ("array lengths differ:
// token_id has 3 entries, position has 2", "weights has 5 entries, expected 6 (3 events x top_k
// 2)").
absl::Status CheckColumnLengths(const EventColumnsView& c, uint32_t top_k);

// Appends events [begin, end) of `from` to `to`: one entry per per-event column and top_k
// entries of pathways and weights per event. `from` must hold them (checked by the caller).
void AppendEvents(const EventColumnsView& from, size_t begin, size_t end, uint32_t top_k,
                  EventColumns* to);

}  // namespace monoroute::events

#endif  // MONOROUTE_COMMON_EVENTS_EVENT_COLUMNS_H_
