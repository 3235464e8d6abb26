// Process helpers of monoroute-recorder-bench: a monoroute-recorder child (found next to this
// binary) on a free loopback port with a temporary data dir, CPU-time readings, and the check
// that the recorder holds exactly the acknowledged events.
#ifndef MONOROUTE_SERVICES_RECORDER_TOOLS_BENCH_CHILD_H_
#define MONOROUTE_SERVICES_RECORDER_TOOLS_BENCH_CHILD_H_

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "common/base/subprocess.h"
#include "monoroute/recorder/v1/recorder.grpc.pb.h"

namespace monoroute::recorder::bench {

// A monoroute-recorder child started by the one child-process launcher; SIGTERM (SIGKILL after
// 30 s), wait and data dir removal on Stop (or destruction).
class RecorderChild {
 public:
  RecorderChild() = default;
  ~RecorderChild() { (void)Stop(); }
  RecorderChild(const RecorderChild&) = delete;
  RecorderChild& operator=(const RecorderChild&) = delete;

  // Starts it (with --sync when `sync`) and waits until it listens (at most 15 s).
  absl::Status Start(bool sync);
  // SIGTERM and wait; INTERNAL (with its log) unless it exited with 0.
  absl::Status Stop();
  const std::string& address() const { return address_; }
  // The child's pid (-1 when not running).
  pid_t pid() const;

 private:
  std::unique_ptr<Subprocess> proc_;
  std::string dir_, log_, address_;
};

// OK when the recorder's GetRun count of `run_id`'s events equals `acked` (what the bench's
// writers or streams were acknowledged); INTERNAL naming both counts otherwise.
absl::Status CheckRecorderHolds(v1::Recorder::Stub* stub, const std::string& run_id,
                                uint64_t acked);

// CPU seconds (user + system) used so far by this process, all threads.
double SelfCpuSeconds();
// CPU seconds used so far by process `pid` (from /proc), or 0 if unreadable.
double ProcCpuSeconds(pid_t pid);
// Seconds since `t0`.
double Seconds(std::chrono::steady_clock::time_point t0);

}  // namespace monoroute::recorder::bench

#endif  // MONOROUTE_SERVICES_RECORDER_TOOLS_BENCH_CHILD_H_
