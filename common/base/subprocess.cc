// Child processes with their own process group, RLIMIT_DATA, parent-death signal, log file or
// captured output, and report pipe.
#include "common/base/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <set>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

extern char** environ;

namespace monoroute {
namespace {

// Closes every descriptor >= `first` (async-signal-safe).
void CloseFrom(int first) {
#ifdef SYS_close_range
  if (syscall(SYS_close_range, static_cast<unsigned>(first), ~0U, 0) == 0) return;
#endif
  for (int fd = first; fd < 65536; ++fd) close(fd);
}

// Writes `msg` to fd 2 from the child (async-signal-safe).
void ChildError(const char* what) {
  const char* err = strerror(errno);  // not strictly async-signal-safe, only read here
  (void)!write(2, "monoroute spawn: ", 17);
  (void)!write(2, what, strlen(what));
  (void)!write(2, ": ", 2);
  (void)!write(2, err, strlen(err));
  (void)!write(2, "\n", 1);
}

}  // namespace

std::string SignalName(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  if (abbrev == nullptr) return absl::StrCat("signal ", sig);
  return absl::StrCat("SIG", abbrev);
}

std::string ExitInfo::Describe() const {
  if (signaled) return absl::StrCat("killed by ", SignalName(signal));
  return absl::StrCat("exit code ", code);
}

std::string TailLines(const std::string& path, int max_lines, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  const std::streamoff start =
      std::max<std::streamoff>(0, size - static_cast<std::streamoff>(max_bytes));
  in.seekg(start);
  std::string text(static_cast<size_t>(size - start), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  std::vector<std::string> lines;
  for (absl::string_view l : absl::StrSplit(text, '\n')) {
    l = absl::StripAsciiWhitespace(l);
    if (!l.empty()) lines.emplace_back(l);
  }
  // The first line may have been cut by the byte window; keep it anyway (it is the oldest).
  if (static_cast<int>(lines.size()) > max_lines) {
    lines.erase(lines.begin(), lines.end() - max_lines);
  }
  return absl::StrJoin(lines, " | ");
}

namespace {

// What the child needs, prepared before fork: afterwards it may only call async-signal-safe
// functions (the parent has other threads).
struct ChildSetup {
  std::vector<char*> argv, envp;
  std::vector<std::string> env_storage;
  int out_fd = -1;     // becomes fds 1 and 2
  int null_fd = -1;    // becomes fd 0
  int report_fd = -1;  // write end of the report pipe: becomes kReportFd
  bool search_path = false;
  int64_t memory_limit_bytes = 0;
  pid_t parent = 0;
};

// The parent's environment with `overrides` ("NAME=value") replacing or added.
std::vector<std::string> MergedEnv(const std::vector<std::string>& overrides) {
  std::set<std::string> replaced;
  for (const std::string& e : overrides) replaced.insert(e.substr(0, e.find('=')));
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string entry(*e);
    if (replaced.count(entry.substr(0, entry.find('='))) == 0) env.push_back(entry);
  }
  env.insert(env.end(), overrides.begin(), overrides.end());
  return env;
}

// In the child after fork: its own group, the parent-death signal, default signal handling, the
// descriptors, the memory limit, then exec. Never returns.
[[noreturn]] void ExecChild(const ChildSetup& c) {
  ::setpgid(0, 0);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != c.parent) _exit(1);  // the parent died before prctl
  // The parent's threads may block or ignore signals (servers wait for SIGTERM with sigwait):
  // the child starts with the defaults.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int s : {SIGTERM, SIGINT, SIGPIPE, SIGCHLD, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2}) {
    sigaction(s, &dfl, nullptr);
  }
  if (c.null_fd >= 0) ::dup2(c.null_fd, 0);
  ::dup2(c.out_fd, 1);
  ::dup2(c.out_fd, 2);
  if (c.report_fd >= 0) {
    if (c.report_fd == kReportFd) {
      ::fcntl(kReportFd, F_SETFD, 0);
    } else {
      ::dup2(c.report_fd, kReportFd);
    }
  }
  CloseFrom(c.report_fd >= 0 ? kReportFd + 1 : 3);
  if (c.memory_limit_bytes > 0) {
    rlimit data_limit{};
    data_limit.rlim_cur = data_limit.rlim_max = static_cast<rlim_t>(c.memory_limit_bytes);
    if (::setrlimit(RLIMIT_DATA, &data_limit) != 0) {
      ChildError("setrlimit(RLIMIT_DATA)");
      _exit(126);
    }
  }
  if (c.search_path) {
    ::execvpe(c.argv[0], c.argv.data(), c.envp.data());
  } else {
    ::execve(c.argv[0], c.argv.data(), c.envp.data());
  }
  ChildError(c.argv[0]);
  _exit(127);
}

void CloseIfOpen(int* fd) {
  if (*fd >= 0) ::close(*fd);
  *fd = -1;
}

}  // namespace

PipeLines::~PipeLines() { Close(); }

PipeLines::PipeLines(PipeLines&& o) noexcept { *this = std::move(o); }

PipeLines& PipeLines::operator=(PipeLines&& o) noexcept {
  if (this != &o) {
    Close();
    fd_ = std::exchange(o.fd_, -1);
    max_line_bytes_ = o.max_line_bytes_;
    keep_unterminated_ = o.keep_unterminated_;
    partial_ = std::move(o.partial_);
    discarding_ = o.discarding_;
    dropped_lines_ = o.dropped_lines_;
  }
  return *this;
}

