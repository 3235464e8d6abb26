// RunLocalRanks: N ranks started through the one child-process launcher (common/base/subprocess.h)
// with their output captured, a poll loop over their output pipes, signal forwarding through a
// self-pipe, and stopping the others when one fails.
#include "common/engine/rank_launcher.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "common/base/subprocess.h"

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

// While alive (and enabled), SIGINT and SIGTERM of this process are written to a self-pipe; the
// previous handlers are restored on destruction.
class SignalForwarder {
 public:
  // INTERNAL when the pipe cannot be made.
  static absl::StatusOr<std::unique_ptr<SignalForwarder>> Create(bool enabled) {
    std::unique_ptr<SignalForwarder> f(new SignalForwarder());
    if (!enabled) return f;
    if (::pipe2(f->pipe_, O_CLOEXEC | O_NONBLOCK) != 0) {
      return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
    }
    g_signal_pipe = f->pipe_[1];
    struct sigaction sa {};
    sa.sa_handler = OnSignal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    ::sigaction(SIGINT, &sa, &f->old_int_);
    ::sigaction(SIGTERM, &sa, &f->old_term_);
    f->enabled_ = true;
    return f;
  }
  ~SignalForwarder() {
    if (!enabled_) return;
    ::sigaction(SIGINT, &old_int_, nullptr);
    ::sigaction(SIGTERM, &old_term_, nullptr);
    g_signal_pipe = -1;
    ::close(pipe_[0]);
    ::close(pipe_[1]);
  }
  // The descriptor to poll (-1 when disabled).
  int fd() const { return enabled_ ? pipe_[0] : -1; }
  // The signals received since the last call, in order.
  std::vector<int> Drain() {
    std::vector<int> sigs;
    unsigned char sig = 0;
    while (enabled_ && ::read(pipe_[0], &sig, 1) == 1) sigs.push_back(sig);
    return sigs;
  }

 private:
  SignalForwarder() = default;
  bool enabled_ = false;
  int pipe_[2] = {-1, -1};
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

// The running ranks of one RunLocalRanks call and the stop sequence.
struct Ranks {
  std::vector<std::unique_ptr<Subprocess>> procs;
  std::vector<std::optional<ExitInfo>> exits;
  bool stopping = false;
  bool killed = false;
  Clock::time_point stop_started;

