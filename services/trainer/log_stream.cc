// The StreamJobLogs reactor.
#include "services/trainer/log_stream.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"

namespace monoroute::trainer {
namespace {

std::atomic<int> g_streams{0};

// Reads up to kLogChunkBytes of `path` at `*offset` into `out`; a file shorter than `*offset`
// (rotated) is read from 0. False when there is nothing to read now.
bool ReadChunk(const std::string& path, int64_t* offset, std::string* out) {
  out->clear();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && st.st_size < *offset) *offset = 0;
  out->resize(kLogChunkBytes);
  const ssize_t n = ::pread(fd, out->data(), out->size(), static_cast<off_t>(*offset));
  ::close(fd);
  out->resize(n > 0 ? static_cast<size_t>(n) : 0);
  return n > 0;
}

class FailedLogStream : public grpc::ServerWriteReactor<v1::LogChunk> {
 public:
  explicit FailedLogStream(grpc::Status s) { Finish(std::move(s)); }
  void OnDone() override { delete this; }
};

class LogStream : public grpc::ServerWriteReactor<v1::LogChunk> {
 public:
  explicit LogStream(LogStreamOptions o) : o_(std::move(o)) {
    thread_ = std::thread([this] { Run(); });
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard<std::mutex> l(mu_);
    writing_ = false;
    if (!ok) cancelled_ = true;
    cv_.notify_all();
  }
  void OnCancel() override {
    std::lock_guard<std::mutex> l(mu_);
    cancelled_ = true;
    cv_.notify_all();
  }
  void OnDone() override {
    // Finish() is the thread's last act; it may even run this inline, on the thread itself.
    if (thread_.get_id() == std::this_thread::get_id()) {
      thread_.detach();
    } else {
      thread_.join();
    }
    --g_streams;
    delete this;
  }

 private:
  void Run() {
    int64_t offset = o_.offset;
    if (offset < 0) {
      struct stat st {};
      const int64_t size = ::stat(o_.path.c_str(), &st) == 0 ? st.st_size : 0;
      offset = std::max<int64_t>(0, size + offset);
    }
    std::string data;
    while (true) {
      // Sampled before reading: what was written before the job ended is still sent.
      const bool done = !o_.follow || (o_.job_done && o_.job_done());
      if (!o_.path.empty() && ReadChunk(o_.path, &offset, &data)) {
        std::unique_lock<std::mutex> l(mu_);
        if (cancelled_) break;
        chunk_.set_data(data);
        chunk_.set_offset(offset);
        offset += static_cast<int64_t>(data.size());
        writing_ = true;
        StartWrite(&chunk_);
        cv_.wait(l, [&] { return !writing_ || cancelled_; });
        if (cancelled_) break;
        continue;
      }
      if (done) {
        Finish(grpc::Status::OK);
        return;
      }
      std::unique_lock<std::mutex> l(mu_);
      if (cv_.wait_for(l, std::chrono::milliseconds(o_.poll_ms), [&] { return cancelled_; })) {
        break;
      }
    }
    // Cancelled: wait for a write in flight to complete before finishing.
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [&] { return !writing_; });
    }
    Finish(grpc::Status(grpc::StatusCode::CANCELLED, "log stream cancelled"));
  }

  LogStreamOptions o_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool writing_ = false;
  bool cancelled_ = false;
  v1::LogChunk chunk_;
  std::thread thread_;
};

}  // namespace

grpc::ServerWriteReactor<v1::LogChunk>* StartLogStream(LogStreamOptions options) {
  if (++g_streams > kMaxLogStreams) {
    --g_streams;
    return new FailedLogStream(grpc::Status(
        grpc::StatusCode::RESOURCE_EXHAUSTED,
        absl::StrCat("more than ", kMaxLogStreams, " job log streams at once; retry later")));
  }
  return new LogStream(std::move(options));
}

}  // namespace monoroute::trainer
