// Child processes with their own process group, RLIMIT_DATA, parent-death signal, log file and
// report pipe.
#include "services/trainer/subprocess.h"

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

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

extern char** environ;

namespace monoroute::trainer {
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
  (void)!write(2, "monoroute worker spawn: ", 24);
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

absl::StatusOr<std::unique_ptr<Subprocess>> Subprocess::Start(const SubprocessOptions& options) {
  if (options.argv.empty()) return absl::InvalidArgumentError("subprocess: empty argv");
  // Everything the child needs is prepared before fork: it may only call async-signal-safe
  // functions afterwards (the parent has other threads).
  std::vector<char*> argv;
  for (const std::string& a : options.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::set<std::string> replaced;
  for (const std::string& e : options.env) replaced.insert(e.substr(0, e.find('=')));
  std::vector<std::string> env_storage;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string entry(*e);
    if (replaced.count(entry.substr(0, entry.find('='))) == 0) env_storage.push_back(entry);
  }
  env_storage.insert(env_storage.end(), options.env.begin(), options.env.end());
  std::vector<char*> envp;
  for (std::string& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);

  const std::string log = options.log_path.empty() ? "/dev/null" : options.log_path;
  int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    return absl::InternalError(
        absl::StrCat("subprocess: cannot open ", log, ": ", strerror(errno)));
  }
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  int pipe_fds[2] = {-1, -1};
  if (options.report_pipe && ::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    ::close(log_fd);
    if (null_fd >= 0) ::close(null_fd);
    return absl::InternalError(absl::StrCat("subprocess: pipe: ", strerror(errno)));
  }
  rlimit data_limit{};
  data_limit.rlim_cur = data_limit.rlim_max = static_cast<rlim_t>(options.memory_limit_bytes);
  const pid_t parent = ::getpid();

  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(log_fd);
    if (null_fd >= 0) ::close(null_fd);
    if (pipe_fds[0] >= 0) ::close(pipe_fds[0]), ::close(pipe_fds[1]);
    return absl::InternalError(absl::StrCat("subprocess: fork: ", strerror(err)));
  }
  if (pid == 0) {
    // Child.
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) _exit(1);  // the parent died before prctl
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
    if (null_fd >= 0) ::dup2(null_fd, 0);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    if (pipe_fds[1] >= 0) {
      if (pipe_fds[1] == kReportFd) {
        ::fcntl(kReportFd, F_SETFD, 0);
      } else {
        ::dup2(pipe_fds[1], kReportFd);
      }
    }
    CloseFrom(pipe_fds[1] >= 0 ? kReportFd + 1 : 3);
    if (options.memory_limit_bytes > 0 && ::setrlimit(RLIMIT_DATA, &data_limit) != 0) {
      ChildError("setrlimit(RLIMIT_DATA)");
      _exit(126);
    }
    ::execve(argv[0], argv.data(), envp.data());
    ChildError(argv[0]);
    _exit(127);
  }
  // Parent. Also set the group here, so a signal sent right after Start reaches the group.
  ::setpgid(pid, pid);
  ::close(log_fd);
  if (null_fd >= 0) ::close(null_fd);
  std::unique_ptr<Subprocess> p(new Subprocess());
  p->pid_ = pid;
  p->max_line_bytes_ = options.max_line_bytes;
  if (pipe_fds[1] >= 0) {
    ::close(pipe_fds[1]);
    p->report_fd_ = pipe_fds[0];
  }
  return p;
}

Subprocess::~Subprocess() {
  if (!exit_.has_value() && pid_ > 0) {
    SignalGroup(SIGKILL);
    Wait();
  }
  if (report_fd_ >= 0) ::close(report_fd_);
}

void Subprocess::ReadLines(std::chrono::milliseconds timeout, std::vector<std::string>* lines,
                           bool* eof) {
  if (report_fd_ < 0) {
    *eof = true;
    if (timeout.count() > 0) std::this_thread::sleep_for(timeout);
    return;
  }
  *eof = false;
  pollfd p{report_fd_, POLLIN, 0};
  int r = ::poll(&p, 1, static_cast<int>(timeout.count()));
  if (r <= 0) return;
  char buf[65536];
  ssize_t n = ::read(report_fd_, buf, sizeof(buf));
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n <= 0) {
    ::close(report_fd_);
    report_fd_ = -1;
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

}  // namespace monoroute::trainer
