// `monoroute bench recorder [FLAGS]`: runs monoroute-recorder-bench (the recorder's benchmark,
// services/recorder/tools/, found next to this binary) with the same flags and forwards its
// report; with `--output json` its JSON result is this command's result. The benchmark itself,
// with its raw RocksDB loop and its recorder child, lives apart from the user CLI.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "clients/cli/command.h"

namespace monoroute::cli {
namespace {

// Quotes `arg` for /bin/sh.
std::string ShellQuote(const std::string& arg) {
  return absl::StrCat("'", absl::StrReplaceAll(arg, {{"'", "'\\''"}}), "'");
}

absl::Status RunRecorderBench(const std::vector<std::string>& args) {
  char exe[4096];
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n <= 0) return absl::InternalError("cannot resolve /proc/self/exe");
  exe[n] = 0;
  const std::string bin =
      (std::filesystem::path(exe).parent_path() / "monoroute-recorder-bench").string();
  if (!std::filesystem::exists(bin)) {
    return absl::NotFoundError(
        absl::StrCat(bin, " not found (build the monoroute-recorder-bench target)"));
  }
  std::string cmd = ShellQuote(bin);
  for (const std::string& a : args) absl::StrAppend(&cmd, " ", ShellQuote(a));
  if (JsonOutput()) absl::StrAppend(&cmd, " --output json");
  std::fflush(stdout);
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) return absl::InternalError("cannot run " + bin);
  std::string line, json;
  char buf[4096];
  while (std::fgets(buf, sizeof(buf), pipe) != nullptr) {
    line += buf;
    if (line.empty() || line.back() != '\n') continue;
    if (JsonOutput() && line[0] == '{') {
      json = line.substr(0, line.size() - 1);  // its result: one JSON object on its stdout
    } else {
      std::fputs(line.c_str(), stdout);  // text (on stderr in JSON mode)
    }
    line.clear();
  }
  std::fflush(stdout);
  const int status = ::pclose(pipe);
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
  if (code == 2) return UsageError("monoroute-recorder-bench: bad usage (see above)");
  if (code != 0) return absl::InternalError("monoroute-recorder-bench failed (see above)");
  if (!json.empty()) PrintJsonLine(json);
  return absl::OkStatus();
}

MONOROUTE_REGISTER_COMMAND(bench_recorder, [](CLI::App& app) {
  CLI::App* sub = AddCommand(
      app, "bench recorder",
      "Recorder ingest events/s with acks vs a raw RocksDB WriteBatch loop, or ack latency under "
      "concurrent streams (runs monoroute-recorder-bench; its flags, see its --help)");
  sub->allow_extras();
  sub->prefix_command();
  SetAction(sub, [sub]() { return RunRecorderBench(sub->remaining()); });
});

}  // namespace
}  // namespace monoroute::cli
