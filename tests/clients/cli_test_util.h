// Test support of the clients' tests that run the real `monoroute` tool: one way to start it (the
// binary named by MONOROUTE_CLI, a compile definition of each such test target) and to read what
// it prints with --output json (one JSON document per stdout line). Header-only.
#ifndef MONOROUTE_TESTS_CLIENTS_CLI_TEST_UTIL_H_
#define MONOROUTE_TESTS_CLIENTS_CLI_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "tests/testing/command.h"

#ifndef MONOROUTE_CLI
#error "MONOROUTE_CLI (the monoroute binary's path) must be defined by the test target"
#endif

namespace monoroute::testing {

// The shell command `monoroute <args>` (the CLI under test), to run or to put in a pipeline.
inline std::string CliCommand(const std::string& args) {
  return std::string("'") + MONOROUTE_CLI + "' " + args;
}

// Runs `monoroute <args>` with /bin/sh (`args` may redirect stdin); stdout and stderr apart.
inline CommandResult RunCli(const std::string& args) { return RunCommandSplit(CliCommand(args)); }

// Every non-empty stdout line of `r` parsed as JSON (a failed expectation for a line that is not).
inline std::vector<nlohmann::json> JsonLines(const CommandResult& r) {
  std::vector<nlohmann::json> docs;
  for (absl::string_view line : absl::StrSplit(r.out, '\n', absl::SkipEmpty())) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "stdout line is not JSON: " << line << "\nstderr: " << r.err;
    docs.push_back(j);
  }
  return docs;
}

}  // namespace monoroute::testing

#endif  // MONOROUTE_TESTS_CLIENTS_CLI_TEST_UTIL_H_
