// The one launcher of supervised child processes: the trainer's job workers, the ranks of a
// data-parallel job (common/engine/rank_launcher.h) and `monoroute demo`'s services. A child runs
// in its own process group (so a stop reaches everything it started), with an optional
// RLIMIT_DATA, dies with the thread that started it (PR_SET_PDEATHSIG), writes stdout and stderr
// to a log file or to a pipe the parent reads line by line, and may report to the parent as text
// lines on a pipe (fd 3 in the child). Stop = SIGTERM to the group, SIGKILL after a grace period.
// Exit descriptions name the signal ("killed by SIGKILL") or the exit code, for failure messages.
// No LibTorch, no gRPC.
#ifndef MONOROUTE_COMMON_BASE_SUBPROCESS_H_
#define MONOROUTE_COMMON_BASE_SUBPROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace monoroute {

// The child's file descriptor of the report pipe.
inline constexpr int kReportFd = 3;

struct SubprocessOptions {
  // argv[0] is the executable's path (looked up in PATH only with search_path).
  std::vector<std::string> argv;
  // Look argv[0] up in PATH when it has no '/' (as execvp does).
  bool search_path = false;
  // "NAME=value" entries added to (or replacing those of) the parent's environment.
  std::vector<std::string> env;
  // stdout and stderr of the child are appended here; empty: /dev/null (unless capture_output).
  std::string log_path;
  // stdout and stderr of the child go to one pipe whose lines ReadOutputLines returns (instead of
  // log_path).
  bool capture_output = false;
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

// Splits what arrives on a pipe into lines of at most `max_line_bytes` (longer ones are dropped
// and counted). Owns the descriptor.
class PipeLines {
 public:
  PipeLines() = default;
  // `keep_unterminated`: at EOF an unterminated last line is returned too (else dropped: a
  // protocol line cut by a crash is not a line).
  PipeLines(int fd, size_t max_line_bytes, bool keep_unterminated)
      : fd_(fd), max_line_bytes_(max_line_bytes), keep_unterminated_(keep_unterminated) {}
  ~PipeLines();
  PipeLines(const PipeLines&) = delete;
  PipeLines& operator=(const PipeLines&) = delete;
  PipeLines(PipeLines&& other) noexcept;
  PipeLines& operator=(PipeLines&& other) noexcept;

  // The descriptor to poll; -1 once closed (EOF seen) or when there is none.
  int fd() const { return fd_; }
  // Appends the complete lines that arrive within `timeout` (returns as soon as any did, or at
  // EOF; 0: only what is there now). `*eof` becomes true once the writer closed its end.
  void Read(std::chrono::milliseconds timeout, std::vector<std::string>* lines, bool* eof);
  // Lines dropped for being longer than max_line_bytes.
  uint64_t dropped_lines() const { return dropped_lines_; }

 private:
  void Close();
  int fd_ = -1;
  size_t max_line_bytes_ = 0;
  bool keep_unterminated_ = false;
  std::string partial_;
  bool discarding_ = false;
  uint64_t dropped_lines_ = 0;
};

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
  // The same for the captured stdout / stderr (capture_output; an unterminated last line is
  // returned at EOF); `*eof` at once without it.
  void ReadOutputLines(std::chrono::milliseconds timeout, std::vector<std::string>* lines,
                       bool* eof);
  // The descriptor of the captured output to poll (-1: none or closed).
  int output_fd() const { return output_.fd(); }

  // Sends `sig` to the child's process group (no-op once reaped).
  void SignalGroup(int sig);

  // The exit status if the child has exited (reaps it), else nullopt. Non-blocking.
  std::optional<ExitInfo> TryWait();
  // Blocks until the child exits.
  ExitInfo Wait();
  // SIGTERM to the group, then SIGKILL if it has not exited after `grace`; returns the exit.
  ExitInfo Terminate(std::chrono::milliseconds grace);

  // Report lines dropped for being longer than max_line_bytes.
  uint64_t dropped_lines() const { return report_.dropped_lines(); }

 private:
  Subprocess() = default;
  pid_t pid_ = -1;
  PipeLines report_;
  PipeLines output_;
  std::optional<ExitInfo> exit_;
};

}  // namespace monoroute

#endif  // MONOROUTE_COMMON_BASE_SUBPROCESS_H_
