// Supervised child processes: the trainer's job workers (and later the ranks of a distributed
// job). A child runs in its own process group (so a stop reaches everything it started), with an
// optional RLIMIT_DATA, dies with the thread that started it (PR_SET_PDEATHSIG), writes stdout and
// stderr to a log file, and may report to the parent as text lines on a pipe (fd 3 in the child).
// Stop = SIGTERM to the group, SIGKILL after a grace period. Exit descriptions name the signal
// ("killed by SIGKILL") or the exit code, for failure messages. No LibTorch, no gRPC.
#ifndef MONOROUTE_SERVICES_TRAINER_SUBPROCESS_H_
#define MONOROUTE_SERVICES_TRAINER_SUBPROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace monoroute::trainer {

// The child's file descriptor of the report pipe.
inline constexpr int kReportFd = 3;

struct SubprocessOptions {
  // argv[0] is the executable's path (no PATH search).
  std::vector<std::string> argv;
  // "NAME=value" entries added to (or replacing those of) the parent's environment.
  std::vector<std::string> env;
  // stdout and stderr of the child are appended here; empty: /dev/null.
  std::string log_path;
  // Give the child a pipe on fd kReportFd whose lines ReadLines returns.
  bool report_pipe = false;
  // RLIMIT_DATA of the child in bytes (heap, anonymous mappings, thread stacks); 0: inherited.
  int64_t memory_limit_bytes = 0;
  // Longest report line kept; longer lines are dropped (and counted).
  size_t max_line_bytes = size_t{1} << 20;
};

// How a child ended.
struct ExitInfo {
  bool signaled = false;  // killed by a signal (else exited)
  int code = 0;           // exit code when !signaled
  int signal = 0;         // the signal when signaled
  // "exit code 3", "killed by SIGKILL".
  std::string Describe() const;
  bool ok() const { return !signaled && code == 0; }
};

// "SIGKILL", "SIGSEGV", ... ("signal N" when unknown).
std::string SignalName(int sig);

// The last `max_lines` non-empty lines of the file at `path`, from at most its last `max_bytes`
// bytes, joined with " | " ("" when unreadable). For failure messages.
std::string TailLines(const std::string& path, int max_lines = 6, size_t max_bytes = 4096);

// One child process. Not thread-safe: owned and driven by one thread (the one that started it:
// the child is killed when that thread exits). The destructor kills the group and reaps the child
// if it is still running.
class Subprocess {
 public:
  // Forks and execs. Only async-signal-safe calls run between fork and exec. INTERNAL when the
  // fork or the pipe fails; an exec failure shows as exit code 127 with a line in the log.
  static absl::StatusOr<std::unique_ptr<Subprocess>> Start(const SubprocessOptions& options);
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }

  // Appends the complete report lines that arrive within `timeout` (returns as soon as any did,
  // or at EOF). `*eof` becomes true once the child closed its end (exited).
  void ReadLines(std::chrono::milliseconds timeout, std::vector<std::string>* lines, bool* eof);

  // Sends `sig` to the child's process group (no-op once reaped).
  void SignalGroup(int sig);

  // The exit status if the child has exited (reaps it), else nullopt. Non-blocking.
  std::optional<ExitInfo> TryWait();
  // Blocks until the child exits.
  ExitInfo Wait();
  // SIGTERM to the group, then SIGKILL if it has not exited after `grace`; returns the exit.
  ExitInfo Terminate(std::chrono::milliseconds grace);

  // Report lines dropped for being longer than max_line_bytes.
  uint64_t dropped_lines() const { return dropped_lines_; }

 private:
  Subprocess() = default;
  pid_t pid_ = -1;
  int report_fd_ = -1;
  size_t max_line_bytes_ = 0;
  std::string partial_;
  bool discarding_ = false;
  uint64_t dropped_lines_ = 0;
  std::optional<ExitInfo> exit_;
};

}  // namespace monoroute::trainer

#endif  // MONOROUTE_SERVICES_TRAINER_SUBPROCESS_H_