  // SIGTERM to every rank still running, once; the grace period starts now.
  void Stop() {
    if (stopping) return;
    stopping = true;
    stop_started = Clock::now();
    Signal(SIGTERM);
  }
  void Signal(int sig) {
    for (size_t r = 0; r < procs.size(); ++r) {
      if (!exits[r].has_value()) procs[r]->SignalGroup(sig);
    }
  }
  bool Done() const {
    for (size_t r = 0; r < procs.size(); ++r) {
      if (!exits[r].has_value() || procs[r]->output_fd() >= 0) return false;
    }
    return true;
  }
};

// The rank's environment: the rendezvous variables, then `extra` (later entries win).
std::vector<std::string> RankEnv(const LocalRanksOptions& o, int port, int rank) {
  std::map<std::string, std::string> over;
  const std::vector<std::string> own = {
      absl::StrCat("MASTER_ADDR=", o.master_addr), absl::StrCat("MASTER_PORT=", port),
      absl::StrCat("WORLD_SIZE=", o.nproc),        absl::StrCat("RANK=", rank),
      absl::StrCat("LOCAL_RANK=", rank),           absl::StrCat("LOCAL_WORLD_SIZE=", o.nproc)};
  for (const auto* list : {&own, &o.extra_env}) {
    for (const std::string& kv : *list) over[kv.substr(0, kv.find('='))] = kv;
  }
  std::vector<std::string> env;
  for (const auto& [name, kv] : over) env.push_back(kv);
  return env;
}

// Starts every rank; on an error the ranks already started are stopped by the caller.
absl::Status StartRanks(const LocalRanksOptions& o, int port, Ranks* ranks) {
  for (int r = 0; r < o.nproc; ++r) {
    SubprocessOptions so;
    so.argv = o.argv;
    so.search_path = true;
    so.capture_output = true;
    so.env = RankEnv(o, port, r);
    ASSIGN_OR_RETURN(std::unique_ptr<Subprocess> p, Subprocess::Start(so));
    ranks->procs.push_back(std::move(p));
    ranks->exits.emplace_back();
  }
  return absl::OkStatus();
}

// One round: waits up to 100 ms for output or a signal, prints complete lines with their rank's
// prefix, forwards signals, reaps exits (the first failure stops the others), polls should_stop,
// and escalates to SIGKILL after the grace period.
void PollOnce(const LocalRanksOptions& o, SignalForwarder& signals, Ranks& ranks,
              LocalRanksResult& result) {
  std::vector<pollfd> fds;
  for (const auto& p : ranks.procs) fds.push_back({p->output_fd(), POLLIN, 0});
  fds.push_back({signals.fd(), POLLIN, 0});
  ::poll(fds.data(), fds.size(), 100);  // negative fds are ignored by poll
  for (int sig : signals.Drain()) {
    ranks.Signal(sig);  // forwarded as received; the grace period starts
    if (!ranks.stopping) {
      ranks.stopping = true;
      ranks.stop_started = Clock::now();
    }
  }
  for (size_t r = 0; r < ranks.procs.size(); ++r) {
    if ((fds[r].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
    std::vector<std::string> lines;
    bool eof = false;
    ranks.procs[r]->ReadOutputLines(std::chrono::milliseconds(0), &lines, &eof);
    if (o.out == nullptr) continue;
    for (const std::string& line : lines) *o.out << "[rank " << r << "] " << line << "\n";
    if (!lines.empty()) o.out->flush();
  }
  for (size_t r = 0; r < ranks.procs.size(); ++r) {
    if (ranks.exits[r].has_value()) continue;
    ranks.exits[r] = ranks.procs[r]->TryWait();
    if (!ranks.exits[r].has_value() || ranks.exits[r]->ok()) continue;
    if (result.failed_rank < 0 && !ranks.killed) {
      result.failed_rank = static_cast<int>(r);
      result.failure = absl::StrCat("rank ", r, " (pid ", ranks.procs[r]->pid(), ") ",
                                    ranks.exits[r]->Describe());
      ranks.Stop();
    }
  }
  if (!ranks.stopping && o.should_stop && o.should_stop()) ranks.Stop();
  if (ranks.stopping && !ranks.killed && Clock::now() - ranks.stop_started > o.stop_grace) {
    ranks.killed = true;
    ranks.Signal(SIGKILL);
  }
}

// The result once every rank has exited.
void Conclude(const Ranks& ranks, LocalRanksResult& result) {
  result.ok = true;
  for (size_t r = 0; r < ranks.procs.size(); ++r) {
    const ExitInfo& e = *ranks.exits[r];
    result.exits.push_back(e.Describe());
    if (e.ok()) continue;
    result.ok = false;
    if (result.failed_rank < 0) {
      result.failed_rank = static_cast<int>(r);
      result.failure =
          absl::StrCat("rank ", r, " (pid ", ranks.procs[r]->pid(), ") ", e.Describe());
    }
  }
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
    ASSIGN_OR_RETURN(result.master_port, PickFreePort(options.master_addr));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<SignalForwarder> signals,
                   SignalForwarder::Create(options.forward_signals));
  Ranks ranks;
  const absl::Status started = StartRanks(options, result.master_port, &ranks);
  if (!started.ok()) ranks.Stop();
  while (!ranks.Done()) PollOnce(options, *signals, ranks, result);
  if (!started.ok()) return started;
  Conclude(ranks, result);
  return result;
}

}  // namespace monoroute::engine
