// Validation of run specs and event batches against their run, before anything is written.
// Pure functions, thread-safe. Messages name the batch and field, e.g.
// "batch 7: weights[12] is not finite".
#ifndef MONOROUTE_SERVICES_RECORDER_BATCH_VALIDATOR_H_
#define MONOROUTE_SERVICES_RECORDER_BATCH_VALIDATOR_H_

#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "common/events/routing_event_batch.h"
#include "services/recorder/recorder_types.h"

namespace monoroute::recorder {

// A run spec plus lookup tables derived from it. Immutable after From(); thread-safe to share.
struct RunLayout {
  RunSpecData spec;                                    // normalised (step_bucket != 0)
  absl::flat_hash_map<uint32_t, uint8_t> layer_index;  // layer -> index in routed_layers
  static RunLayout From(const RunSpecData& spec);
};

// Longest run id accepted, in bytes.
inline constexpr size_t kMaxRunIdBytes = events::kMaxRunIdBytes;

// Checks a run id: [A-Za-z0-9._-]{1,128}. INVALID_ARGUMENT quoting it (cut to 64 bytes by
// BoundedText) otherwise.
absl::Status ValidateRunId(const std::string& run_id);

// Checks a spec's labels against kMaxLabels, kMaxLabelKeyBytes, kMaxLabelValueBytes and
// kMaxLabelsBytes (INVALID_ARGUMENT for one string, RESOURCE_EXHAUSTED for the collection).
absl::Status ValidateLabels(const RunSpecData& spec);

// Checks a spec (ids, ranges, unique layers, labels); returns the normalised spec in `out`.
absl::Status ValidateRunSpec(const RunSpecData& spec, RunSpecData* out);

// Checks a batch against its run: first everything that needs no run (RoutingEventView::Validate
// with at most `max_events` events), then its layer is a routed layer of the run, its top_k the
// run's, token ids < vocab_size and pathways < num_pathways. Sets `layer_idx` to the layer's index
// in routed_layers. Messages name the batch and field, e.g. "batch 7: token_id[2] = 1000 >=
// vocab_size 1000".
absl::Status ValidateBatch(const RunLayout& run, const events::RoutingEventView& b,
                           size_t max_events, uint8_t* layer_idx);

// The run-specific part of ValidateBatch alone, for a batch whose Validate() passed.
absl::Status CheckBatchAgainstRun(const RunLayout& run, const events::RoutingEventView& b,
                                  uint8_t* layer_idx);

}  // namespace monoroute::recorder

#endif  // MONOROUTE_SERVICES_RECORDER_BATCH_VALIDATOR_H_
