// The one routing-event batch of monoroute: the routing decisions of ONE routed layer at ONE
// step of one split, as a header and columns. The engine produces it (TrainingObserver), the
// uploaders send it (RecorderWriter; the recorder's proto_convert is the one conversion to and
// from recorder.v1.EventBatch), and the recorder core validates and encodes a read-only view of
// the received columns (RoutingEventView) without copying them. The columns are
// events::EventColumns (event_columns.h). Value types, thread-compatible.
#ifndef MONOROUTE_COMMON_EVENTS_ROUTING_EVENT_BATCH_H_
#define MONOROUTE_COMMON_EVENTS_ROUTING_EVENT_BATCH_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "common/events/event_columns.h"

namespace monoroute::events {

// Longest run id, in bytes (a run id is [A-Za-z0-9._-]{1,128}; the recorder checks the charset).
inline constexpr size_t kMaxRunIdBytes = 128;
// Longest writer id, in bytes.
inline constexpr size_t kMaxWriterIdBytes = 256;
// Longest split name, in bytes.
inline constexpr size_t kMaxSplitBytes = 64;
// Pathway ids are below this (the recorder stores a pathway id in one byte); also the largest
// top_k.
inline constexpr uint32_t kMaxPathways = 256;
// Largest magnitude of a routing weight (weights are summed in fixed point).
inline constexpr float kMaxAbsWeight = 1e6f;
// The split an empty split name means.
inline constexpr char kDefaultSplit[] = "train";

// Who sent a batch and what it covers: one run, writer, split, step and routed layer.
struct RoutingEventHeader {
  // Recorder run the batch belongs to; empty in the engine (the uploader names the run).
  std::string run_id;
  // Sending process / stream (idempotency key with run_id and batch_id); empty in the engine
  // (the RecorderWriter sets its own).
  std::string writer_id;
  // Dataset split: "train", "valid" (empty means "train"), or "S/<control>" for a control
  // recorded next to split S (e.g. "valid/fresh_routers"); at most kMaxSplitBytes, no control
  // characters.
  std::string split;
  // Optimizer step the routing decisions were made at (1-based in training).
  uint64_t step = 0;
  // Transformer block index of the routed layer.
  uint32_t layer = 0;
  // Pathways selected per token (columns pathways / weights hold top_k entries per event).
  uint32_t top_k = 0;
  // Deterministic id of the batch, unique per (run, writer): a re-sent batch carries the same
  // id and is applied once (sent as recorder.v1.EventBatch.batch_seq).
  uint64_t batch_id = 0;
};

// Bounds a batch is validated against.
struct RoutingEventLimits {
  // Most events in one batch (more: RESOURCE_EXHAUSTED).
  size_t max_events = size_t{1} << 20;
};

// A read-only view of a batch: the header (copied: a few short strings) and the columns of the
// batch it was made from (EventColumnsView: not owned; they must outlive the view).
struct RoutingEventView : EventColumnsView {
  // Run, writer, split, step, layer, top_k and batch id.
  RoutingEventHeader header;

  // Checks what needs no run: at least one and at most limits.max_events events
  // (RESOURCE_EXHAUSTED), run_id / writer_id / split bounds, writer_id not empty, top_k in
  // 1..kMaxPathways, columns of N entries, pathways / weights of N * top_k, each event's top-k
  // pathways distinct and below kMaxPathways, weights finite within +-kMaxAbsWeight.
  // INVALID_ARGUMENT otherwise, the message prefixed "batch <batch_id>: " and naming the field,
  // e.g. "batch 7: weights[12] is not finite".
  absl::Status Validate(const RoutingEventLimits& limits = {}) const;
};

// A batch that owns its columns (what the engine produces and QueryEvents returns).
struct RoutingEventBatch : EventColumns {
  // Run, writer, split, step, layer, top_k and batch id.
  RoutingEventHeader header;

  // A read-only view of this batch (valid while the batch is alive and unchanged).
  RoutingEventView view() const;
  // An owning copy of the header and columns of `v`.
  static RoutingEventBatch CopyOf(const RoutingEventView& v);
  // view().Validate(limits).
  absl::Status Validate(const RoutingEventLimits& limits = {}) const;
};

// The split an event batch is stored under: `split`, or kDefaultSplit when empty.
std::string EffectiveSplit(const std::string& split);

// Checks a split name: at most kMaxSplitBytes, no control characters. INVALID_ARGUMENT naming
// the split, prefixed by `where` (e.g. "batch 7: ").
absl::Status ValidateSplitName(const std::string& split, const std::string& where);

}  // namespace monoroute::events

#endif  // MONOROUTE_COMMON_EVENTS_ROUTING_EVENT_BATCH_H_
