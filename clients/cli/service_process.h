// Child service processes for `monoroute demo`: free-port picking, spawning a binary with its
// output in a log file, waiting until its gRPC port answers, and SIGTERM/SIGKILL shutdown.
// Header-only (the CLI globs only cmd_*.cc). Not thread-safe; owned by one thread.
#ifndef MONOROUTE_CLIENTS_CLI_SERVICE_PROCESS_H_
#define MONOROUTE_CLIENTS_CLI_SERVICE_PROCESS_H_

#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/base/file_util.h"

extern char** environ;

namespace monoroute::cli {

// `n` distinct free TCP ports on 127.0.0.1 (all bound to port 0 at once, then released).
inline absl::StatusOr<std::vector<int>> PickFreePorts(int n) {
  std::vector<int> fds, ports;
  absl::Status status;
  for (int i = 0; i < n && status.ok(); ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      status = absl::InternalError("cannot bind a free port on 127.0.0.1");
    } else {
      ports.push_back(ntohs(a.sin_port));
    }
    if (fd >= 0) fds.push_back(fd);
  }
  for (int fd : fds) ::close(fd);
  if (!status.ok()) return status;
  return ports;
}

// A free TCP port on 127.0.0.1 (bound to port 0, then released).
inline absl::StatusOr<int> PickFreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError("socket() failed");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof(a);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    return absl::InternalError("cannot bind a free port on 127.0.0.1");
  }
  int port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

// The last `max_bytes` of a file (for error messages).
inline std::string Tail(const std::string& path, size_t max_bytes = 600) {
  auto t = ReadFile(path);
  if (!t.ok()) return "";
  return t->size() > max_bytes ? t->substr(t->size() - max_bytes) : *t;
}

// One child process. Kill()s (SIGTERM, then SIGKILL) on destruction if still running.
class ServiceProcess {
 public:
  ServiceProcess() = default;
  ServiceProcess(const ServiceProcess&) = delete;
  ServiceProcess& operator=(const ServiceProcess&) = delete;
  ~ServiceProcess() { Stop(std::chrono::seconds(10)); }

  // Starts `argv` with stdout+stderr appended to `log_path`.
  absl::Status Start(const std::string& name, const std::vector<std::string>& argv,
                     const std::string& log_path) {
    name_ = name;
    log_ = log_path;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log_path.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    int rc = ::posix_spawn(&pid_, argv[0].c_str(), &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
      pid_ = -1;
      return absl::InternalError(
          absl::StrCat("cannot start ", name, " (", argv[0], "): ", std::strerror(rc)));
    }
    return absl::OkStatus();
  }

  // Waits until `address` accepts gRPC connections; fails early if the process exits.
  absl::Status WaitReady(const std::string& address, std::chrono::seconds timeout) {
    auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
    auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      if (!Running()) {
        return absl::InternalError(
            absl::StrCat(name_, " exited (", exit_desc_, "); log ", log_, ": ", Tail(log_)));
      }
      if (channel->WaitForConnected(std::chrono::system_clock::now() +
                                    std::chrono::milliseconds(250))) {
        return absl::OkStatus();
      }
    }
    return absl::DeadlineExceededError(
        absl::StrCat(name_, " did not answer on ", address, "; log ", log_, ": ", Tail(log_)));
  }

  // True while the child runs (reaps it when it has exited).
  bool Running() {
    if (pid_ <= 0) return false;
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == 0) return true;
    Describe(status);
    pid_ = -1;
    return false;
  }

  // SIGTERM, wait up to `grace`, then SIGKILL. Returns how it ended.
  std::string Stop(std::chrono::seconds grace) {
    if (pid_ <= 0) return exit_desc_;
    ::kill(pid_, SIGTERM);
    auto end = std::chrono::steady_clock::now() + grace;
    while (std::chrono::steady_clock::now() < end) {
      if (!Running()) return exit_desc_;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    Describe(status);
    pid_ = -1;
    return exit_desc_ + " after SIGKILL";
  }

  // SIGKILL now (no graceful shutdown), then reap.
  void Kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    Describe(status);
    pid_ = -1;
  }

  const std::string& name() const { return name_; }
  const std::string& log() const { return log_; }

 private:
  void Describe(int status) {
    if (WIFEXITED(status)) exit_desc_ = absl::StrCat("exit ", WEXITSTATUS(status));
    if (WIFSIGNALED(status)) exit_desc_ = absl::StrCat("signal ", WTERMSIG(status));
  }
  std::string name_, log_, exit_desc_ = "not started";
  pid_t pid_ = -1;
};

}  // namespace monoroute::cli

#endif  // MONOROUTE_CLIENTS_CLI_SERVICE_PROCESS_H_
