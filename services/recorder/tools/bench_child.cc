// Process helpers of monoroute-recorder-bench.
#include "services/recorder/tools/bench_child.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"

namespace monoroute::recorder::bench {
namespace {

absl::StatusOr<int> FreeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError("socket() failed");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    return absl::InternalError("cannot bind a free port on 127.0.0.1");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// monoroute-recorder next to this executable.
absl::StatusOr<std::string> RecorderBinary() {
  char exe[4096];
  ssize_t n = ::readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n <= 0) return absl::InternalError("cannot resolve /proc/self/exe");
  exe[n] = 0;
  std::string bin = (std::filesystem::path(exe).parent_path() / "monoroute-recorder").string();
  if (!std::filesystem::exists(bin)) {
    return absl::NotFoundError(absl::StrCat(bin, " not found (build the monoroute-recorder ",
                                            "target) - or pass --recorder HOST:PORT"));
  }
  return bin;
}

}  // namespace

absl::Status RecorderChild::Start(bool sync) {
  ASSIGN_OR_RETURN(std::string bin, RecorderBinary());
  std::string tmpl =
      (std::filesystem::temp_directory_path() / "monoroute_bench_recorder_XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) return absl::InternalError("mkdtemp failed");
  dir_ = tmpl;
  ASSIGN_OR_RETURN(int port, FreeLoopbackPort());
  address_ = absl::StrCat("127.0.0.1:", port);
  log_ = dir_ + "/recorder.log";
  SubprocessOptions so;  // the one child-process launcher (common/base/subprocess.h)
  so.argv = {bin, "--listen", address_, "--data-dir", dir_ + "/db", "--metrics-listen", ""};
  if (sync) so.argv.push_back("--sync");
  so.log_path = log_;
  ASSIGN_OR_RETURN(proc_, Subprocess::Start(so));
  for (int i = 0; i < 1500; ++i) {
    if (ReadAll(log_).find("listening on") != std::string::npos) return absl::OkStatus();
    if (std::optional<ExitInfo> e = proc_->TryWait(); e.has_value()) {
      proc_.reset();
      return absl::UnavailableError(
          absl::StrCat("monoroute-recorder exited (", e->Describe(), "): ", ReadAll(log_)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("monoroute-recorder did not start in 15 s: ", ReadAll(log_)));
}

absl::Status RecorderChild::Stop() {
  absl::Status s;
  if (proc_ != nullptr) {
    const ExitInfo e = proc_->Terminate(std::chrono::seconds(30));
    if (!e.ok()) {
      s = absl::InternalError(absl::StrCat("monoroute-recorder did not exit cleanly (",
                                           e.Describe(), "): ", ReadAll(log_)));
    }
    proc_.reset();
  }
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    dir_.clear();
  }
  return s;
}

pid_t RecorderChild::pid() const { return proc_ != nullptr ? proc_->pid() : -1; }

absl::Status CheckRecorderHolds(v1::Recorder::Stub* stub, const std::string& run_id,
                                uint64_t acked) {
  grpc::ClientContext ctx;
  v1::GetRunRequest req;
  req.set_run_id(run_id);
  v1::RunSummary sum;
  grpc::Status gs = stub->GetRun(&ctx, req, &sum);
  if (!gs.ok()) return absl::InternalError(absl::StrCat("GetRun: ", gs.error_message()));
  if (sum.events() != acked) {
    return absl::InternalError(
        absl::StrCat("recorder holds ", sum.events(), " events, the bench was acked ", acked));
  }
  return absl::OkStatus();
}

double SelfCpuSeconds() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
         1e-6 * (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

double ProcCpuSeconds(pid_t pid) {
  std::string stat = ReadAll(absl::StrCat("/proc/", pid, "/stat"));
  size_t p = stat.rfind(')');
  if (p == std::string::npos) return 0;
  std::istringstream in(stat.substr(p + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) utime = std::stod(field);
    if (i == 15) stime = std::stod(field);
  }
  return (utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace monoroute::recorder::bench
