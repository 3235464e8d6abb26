// Turns a validated event batch (one layer, one step) into RocksDB operations: counts aggregated
// within the batch (one merge per token block overall and for the step's bucket, one totals
// merge) and the raw events stored columnar as one value, read straight from the batch's columns
// (no per-event expansion, no regrouping). Used by RecorderStore
// and by the raw-ceiling loop of `monoroute bench recorder` (same data, same schema).
#ifndef MONOROUTE_SERVICES_RECORDER_BATCH_ENCODER_H_
#define MONOROUTE_SERVICES_RECORDER_BATCH_ENCODER_H_

#include <cstdint>
#include <vector>

#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "services/recorder/batch_validator.h"

namespace monoroute::recorder {

// The store's column families (not owned).
struct ColumnFamilies {
  rocksdb::ColumnFamilyHandle* meta = nullptr;
  rocksdb::ColumnFamilyHandle* counts = nullptr;
  rocksdb::ColumnFamilyHandle* events = nullptr;
};

// What the encoder learnt about the batch (for run statistics).
struct BatchInfo {
  uint64_t min_step = UINT64_MAX;
  uint64_t max_step = 0;
  uint64_t layers_mask = 0;  // bit = index into routed_layers
};

// Appends the batch's counts/totals merges and (if the run stores raw events) its raw block to
// `wb`. `layer_idx` comes from ValidateBatch. Thread-compatible: uses thread-local scratch.
void EncodeBatch(const RunLayout& run, uint32_t run_num, uint8_t split_id,
                 const events::RoutingEventView& b, uint8_t layer_idx, const ColumnFamilies& cf,
                 rocksdb::WriteBatch* wb, BatchInfo* info);

// Bytes to reserve in a rocksdb::WriteBatch for a batch of `events` events of `spec`.
size_t EstimateWriteBatchBytes(const RunSpecData& spec, size_t events);

}  // namespace monoroute::recorder

#endif  // MONOROUTE_SERVICES_RECORDER_BATCH_ENCODER_H_
