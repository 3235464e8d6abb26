// EventColumns: views, copies and appends over the one column list.
#include "common/events/event_columns.h"

#include "absl/strings/str_cat.h"

namespace monoroute::events {
namespace {

// Calls f(from column, &to column, top_k_entries) for each column; top_k_entries is true for
// the columns with top_k entries per event (pathways, weights).
template <class F>
void ForEachColumn(const EventColumnsView& from, EventColumns* to, const F& f) {
  f(from.sequence_id, &to->sequence_id, false);
  f(from.position, &to->position, false);
  f(from.token_id, &to->token_id, false);
  f(from.next_token_id, &to->next_token_id, false);
  f(from.pathways, &to->pathways, true);
  f(from.weights, &to->weights, true);
}

}  // namespace

EventColumnsView ViewOf(const EventColumns& c) {
  return {c.sequence_id, c.position, c.token_id, c.next_token_id, c.pathways, c.weights};
}

EventColumns CopyOf(const EventColumnsView& v) {
  EventColumns c;
  ForEachColumn(v, &c, [](auto from, auto* to, bool) { to->assign(from.begin(), from.end()); });
  return c;
}

absl::Status CheckColumnLengths(const EventColumnsView& c, uint32_t top_k) {
  const size_t n = c.num_events();
  struct Col {
    const char* name;
    size_t size;
  };
  for (Col col : {Col{"sequence_id", c.sequence_id.size()}, Col{"position", c.position.size()},
                  Col{"next_token_id", c.next_token_id.size()}}) {
    if (col.size != n) {
      return absl::InvalidArgumentError(absl::StrCat("array lengths differ: token_id has ", n,
                                                     " entries, ", col.name, " has ", col.size));
    }
  }
  for (Col col : {Col{"pathways", c.pathways.size()}, Col{"weights", c.weights.size()}}) {
    if (col.size != n * top_k) {
      return absl::InvalidArgumentError(absl::StrCat(col.name, " has ", col.size,
                                                     " entries, expected ", n * top_k, " (", n,
                                                     " events x top_k ", top_k, ")"));
    }
  }
  return absl::OkStatus();
}

void AppendEvents(const EventColumnsView& from, size_t begin, size_t end, uint32_t top_k,
                  EventColumns* to) {
  ForEachColumn(from, to, [&](auto col, auto* out, bool top_k_entries) {
    const size_t width = top_k_entries ? top_k : 1;
    out->insert(out->end(), col.begin() + begin * width, col.begin() + end * width);
  });
}

}  // namespace monoroute::events
