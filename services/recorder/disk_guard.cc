// DiskGuard: disk measurement, write admission and RocksDB background-error recovery.
#include "services/recorder/disk_guard.h"

#include <sys/statvfs.h>

#include <cstdio>
#include <filesystem>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "rocksdb/env.h"
#include "services/recorder/rocksdb_status.h"

namespace monoroute::recorder {

absl::Status RetryLater(absl::Status s) {
  s.SetPayload(kRetryLaterPayload, absl::Cord("1"));
  return s;
}

bool IsRetryLater(const absl::Status& s) { return s.GetPayload(kRetryLaterPayload).has_value(); }

std::string DescribeBytes(uint64_t bytes) {
  return absl::StrFormat("%d bytes (%.1f MiB)", bytes, static_cast<double>(bytes) / (1 << 20));
}

// Records background errors and vetoes RocksDB's own recovery (Poll drives it instead, with
// DB::Resume as soon as space is back, where RocksDB's SstFileManager would poll every 5 s).
class DiskGuard::Listener : public rocksdb::EventListener {
 public:
  explicit Listener(DiskGuard* guard) : guard_(guard) {}
  void OnBackgroundError(rocksdb::BackgroundErrorReason /*reason*/,
                         rocksdb::Status* bg_error) override {
    if (bg_error != nullptr && !bg_error->ok()) guard_->OnBackgroundError(*bg_error);
  }
  void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason /*reason*/, rocksdb::Status bg_error,
                            bool* auto_recovery) override {
    bg_error.PermitUncheckedError();
    if (auto_recovery != nullptr) *auto_recovery = false;
  }

 private:
  DiskGuard* guard_;  // outlives the database (the store closes it first)
};

DiskGuard::DiskGuard(const DiskGuardOptions& options) : opts_(options) {
  listener_ = std::make_shared<Listener>(this);
  sfm_.reset(rocksdb::NewSstFileManager(rocksdb::Env::Default()));
  if (opts_.max_disk_bytes > 0) {
    sfm_->SetMaxAllowedSpaceUsage(opts_.max_disk_bytes + opts_.sst_headroom_bytes);
  }
  Refresh();
}

DiskGuard::~DiskGuard() = default;

void DiskGuard::Refresh() {
  struct statvfs vfs {};
  if (::statvfs(opts_.data_dir.c_str(), &vfs) == 0) {
    free_ = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
    total_ = static_cast<uint64_t>(vfs.f_blocks) * vfs.f_frsize;
  }
  uint64_t used = 0;
  std::error_code ec;
  for (std::filesystem::recursive_directory_iterator it(opts_.data_dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    std::error_code fec;  // files come and go while we walk
    if (it->is_regular_file(fec)) {
      const uintmax_t n = it->file_size(fec);
      if (!fec) used += n;
    }
  }
  used_ = used;
}

void DiskGuard::OnBackgroundError(const rocksdb::Status& s) {
  absl::MutexLock l(&mu_);
  error_ = s.ToString();
  error_no_space_ = s.IsNoSpace() || s.subcode() == rocksdb::Status::kSpaceLimit;
  ++errors_;
  if (!stopped_.exchange(true)) {
    std::printf("recorder storage: writes stopped: %s\n", error_.c_str());
    std::fflush(stdout);
  }
}

void DiskGuard::Poll(rocksdb::DB* db) {
  Refresh();
  if (!stopped_.load()) return;
  if (free_.load() < opts_.resume_free_bytes) return;
  if (opts_.max_disk_bytes > 0 && used_.load() >= opts_.max_disk_bytes) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_resume_ < opts_.resume_interval) return;
  last_resume_ = now;
  uint64_t errors_before;
  {
    absl::MutexLock l(&mu_);
    errors_before = errors_;
  }
  rocksdb::Status s = db->Resume();
  if (s.ok()) {
    absl::MutexLock l(&mu_);
    if (errors_ != errors_before) return;  // failed again meanwhile: the next Poll retries
    stopped_ = false;
    error_.clear();
    ++resumes_;
    std::printf("recorder storage: writes resumed (%s free on the device of %s)\n",
                DescribeBytes(free_.load()).c_str(), opts_.data_dir.c_str());
    std::fflush(stdout);
  }
}

absl::Status DiskGuard::StorageError(const std::string& cause, bool no_space) const {
  const std::string where = absl::StrCat(
      "data dir ", opts_.data_dir, " (", DescribeBytes(used_.load()), " used, ",
      DescribeBytes(free_.load()), " free on its device",
      opts_.max_disk_bytes > 0
          ? absl::StrCat(", limit ", DescribeBytes(opts_.max_disk_bytes), " (--max-disk-bytes)")
          : std::string(),
      ")");
  if (no_space) {
    return RetryLater(absl::ResourceExhaustedError(
        absl::StrCat("recorder storage full: ", cause, "; ", where,
                     "; writes resume by themselves when space returns, reads keep working")));
  }
  return RetryLater(absl::UnavailableError(absl::StrCat(
      "recorder storage error: ", cause, "; ", where, "; writes resume after DB::Resume()")));
}

absl::Status DiskGuard::Writable() const {
  if (stopped_.load()) {
    std::string error;
    bool no_space;
    {
      absl::MutexLock l(&mu_);
      error = error_;
      no_space = error_no_space_;
    }
    return StorageError(absl::StrCat("writes are stopped after a failed write (", error, ")"),
                        no_space);
  }
  if (opts_.max_disk_bytes > 0 && used_.load() >= opts_.max_disk_bytes) {
    return StorageError("the data dir reached its limit (delete runs or raise --max-disk-bytes)",
                        true);
  }
  return absl::OkStatus();
}

absl::Status DiskGuard::WriteFailed(const rocksdb::Status& s, const std::string& context) const {
  if (s.IsNoSpace() || s.subcode() == rocksdb::Status::kSpaceLimit) {
    return StorageError(absl::StrCat(context, ": ", s.ToString()), true);
  }
  if (s.IsIOError() || stopped_.load()) {
    return StorageError(absl::StrCat(context, ": ", s.ToString()), false);
  }
  return FromRocksStatus(s, context);
}

bool DiskGuard::SafeToSyncWal() const {
  return !stopped_.load() && free_.load() >= opts_.low_free_bytes;
}

DiskState DiskGuard::state() const {
  DiskState d;
  d.used_bytes = used_.load();
  d.free_bytes = free_.load();
  d.total_bytes = total_.load();
  d.writes_stopped = stopped_.load();
  d.resumes = resumes_.load();
  absl::MutexLock l(&mu_);
  d.error = error_;
  return d;
}

}  // namespace monoroute::recorder