void PipeLines::Close() { CloseIfOpen(&fd_); }

void PipeLines::Read(std::chrono::milliseconds timeout, std::vector<std::string>* lines,
                     bool* eof) {
  if (fd_ < 0) {
    *eof = true;
    if (timeout.count() > 0) std::this_thread::sleep_for(timeout);
    return;
  }
  *eof = false;
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return;
  char buf[65536];
  ssize_t n = ::read(fd_, buf, sizeof(buf));
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n <= 0) {
    if (keep_unterminated_ && !partial_.empty() && !discarding_) {
      lines->push_back(std::move(partial_));
    }
    partial_.clear();
    Close();
    *eof = true;
    return;
  }
  for (ssize_t i = 0; i < n; ++i) {
    const char c = buf[i];
    if (c == '\n') {
      if (!discarding_) lines->push_back(std::move(partial_));
      partial_.clear();
      discarding_ = false;
      continue;
    }
    if (discarding_) continue;
    if (partial_.size() >= max_line_bytes_) {
      partial_.clear();
      discarding_ = true;
      ++dropped_lines_;
      continue;
    }
    partial_.push_back(c);
  }
}

absl::StatusOr<std::unique_ptr<Subprocess>> Subprocess::Start(const SubprocessOptions& options) {
  if (options.argv.empty()) return absl::InvalidArgumentError("subprocess: empty argv");
  ChildSetup c;
  for (const std::string& a : options.argv) c.argv.push_back(const_cast<char*>(a.c_str()));
  c.argv.push_back(nullptr);
  c.env_storage = MergedEnv(options.env);
  for (std::string& e : c.env_storage) c.envp.push_back(e.data());
  c.envp.push_back(nullptr);
  c.search_path = options.search_path;
  c.memory_limit_bytes = options.memory_limit_bytes;
  c.parent = ::getpid();
  int out_pipe[2] = {-1, -1}, report_pipe[2] = {-1, -1};
  auto fail = [&](const std::string& what) {
    const int err = errno;
    for (int* fd : {&c.out_fd, &c.null_fd, &out_pipe[0], &report_pipe[0], &report_pipe[1]}) {
      CloseIfOpen(fd);
    }
    return absl::InternalError(absl::StrCat("subprocess: ", what, ": ", strerror(err)));
  };
  if (options.capture_output) {
    if (::pipe2(out_pipe, O_CLOEXEC) != 0) return fail("pipe");
    c.out_fd = out_pipe[1];
  } else {
    const std::string log = options.log_path.empty() ? "/dev/null" : options.log_path;
    c.out_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (c.out_fd < 0) return fail(absl::StrCat("cannot open ", log));
  }
  c.null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (options.report_pipe) {
    if (::pipe2(report_pipe, O_CLOEXEC) != 0) return fail("pipe");
    c.report_fd = report_pipe[1];
  }
  const pid_t pid = ::fork();
  if (pid < 0) return fail("fork");
  if (pid == 0) ExecChild(c);
  // Parent. Also set the group here, so a signal sent right after Start reaches the group.
  ::setpgid(pid, pid);
  CloseIfOpen(&c.out_fd);
  CloseIfOpen(&c.null_fd);
  CloseIfOpen(&report_pipe[1]);
  std::unique_ptr<Subprocess> p(new Subprocess());
  p->pid_ = pid;
  if (report_pipe[0] >= 0) p->report_ = PipeLines(report_pipe[0], options.max_line_bytes, false);
  if (out_pipe[0] >= 0) p->output_ = PipeLines(out_pipe[0], options.max_line_bytes, true);
  return p;
}

Subprocess::~Subprocess() {
  if (!exit_.has_value() && pid_ > 0) {
    SignalGroup(SIGKILL);
    Wait();
  }
}

void Subprocess::ReadLines(std::chrono::milliseconds timeout, std::vector<std::string>* lines,
                           bool* eof) {
  report_.Read(timeout, lines, eof);
}

void Subprocess::ReadOutputLines(std::chrono::milliseconds timeout, std::vector<std::string>* lines,
                                 bool* eof) {
  output_.Read(timeout, lines, eof);
}

void Subprocess::SignalGroup(int sig) {
  if (pid_ > 0 && !exit_.has_value()) ::kill(-pid_, sig);
}

std::optional<ExitInfo> Subprocess::TryWait() {
  if (exit_.has_value()) return exit_;
  // Look without reaping first: while the leader is an unreaped zombie its group id cannot be
  // reused, so stragglers of the group can still be killed safely.
  siginfo_t info{};
  if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0 ||
      info.si_pid != pid_) {
    return std::nullopt;
  }
  ::kill(-pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  ExitInfo e;
  if (WIFSIGNALED(status)) {
    e.signaled = true;
    e.signal = WTERMSIG(status);
  } else {
    e.code = WEXITSTATUS(status);
  }
  exit_ = e;
  return exit_;
}

ExitInfo Subprocess::Wait() {
  while (true) {
    if (std::optional<ExitInfo> e = TryWait()) return *e;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

ExitInfo Subprocess::Terminate(std::chrono::milliseconds grace) {
  if (exit_.has_value()) return *exit_;
  SignalGroup(SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    if (std::optional<ExitInfo> e = TryWait()) return *e;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  SignalGroup(SIGKILL);
  return Wait();
}

}  // namespace monoroute
