// The explorer's view of a run: every routed layer's raw events (sequence, position, token, next
// token, top-k pathways and their gate weights), deduplicated per (sequence, position) and sorted
// so a token's context is its neighbours. No gRPC, no LibTorch.
#ifndef MONOROUTE_SERVICES_ANALYSIS_EXPLORER_RUN_EVENTS_H_
#define MONOROUTE_SERVICES_ANALYSIS_EXPLORER_RUN_EVENTS_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/events/event_columns.h"

namespace monoroute::analysis::explorer {

// Every recorded event of a layer (before deduplication) counted per step bucket: bucket b covers
// steps [step_low[b], step_high[b]]; one bucket per distinct step when there are at most
// kMaxBuckets of them, else kMaxBuckets equal-width step ranges (some may be empty).
struct StepLoads {
  static constexpr size_t kMaxBuckets = 64;
  std::vector<uint64_t> step_low;
  std::vector<uint64_t> step_high;
  // Events (tokens) recorded in the bucket.
  std::vector<uint64_t> events;
  // Row-major [bucket][pathway]: events selecting the pathway.
  std::vector<uint64_t> selections;

  size_t buckets() const { return events.size(); }
};

// One routed layer's events (the columns of events::EventColumns, the gates in `weights`),
// sorted by (sequence_id, position), one event per (sequence, position). Event i owns
// pathways/weights [i*top_k, (i+1)*top_k), in the order recorded (the router's descending gate
// order). Immutable after LayerEventsBuilder::Build; thread-compatible.
struct LayerEvents : events::EventColumns {
  // Transformer block index of the routed layer.
  uint32_t layer = 0;
  // Pathways selected per event.
  uint32_t top_k = 0;
  // Pathways of the layer.
  uint32_t num_pathways = 0;
  // Every recorded event (duplicates included) per step bucket: the load over training.
  StepLoads step_loads;

  // Events held.
  size_t size() const { return num_events(); }
  // Rank (1 = highest gate) of `pathway` in event i's top-k, 0 when not selected.
  int RankOf(size_t i, uint32_t pathway) const;
  // Gate of `pathway` in event i, 0 when not selected.
  float GateOf(size_t i, uint32_t pathway) const;
  // Index of the event (sequence_id, position), or size() when absent (binary search).
  size_t Find(uint64_t sequence_id, uint32_t position) const;
};

// A run's events as the explorer reads them (one split). Immutable once built; shared between
// threads as a const object.
struct RunEvents {
  std::string run_id;
  // The recorder split the events come from (e.g. "valid", "valid/fresh_routers").
  std::string split;
  uint32_t num_pathways = 0;
  uint32_t top_k = 0;
  uint32_t vocab_size = 0;
  std::map<std::string, std::string> labels;
  // Recorder watermark the events reflect (a cache key).
  uint64_t watermark = 0;
  // Every split the run has (the controls of `split` are "<split>/<control>").
  std::vector<std::string> splits;
  // One entry per routed layer, ascending layer order (a layer may hold no events).
  std::vector<LayerEvents> layers;

  // The layer's events, or nullptr when `layer` is not a routed layer of the run.
  const LayerEvents* Layer(uint32_t layer) const;
  // The next routed layer after `layer` (nullptr when `layer` is the last).
  const LayerEvents* NextLayer(uint32_t layer) const;
  // Total events over every layer.
  size_t TotalEvents() const;
  // The control splits recorded beside `split` ("<split>/...").
  std::vector<std::string> ControlSplits() const;
};

// Accumulates one layer's events from any number of batches (any order) and builds a sorted,
// deduplicated LayerEvents. When one (sequence, position) arrives several times (a window seen
// at several steps) the event with the highest step is kept. Not thread-safe.
class LayerEventsBuilder {
 public:
  // INVALID_ARGUMENT when num_pathways is 0 or > kMaxAnalysisPathways (256) or top_k is not in [1,
  // num_pathways].
  static absl::StatusOr<LayerEventsBuilder> Create(uint32_t layer, uint32_t num_pathways,
                                                   uint32_t top_k);

  // Adds the events of `columns` (pathways and weights top_k per event), event i recorded at
  // step[i]. INVALID_ARGUMENT naming the field for columns or steps of other lengths, and naming
  // the event and field for a pathway >= num_pathways, a pathway repeated within an event or a
  // weight that is not finite; RESOURCE_EXHAUSTED past `max_events`.
  absl::Status Add(const events::EventColumnsView& columns, absl::Span<const uint64_t> step);

  // Largest number of events accepted (default: no practical bound).
  void set_max_events(uint64_t max_events) { max_events_ = max_events; }
  // Events added since the last Build.
  size_t events() const { return raw_.num_events(); }
  // The layer and its top_k.
  uint32_t layer() const { return raw_.layer; }
  uint32_t top_k() const { return raw_.top_k; }

  // Sorts and deduplicates (counting every event into step_loads first); leaves the builder
  // empty.
  LayerEvents Build();

 private:
  LayerEventsBuilder(uint32_t layer, uint32_t num_pathways, uint32_t top_k);
  StepLoads CountStepLoads() const;

  uint64_t max_events_ = ~uint64_t{0};
  std::vector<uint64_t> step_;
  LayerEvents raw_;
};

}  // namespace monoroute::analysis::explorer

#endif  // MONOROUTE_SERVICES_ANALYSIS_EXPLORER_RUN_EVENTS_H_
