// Test support shared by every suite for child processes (commands: tests/testing/command.h, free
// ports: tests/testing/ports.h, included here): a service binary as a child process with its
// output in a log file (waiting until its gRPC port answers or its log names its port,
// SIGTERM/SIGKILL shutdown). Header-only. Not thread-safe per object.
#ifndef MONOROUTE_TESTS_TESTING_PROCESS_H_
#define MONOROUTE_TESTS_TESTING_PROCESS_H_

#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "tests/testing/command.h"
#include "tests/testing/ports.h"
#include "tests/testing/temp_files.h"

extern char** environ;

namespace monoroute::testing {

// One child process with stdout+stderr appended to a log file. Stop()s (SIGTERM, then SIGKILL)
// on destruction if still running.
class ServiceProcess {
 public:
  ServiceProcess() = default;
  ServiceProcess(const ServiceProcess&) = delete;
  ServiceProcess& operator=(const ServiceProcess&) = delete;
  ~ServiceProcess() { Stop(std::chrono::seconds(10)); }

  // Starts `argv` (argv[0] a path) with its output appended to `log_path`.
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
    const int rc = ::posix_spawn(&pid_, argv[0].c_str(), &fa, nullptr, args.data(), environ);
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
    const auto end = std::chrono::steady_clock::now() + timeout;
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

  // Waits until the log matches `pattern` (an ECMAScript regex whose group 1 is a port number,
  // e.g. "listening on [0-9.]+:([0-9]+)" of a service started with --listen 127.0.0.1:0) and
  // returns that port; fails early if the process exits.
  absl::StatusOr<int> WaitForLogPort(const std::string& pattern, std::chrono::seconds timeout) {
    const std::regex re(pattern);
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      std::smatch m;
      const std::string text = ReadText(log_);
      if (std::regex_search(text, m, re)) return std::stoi(m[1].str());
      if (!Running()) {
        return absl::InternalError(
            absl::StrCat(name_, " exited (", exit_desc_, "); log ", log_, ": ", Tail(log_)));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return absl::DeadlineExceededError(
        absl::StrCat(name_, " never printed /", pattern, "/; log ", log_, ": ", Tail(log_)));
  }

  // True while the child runs (reaps it when it has exited).
  bool Running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == 0) return true;
    Describe(status);
    pid_ = -1;
    return false;
  }

  // SIGTERM, wait up to `grace`, then SIGKILL. Returns how it ended ("exit 0", "signal 9", ...).
  std::string Stop(std::chrono::seconds grace) {
    if (pid_ <= 0) return exit_desc_;
    ::kill(pid_, SIGTERM);
    const auto end = std::chrono::steady_clock::now() + grace;
    while (std::chrono::steady_clock::now() < end) {
      if (!Running()) return exit_desc_;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    Kill();
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

  // How it ended once reaped: its exit status, or 128 + the signal; -1 before.
  int exit_code() const { return exit_code_; }
  pid_t pid() const { return pid_; }
  const std::string& name() const { return name_; }
  const std::string& log() const { return log_; }

 private:
  void Describe(int status) {
    if (WIFEXITED(status)) {
      exit_code_ = WEXITSTATUS(status);
      exit_desc_ = absl::StrCat("exit ", exit_code_);
    }
    if (WIFSIGNALED(status)) {
      exit_code_ = 128 + WTERMSIG(status);
      exit_desc_ = absl::StrCat("signal ", WTERMSIG(status));
    }
  }
  std::string name_, log_, exit_desc_ = "not started";
  int exit_code_ = -1;
  pid_t pid_ = -1;
};

}  // namespace monoroute::testing

#endif  // MONOROUTE_TESTS_TESTING_PROCESS_H_
