// Test support shared by every suite: running a shell command and capturing its output (stdout
// and stderr together, or apart) and exit code. Header-only, no gRPC. Thread-safe (no state).
#ifndef MONOROUTE_TESTS_TESTING_COMMAND_H_
#define MONOROUTE_TESTS_TESTING_COMMAND_H_

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

#include "tests/testing/temp_files.h"

namespace monoroute::testing {

// Output and exit code of a command (code -1: did not exit normally).
struct CommandResult {
  int code = -1;
  std::string out;  // stdout (with stderr when run by RunCommand)
  std::string err;  // stderr (RunCommandSplit only)
};

// Runs `shell_cmd` with /bin/sh: its stdout in r.out, its exit code in r.code.
inline CommandResult RunPiped(const std::string& shell_cmd) {
  CommandResult r;
  FILE* p = ::popen(shell_cmd.c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int st = ::pclose(p);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

// Runs `cmd` with /bin/sh, stdout and stderr together in `out`.
inline CommandResult RunCommand(const std::string& cmd) { return RunPiped(cmd + " 2>&1"); }

// Runs `cmd` with /bin/sh, stdout in `out` and stderr in `err` (stderr through a temp file).
inline CommandResult RunCommandSplit(const std::string& cmd) {
  TempDir dir("monoroute_cmd");
  const std::string err_path = dir.Sub("stderr");
  CommandResult r = RunPiped(cmd + " 2>'" + err_path + "'");
  r.err = ReadText(err_path);
  return r;
}

}  // namespace monoroute::testing

#endif  // MONOROUTE_TESTS_TESTING_COMMAND_H_
