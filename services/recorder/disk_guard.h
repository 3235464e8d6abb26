// DiskGuard: the recorder database's disk state, so that a full disk is a state, not a crash.
// It measures the data dir (bytes used by its files, bytes free on its device), enforces
// `max_disk_bytes` before the device is full, records RocksDB background errors (a failed WAL
// append, flush or compaction stops writes inside RocksDB) through an EventListener that also
// vetoes RocksDB's own recovery, and drives the recovery itself: once space is back, Poll() calls
// DB::Resume(), so writing resumes by itself. Reads are never blocked. No gRPC here.
#ifndef MONOROUTE_SERVICES_RECORDER_DISK_GUARD_H_
#define MONOROUTE_SERVICES_RECORDER_DISK_GUARD_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "rocksdb/db.h"
#include "rocksdb/listener.h"
#include "rocksdb/sst_file_manager.h"

namespace monoroute::recorder {

// Payload type URL set on write errors that a client should retry later with the same batch
// (storage full or paused), as opposed to rejections of the batch itself.
inline constexpr char kRetryLaterPayload[] = "type.monoroute.dev/recorder.RetryLater";

// Marks `s` as "retry later" (kRetryLaterPayload) and returns it.
absl::Status RetryLater(absl::Status s);
// True when `s` carries kRetryLaterPayload.
bool IsRetryLater(const absl::Status& s);

struct DiskGuardOptions {
  // The database directory (measured with statvfs and by summing its files).
  std::string data_dir;
  // Writes are refused (RESOURCE_EXHAUSTED) while the data dir's files hold this many bytes or
  // more; 0: no limit but the device. RocksDB's SstFileManager keeps SST files under it plus
  // `sst_headroom_bytes` (the memtables accepted before the limit still flush).
  uint64_t max_disk_bytes = 0;
  // See max_disk_bytes (set by the store to twice its memtable size).
  uint64_t sst_headroom_bytes = 128 << 20;
  // Below this many free bytes on the device the periodic WAL sync goes through the write path
  // (which checks RocksDB's error state) instead of DB::SyncWAL (which must not touch a WAL file
  // that failed an append).
  uint64_t low_free_bytes = 64 << 20;
  // Free bytes on the device before DB::Resume() is tried (it flushes the memtables; the store
  // sets it to its memtable size).
  uint64_t resume_free_bytes = 64 << 20;
  // Least time between two DB::Resume() attempts while writes are stopped.
  std::chrono::milliseconds resume_interval{200};
};

// Figures of the last measurement (Refresh / Poll).
struct DiskState {
  uint64_t used_bytes = 0;      // bytes of the data dir's files
  uint64_t free_bytes = 0;      // bytes available on its device
  uint64_t total_bytes = 0;     // size of its device
  bool writes_stopped = false;  // a RocksDB background error stops writes
  uint64_t resumes = 0;         // successful DB::Resume() calls so far
  std::string error;            // the background error while writes_stopped
};

// Thread-safe.
class DiskGuard {
 public:
  explicit DiskGuard(const DiskGuardOptions& options);
  ~DiskGuard();
  DiskGuard(const DiskGuard&) = delete;
  DiskGuard& operator=(const DiskGuard&) = delete;

  // To add to the database options before opening it.
  std::shared_ptr<rocksdb::EventListener> listener() const { return listener_; }
  std::shared_ptr<rocksdb::SstFileManager> sst_file_manager() const { return sfm_; }

  // Measures the data dir and its device now.
  void Refresh();
  // Refresh(), then, while a background error stops writes and the device has free space (and
  // the data dir is under max_disk_bytes), DB::Resume() at most every resume_interval. `db` must
  // stay open during the call.
  void Poll(rocksdb::DB* db);
  // OK while batches can be written; otherwise RESOURCE_EXHAUSTED (storage full: names the data
  // dir, its free space and the limit) or UNAVAILABLE (another storage error), both RetryLater.
  absl::Status Writable() const;
  // The error for a write that RocksDB refused with `s` (`context` names the write): storage
  // errors as Writable() words them (RetryLater), anything else as FromRocksStatus.
  absl::Status WriteFailed(const rocksdb::Status& s, const std::string& context) const;
  // True when DB::SyncWAL is safe to call (no background error, plenty of free space).
  bool SafeToSyncWal() const;
  DiskState state() const;

  class Listener;

 private:
  friend class Listener;
  void OnBackgroundError(const rocksdb::Status& s);
  absl::Status StorageError(const std::string& cause, bool no_space) const;

  const DiskGuardOptions opts_;
  std::shared_ptr<rocksdb::EventListener> listener_;
  std::shared_ptr<rocksdb::SstFileManager> sfm_;
  std::atomic<uint64_t> used_{0}, free_{0}, total_{0}, resumes_{0};
  std::atomic<bool> stopped_{false};
  mutable absl::Mutex mu_;
  std::string error_;                                  // guarded by mu_
  bool error_no_space_ = false;                        // guarded by mu_
  uint64_t errors_ = 0;                                // background errors seen; guarded by mu_
  std::chrono::steady_clock::time_point last_resume_;  // Poll's thread only
};

// "41943040 bytes (40.0 MiB)".
std::string DescribeBytes(uint64_t bytes);

}  // namespace monoroute::recorder

#endif  // MONOROUTE_SERVICES_RECORDER_DISK_GUARD_H_
