// RunLocalRanks: fork + exec of N ranks, a poll loop over their output pipes, signal forwarding
// through a self-pipe, and stopping the others when one fails.
#include "common/engine/rank_launcher.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>

#include "absl/strings/str_cat.h"

extern char** environ;

namespace monoroute::engine {
namespace {

using Clock = std::chrono::steady_clock;

int g_signal_pipe = -1;  // write end of the self-pipe while RunLocalRanks forwards signals

void OnSignal(int sig) {
  if (g_signal_pipe >= 0) {
    const unsigned char b = static_cast<unsigned char>(sig);
    [[maybe_unused]] ssize_t n = ::write(g_signal_pipe, &b, 1);
  }
}

std::string DescribeExit(int status) {
  if (WIFEXITED(status)) return absl::StrCat("exit code ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const char* name = sigabbrev_np(WTERMSIG(status));
    return absl::StrCat("killed by SIG", name != nullptr ? name : std::to_string(WTERMSIG(status)));
  }
  return absl::StrCat("status ", status);
}

// One rank's process and its output pipe.
struct Rank {
  pid_t pid = -1;
  int fd = -1;          // read end of the merged stdout / stderr pipe; -1 after EOF
  std::string partial;  // output after the last newline
  bool exited = false;
  int status = 0;
};

// Environment of a child: ours without the rank variables, then the rank's, then extra.
std::vector<std::string> ChildEnv(const std::vector<std::string>& rank_env,
                                  const std::vector<std::string>& extra) {
  std::map<std::string, std::string> over;
  for (const auto* list : {&rank_env, &extra}) {
    for (const std::string& kv : *list) over[kv.substr(0, kv.find('='))] = kv;
  }
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string kv(*e);
    if (over.count(kv.substr(0, kv.find('='))) == 0) env.push_back(kv);
  }
  for (const auto& [name, kv] : over) env.push_back(kv);
  return env;
}

}  // namespace

