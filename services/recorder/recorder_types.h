// Plain C++ value types of the recorder core (no gRPC, no protobuf, no RocksDB): run specs,
// summaries and query results (event batches are common/events' RoutingEventBatch). The gRPC
// layer converts to/from these.
#ifndef MONOROUTE_SERVICES_RECORDER_RECORDER_TYPES_H_
#define MONOROUTE_SERVICES_RECORDER_RECORDER_TYPES_H_

#include <cstdint>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

#include "common/events/routing_event_batch.h"

namespace monoroute::recorder {

// What a run records; mirrors recorder.v1.RunSpec. Value type.
struct RunSpecData {
  std::string run_id;
  std::vector<uint32_t> routed_layers;  // declared layers (at most kMaxLayers)
  uint32_t num_pathways = 0;            // 1..kMaxPathways
  uint32_t top_k = 0;                   // 1..num_pathways
  uint32_t vocab_size = 0;              // > 0
  bool store_raw_events = true;         // false: counts-only mode
  uint64_t step_bucket = 0;             // 0 means the default (kDefaultStepBucket)
  uint64_t raw_retention_steps = 0;     // 0: keep every raw event
  std::map<std::string, std::string> labels;

  bool operator==(const RunSpecData& o) const;
};

inline constexpr uint32_t kMaxLayers = 64;
inline constexpr uint32_t kMaxPathways = events::kMaxPathways;
inline constexpr uint64_t kDefaultStepBucket = 1000;
inline constexpr size_t kMaxSplitsPerRun = 64;
// Bounds of every stored string and collection (docs/recorder.md, "Limits"). A longer string is
// INVALID_ARGUMENT, a larger collection RESOURCE_EXHAUSTED; messages name the field.
inline constexpr size_t kMaxLabels = 64;                          // RunSpec.labels entries
inline constexpr size_t kMaxLabelKeyBytes = 128;                  // a label key (1..128 bytes)
inline constexpr size_t kMaxLabelValueBytes = 4096;               // a label value
inline constexpr size_t kMaxLabelsBytes = 16 << 10;               // all keys + values of a run
inline constexpr size_t kMaxSplitBytes = events::kMaxSplitBytes;  // a split name
inline constexpr size_t kMaxWriterIdBytes = events::kMaxWriterIdBytes;  // 1..256 bytes
inline constexpr size_t kMaxWritersPerRun = 4096;      // distinct writer ids of a run
inline constexpr uint32_t kDefaultListRunsPage = 100;  // ListRuns page_size 0
inline constexpr uint32_t kMaxListRunsPage = 1000;     // largest ListRuns page_size
// Weights are summed in fixed point; larger magnitudes are rejected as invalid.
inline constexpr float kMaxAbsWeight = events::kMaxAbsWeight;

// Outcome of writing one batch.
struct WriteResult {
  bool duplicate = false;  // the batch had been applied before; nothing was written
  uint64_t events = 0;
  uint64_t bytes = 0;  // bytes put into the RocksDB write batch (0 for duplicates)
};

// Summary of a run; mirrors recorder.v1.RunSummary.
struct RunSummaryData {
  RunSpecData spec;
  uint64_t events = 0;
  uint64_t batches = 0;
  uint64_t min_step = 0;
  uint64_t max_step = 0;
  std::vector<uint32_t> layers_seen;
  std::vector<std::string> splits;
  int64_t first_write_unix_ms = 0;
  int64_t last_write_unix_ms = 0;
  uint64_t watermark = 0;
  bool finished = false;         // FinishRun succeeded: no new batches are accepted
  int64_t finished_unix_ms = 0;  // when it first succeeded (0 while not finished)
};

// The one list of a run spec's and a run summary's fields, by their recorder.v1 names (RunSpec,
// RunSummary): proto_convert reads and writes the messages from it by reflection. `S` is the
// type, const or not (readers visit non-const references).
template <typename S, typename V>
std::enable_if_t<std::is_same_v<std::remove_const_t<S>, RunSpecData>> VisitFields(S& s, V& v) {
  v("run_id", s.run_id);
  v("routed_layers", s.routed_layers);
  v("num_pathways", s.num_pathways);
  v("top_k", s.top_k);
  v("vocab_size", s.vocab_size);
  v("store_raw_events", s.store_raw_events);
  v("step_bucket", s.step_bucket);
  v("raw_retention_steps", s.raw_retention_steps);
  v("labels", s.labels);
}
template <typename S, typename V>
std::enable_if_t<std::is_same_v<std::remove_const_t<S>, RunSummaryData>> VisitFields(S& s, V& v) {
  v("spec", s.spec);
  v("events", s.events);
  v("batches", s.batches);
  v("min_step", s.min_step);
  v("max_step", s.max_step);
  v("layers_seen", s.layers_seen);
  v("splits", s.splits);
  v("first_write_unix_ms", s.first_write_unix_ms);
  v("last_write_unix_ms", s.last_write_unix_ms);
  v("watermark", s.watermark);
  v("finished", s.finished);
  v("finished_unix_ms", s.finished_unix_ms);
}

// One page of ListRuns (runs in run id order).
struct ListRunsQueryData {
  uint32_t page_size = 0;  // 0: kDefaultListRunsPage; at most kMaxListRunsPage
  std::string page_token;  // next_page_token of the previous page; "" = first page
};

// A page of run summaries.
struct RunPageData {
  std::vector<RunSummaryData> runs;
  std::string next_page_token;  // "" on the last page
};

// Pathway-by-token counts query (see docs/recorder.md for step-range semantics).
struct CountsQueryData {
  std::string run_id;
  uint32_t layer = 0;
  std::string split;      // empty: every split except controls (IsControlSplit); else that one
  uint64_t min_step = 0;  // inclusive
  uint64_t max_step = 0;  // inclusive; 0 = no bound
};

// The fields of a counts query by their recorder.v1.CountsRequest names (proto_convert reads the
// request from this list by reflection).
template <typename S, typename V>
std::enable_if_t<std::is_same_v<std::remove_const_t<S>, CountsQueryData>> VisitFields(S& s, V& v) {
  v("run_id", s.run_id);
  v("layer", s.layer);
  v("split", s.split);
  v("min_step", s.min_step);
  v("max_step", s.max_step);
}

// Sparse counts, sorted by (token_id, pathway).
struct CountsResultData {
  std::vector<uint32_t> pathway, token_id;
  std::vector<uint64_t> count;
  uint64_t watermark = 0;
  std::vector<std::string> splits;  // the splits counted (sorted; those the run has seen)
};

// Per-pathway totals of one layer.
struct TotalsData {
  std::vector<uint64_t> pathway_count;
  std::vector<double> pathway_weight;
  uint64_t tokens = 0;
  uint64_t watermark = 0;
  std::vector<std::string> splits;  // the splits counted (sorted; those the run has seen)
};

// The fields of a layer's totals by their recorder.v1.TotalsResponse names.
template <typename S, typename V>
std::enable_if_t<std::is_same_v<std::remove_const_t<S>, TotalsData>> VisitFields(S& s, V& v) {
  v("pathway_count", s.pathway_count);
  v("pathway_weight", s.pathway_weight);
  v("tokens", s.tokens);
  v("watermark", s.watermark);
  v("splits", s.splits);
}

// Raw events filter; mirrors recorder.v1.EventQuery.
struct EventQueryData {
  std::string run_id;
  bool has_layer = false;
  uint32_t layer = 0;
  uint64_t min_step = 0;
  uint64_t max_step = 0;  // 0 = no bound
  bool has_pathway = false;
  uint32_t pathway = 0;
  std::string split;   // empty: every split except controls; else that one
  uint64_t limit = 0;  // 0 = kDefaultEventLimit (callers bound large values, see the service)
};

// The fields of an event query by their recorder.v1.EventQuery names.
template <typename S, typename V>
std::enable_if_t<std::is_same_v<std::remove_const_t<S>, EventQueryData>> VisitFields(S& s, V& v) {
  v("run_id", s.run_id);
  v("has_layer", s.has_layer);
  v("layer", s.layer);
  v("min_step", s.min_step);
  v("max_step", s.max_step);
  v("has_pathway", s.has_pathway);
  v("pathway", s.pathway);
  v("split", s.split);
  v("limit", s.limit);
}

// Events returned by QueryEvents when EventQueryData::limit is 0.
inline constexpr uint64_t kDefaultEventLimit = 100000;

}  // namespace monoroute::recorder

#endif  // MONOROUTE_SERVICES_RECORDER_RECORDER_TYPES_H_
