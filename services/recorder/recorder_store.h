// RecorderStore: the recorder's core, a RocksDB database with column families "meta", "counts"
// and "events" (layouts in key_codec.h and docs/recorder.md). Validates batches, deduplicates
// them by (run, writer, batch_seq) and writes counts, raw events, the dedup marker and writer
// statistics in ONE WriteBatch, so they can never disagree. No gRPC here.
#ifndef MONOROUTE_SERVICES_RECORDER_RECORDER_STORE_H_
#define MONOROUTE_SERVICES_RECORDER_RECORDER_STORE_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/events/routing_event_batch.h"
#include "services/recorder/recorder_types.h"

namespace monoroute::recorder {

struct RecorderStoreOptions {
  // Database directory (created if missing).
  std::string data_dir;
  // true: fsync the WAL before each batch is acknowledged (concurrent writers share one fsync).
  // false (group commit): a batch is acknowledged once it is in the WAL (survives a process
  // crash); the WAL is fsynced every wal_sync_interval (bounds loss on power failure).
  bool sync = false;
  // Period of the background WAL fsync when sync is false (0: never).
  std::chrono::milliseconds wal_sync_interval{1000};
  // Largest batch accepted, in events (RESOURCE_EXHAUSTED beyond).
  size_t max_batch_events = 1 << 20;
  // RocksDB memtable size per column family.
  size_t write_buffer_bytes = 64 << 20;
  // RocksDB background threads (flush + compaction).
  int background_threads = 2;
  // Writes are refused (RESOURCE_EXHAUSTED, retry later) while the data dir's files hold this
  // many bytes or more, before the device is full; 0: no limit but the device. Reads go on;
  // writing resumes by itself once runs are deleted (and compacted) below it.
  uint64_t max_disk_bytes = 0;
  // How often the data dir is measured and, after a storage error, DB::Resume() is tried.
  std::chrono::milliseconds disk_poll_interval{200};
};

// Database-level figures for metrics.
struct StoreProperties {
  uint64_t db_size_bytes = 0;  // SST files + memtables
  uint64_t pending_compaction_bytes = 0;
  uint64_t disk_used_bytes = 0;  // files of the data dir (what max_disk_bytes bounds)
  uint64_t disk_free_bytes = 0;  // free on the data dir's device
  bool writes_stopped = false;   // a storage error stops writes until space returns
  uint64_t resumes = 0;          // times writing resumed after a storage error
};

// Thread-safe: every method may be called concurrently. Batches of different (run, writer) pairs
// are written concurrently (RocksDB groups their WAL writes); batches of one writer serialise.
class RecorderStore {
 public:
  static absl::StatusOr<std::unique_ptr<RecorderStore>> Create(const RecorderStoreOptions& options);
  ~RecorderStore();  // Close()s if still open
  RecorderStore(const RecorderStore&) = delete;
  RecorderStore& operator=(const RecorderStore&) = delete;

  // Declares a run. Returns true if created, false if the run existed: its layout (every field
  // but labels) must equal the spec's, else ALREADY_EXISTS naming each differing field with both
  // values; labels are metadata: keys the run lacks are added (its record rewritten, synced),
  // a key with another value is ALREADY_EXISTS naming it, and the merged labels must stay within
  // the label bounds (as at creation). INVALID_ARGUMENT / RESOURCE_EXHAUSTED for a bad spec.
  absl::StatusOr<bool> CreateRun(const RunSpecData& spec);

  // Validates and writes one batch, read from the view's columns (nothing is written unless the
  // whole batch is valid). NOT_FOUND for an unknown run; INVALID_ARGUMENT / RESOURCE_EXHAUSTED
  // naming the field.
  absl::StatusOr<WriteResult> Write(const events::RoutingEventView& batch);
  // Write(batch.view()).
  absl::StatusOr<WriteResult> Write(const events::RoutingEventBatch& batch);

  absl::StatusOr<RunSummaryData> GetRun(const std::string& run_id);
  // One page of run summaries in run id order (INVALID_ARGUMENT for a page_size above
  // kMaxListRunsPage or a malformed page_token).
  absl::StatusOr<RunPageData> ListRuns(const ListRunsQueryData& q = {});
  // Pathway-by-token counts, sorted by (token, pathway), zero counts omitted.
  absl::StatusOr<CountsResultData> GetCounts(const CountsQueryData& q);
  absl::StatusOr<TotalsData> GetTotals(const std::string& run_id, uint32_t layer,
                                       const std::string& split);
  // Streams matching raw events, one RoutingEventBatch per stored (layer, step, batch) block, to
  // `sink` until `limit` events (0: kDefaultEventLimit) were sent or `sink` returns false, in
  // (layer, step, writer, batch_seq) order. `sink` runs on the calling thread and may block (the
  // scan holds an iterator, i.e. a consistent view, meanwhile). FAILED_PRECONDITION for a
  // counts-only run.
  absl::Status QueryEvents(const EventQueryData& q,
                           const std::function<bool(events::RoutingEventBatch&&)>& sink);
  // Marks a run finished (persisted in its run record, synced) and returns its summary;
  // idempotent (a second call returns the same summary); NOT_FOUND for an unknown run. Waits for
  // batches being applied. Afterwards Write acks a re-send of an applied batch as a duplicate and
  // refuses a new batch with FAILED_PRECONDITION; CreateRun with the identical spec still
  // returns false (exists).
  absl::StatusOr<RunSummaryData> FinishRun(const std::string& run_id);
  // Deletes everything of a run (range deletes); returns the number of events it had.
  absl::StatusOr<uint64_t> DeleteRun(const std::string& run_id);

  StoreProperties Properties();
  // OK while batches can be written; RESOURCE_EXHAUSTED naming the data dir, its free space and
  // the limit while storage is full (UNAVAILABLE for another storage error). Reads work anyway.
  absl::Status WriteHealth();
  // Syncs the WAL, flushes memtables and closes the database. Later calls fail UNAVAILABLE.
  absl::Status Close();

  class Impl;

 private:
  explicit RecorderStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace monoroute::recorder

#endif  // MONOROUTE_SERVICES_RECORDER_RECORDER_STORE_H_