absl::StatusOr<int> PickFreePort(const std::string& addr) {
  int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = 0;
  if (::inet_pton(AF_INET, addr == "localhost" ? "127.0.0.1" : addr.c_str(), &sa.sin_addr) != 1) {
    sa.sin_addr.s_addr = htonl(INADDR_ANY);
  }
  socklen_t len = sizeof(sa);
  if (::bind(s, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 ||
      ::getsockname(s, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
    const int err = errno;
    ::close(s);
    return absl::InternalError(absl::StrCat("no free port on ", addr, ": ", std::strerror(err)));
  }
  ::close(s);
  return static_cast<int>(ntohs(sa.sin_port));
}

absl::StatusOr<LocalRanksResult> RunLocalRanks(const LocalRanksOptions& options) {
  if (options.argv.empty()) return absl::InvalidArgumentError("RunLocalRanks: empty command");
  if (options.nproc < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--nproc-per-node: must be >= 1, got ", options.nproc));
  }
  LocalRanksResult result;
  result.master_port = options.master_port;
  if (result.master_port == 0) {
    absl::StatusOr<int> port = PickFreePort(options.master_addr);
    if (!port.ok()) return port.status();
    result.master_port = *port;
  }

  // Everything the children need is built before the first fork (only async-signal-safe calls
  // between fork and exec).
  std::vector<std::vector<std::string>> envs;
  for (int r = 0; r < options.nproc; ++r) {
    envs.push_back(
        ChildEnv({absl::StrCat("MASTER_ADDR=", options.master_addr),
                  absl::StrCat("MASTER_PORT=", result.master_port),
                  absl::StrCat("WORLD_SIZE=", options.nproc), absl::StrCat("RANK=", r),
                  absl::StrCat("LOCAL_RANK=", r), absl::StrCat("LOCAL_WORLD_SIZE=", options.nproc)},
                 options.extra_env));
  }
  std::vector<char*> argv;
  for (const std::string& a : options.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  int sig_pipe[2] = {-1, -1};
  struct sigaction old_int {
  }, old_term{};
  if (options.forward_signals) {
    if (::pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
      return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
    }
    g_signal_pipe = sig_pipe[1];
    struct sigaction sa {};
    sa.sa_handler = OnSignal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    ::sigaction(SIGINT, &sa, &old_int);
    ::sigaction(SIGTERM, &sa, &old_term);
  }

  std::vector<Rank> ranks(options.nproc);
  absl::Status start_error;
  for (int r = 0; r < options.nproc; ++r) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) {
      start_error = absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
      break;
    }
    std::vector<char*> envp;
    for (const std::string& kv : envs[r]) envp.push_back(const_cast<char*>(kv.c_str()));
    envp.push_back(nullptr);
    const pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) {
      start_error = absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
      ::close(p[0]);
      ::close(p[1]);
      break;
    }
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(126);
      ::signal(SIGINT, SIG_DFL);
      ::signal(SIGTERM, SIG_DFL);
      ::dup2(p[1], STDOUT_FILENO);
      ::dup2(p[1], STDERR_FILENO);
      ::execvpe(argv[0], argv.data(), envp.data());
      static const char kMsg[] = "cannot execute the rank's command\n";
      [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, kMsg, sizeof(kMsg) - 1);
      ::_exit(127);
    }
    ::close(p[1]);
    ranks[r].pid = pid;
    ranks[r].fd = p[0];
  }

  auto emit = [&](int r, const std::string& line) {
    if (options.out != nullptr) *options.out << "[rank " << r << "] " << line << "\n" << std::flush;
  };
  auto signal_all = [&](int sig) {
    for (Rank& k : ranks) {
      if (k.pid > 0 && !k.exited) ::kill(k.pid, sig);
    }
  };
  bool stopping = !start_error.ok();
  if (stopping) signal_all(SIGTERM);
  auto stop_started = Clock::now();
  bool killed = false;
  bool stop_sent = false;
  while (true) {
    bool open = false, running = false;
    for (const Rank& k : ranks) {
      open |= k.fd >= 0;
      running |= k.pid > 0 && !k.exited;
    }
    if (!open && !running) break;
    std::vector<pollfd> fds;
    std::vector<int> owner;
    for (int r = 0; r < options.nproc; ++r) {
      if (ranks[r].fd >= 0) {
        fds.push_back({ranks[r].fd, POLLIN, 0});
        owner.push_back(r);
      }
    }
    if (sig_pipe[0] >= 0) {
      fds.push_back({sig_pipe[0], POLLIN, 0});
      owner.push_back(-1);
    }
    ::poll(fds.data(), fds.size(), 100);
    for (size_t i = 0; i < fds.size(); ++i) {
      if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      if (owner[i] < 0) {
        unsigned char sig = 0;
        while (::read(sig_pipe[0], &sig, 1) == 1) signal_all(sig);  // forward as received
        if (!stopping) {
          stopping = true;
          stop_started = Clock::now();
        }
        continue;
      }
      Rank& k = ranks[owner[i]];
      char buf[4096];
      ssize_t n = ::read(k.fd, buf, sizeof(buf));
      if (n <= 0) {
        if (!k.partial.empty()) emit(owner[i], k.partial);
        k.partial.clear();
        ::close(k.fd);
        k.fd = -1;
        continue;
      }
      k.partial.append(buf, static_cast<size_t>(n));
      size_t nl;
      while ((nl = k.partial.find('\n')) != std::string::npos) {
        emit(owner[i], k.partial.substr(0, nl));
        k.partial.erase(0, nl + 1);
      }
    }
    for (int r = 0; r < options.nproc; ++r) {
      Rank& k = ranks[r];
      if (k.pid <= 0 || k.exited) continue;
      int status = 0;
      if (::waitpid(k.pid, &status, WNOHANG) != k.pid) continue;
      k.exited = true;
      k.status = status;
      const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
      if (!ok && result.failed_rank < 0 && !killed) {
        result.failed_rank = r;
        result.failure = absl::StrCat("rank ", r, " (pid ", k.pid, ") ", DescribeExit(status));
        if (!stopping) {
          stopping = true;
          stop_started = Clock::now();
          signal_all(SIGTERM);
        }
      }
    }
    if (!stop_sent && !stopping && options.should_stop && options.should_stop()) {
      stop_sent = true;
      stopping = true;
      stop_started = Clock::now();
      signal_all(SIGTERM);
    }
    if (stopping && !killed && Clock::now() - stop_started > options.stop_grace) {
      killed = true;
      signal_all(SIGKILL);
    }
  }

  if (options.forward_signals) {
    ::sigaction(SIGINT, &old_int, nullptr);
    ::sigaction(SIGTERM, &old_term, nullptr);
    g_signal_pipe = -1;
    ::close(sig_pipe[0]);
    ::close(sig_pipe[1]);
  }
  if (!start_error.ok()) return start_error;
  result.ok = true;
  for (const Rank& k : ranks) {
    result.exits.push_back(DescribeExit(k.status));
    if (!(WIFEXITED(k.status) && WEXITSTATUS(k.status) == 0)) result.ok = false;
  }
  if (!result.ok && result.failed_rank < 0) {
    for (int r = 0; r < options.nproc; ++r) {
      if (result.exits[r] != "exit code 0") {
        result.failed_rank = r;
        result.failure = absl::StrCat("rank ", r, " (pid ", ranks[r].pid, ") ", result.exits[r]);
        break;
      }
    }
  }
  return result;
}

}  // namespace monoroute::engine
