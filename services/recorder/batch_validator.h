// Validation of run specs and event batches against their run, before anything is written.
// Pure functions, thread-safe. Messages name the batch and field, e.g.
// "batch 7: weights[12] is not finite".
#ifndef MONOROUTE_SERVICES_RECORDER_BATCH_VALIDATOR_H_
#define MONOROUTE_SERVICES_RECORDER_BATCH_VALIDATOR_H_

#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "services/recorder/recorder_types.h"

namespace monoroute::recorder {

// A run spec plus lookup tables derived from it. Immutable after From(); thread-safe to share.
struct RunLayout {
  RunSpecData spec;                                    // normalised (step_bucket != 0)
  absl::flat_hash_map<uint32_t, uint8_t> layer_index;  // layer -> index in routed_layers
  static RunLayout From(const RunSpecData& spec);
};

// Longest run id accepted, in bytes.
inline constexpr size_t kMaxRunIdBytes = 128;

// Checks a run id: [A-Za-z0-9._-]{1,128}. INVALID_ARGUMENT quoting it (cut to 64 bytes by
// BoundedText) otherwise.
absl::Status ValidateRunId(const std::string& run_id);

// Checks a spec's labels against kMaxLabels, kMaxLabelKeyBytes, kMaxLabelValueBytes and
// kMaxLabelsBytes (INVALID_ARGUMENT for one string, RESOURCE_EXHAUSTED for the collection).
absl::Status ValidateLabels(const RunSpecData& spec);

// Checks a split name (at most kMaxSplitBytes, no control characters); `where` prefixes the
// message (e.g. "batch 7: ").
absl::Status ValidateSplitName(const std::string& split, const std::string& where);

// Checks a spec (ids, ranges, unique layers, labels); returns the normalised spec in `out`.
absl::Status ValidateRunSpec(const RunSpecData& spec, RunSpecData* out);

// Checks the shape of a batch that needs no run: not empty, lengths agree with each other and
// with `top_k` when given (0 = unknown yet), at most `max_events` events (RESOURCE_EXHAUSTED).
absl::Status ValidateBatchShape(const EventBatchData& b, uint32_t top_k, size_t max_events);

// Checks a batch against its run; fills `layer_idx` (per event index into routed_layers).
absl::Status ValidateBatch(const RunLayout& run, const EventBatchData& b, size_t max_events,
                           std::vector<uint8_t>* layer_idx);

}  // namespace monoroute::recorder

#endif  // MONOROUTE_SERVICES_RECORDER_BATCH_VALIDATOR_H_
