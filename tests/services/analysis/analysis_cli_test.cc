// Tests of `monoroute report` and `monoroute bench analysis` (run through a driver binary made of
// the CLI's registry and these two command files).
#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/testing/command.h"

namespace {

using Result = ::monoroute::testing::CommandResult;

// Runs the driver with `args`: exit code and output (stdout and stderr).
Result RunCli(const std::string& args) {
  return ::monoroute::testing::RunCommand(std::string(ANALYSIS_CLI_DRIVER) + " " + args);
}

TEST(BenchAnalysisCliTest, PrintsSecondsAndEventsAsOneJsonLine) {
  // --output json: the JSON document is the one stdout line starting with '{' (the text goes to
  // stderr, merged here).
  Result r = RunCli(
      "bench analysis --events 200000 --layers 2 --vocab 5000 --repeats 1 --bootstrap 20 "
      "--output json");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("report without the bootstrap"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("with the block bootstrap (20 replicates)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("baseline"), std::string::npos) << r.out;
  const size_t start = r.out.rfind("\n{\"") == std::string::npos ? 0 : r.out.rfind("\n{\"") + 1;
  ASSERT_EQ(r.out.compare(start, 2, "{\""), 0) << r.out;
  auto j = nlohmann::json::parse(r.out.substr(start, r.out.find('\n', start) - start));
  EXPECT_EQ(j["events"], 200000);
  EXPECT_GT(j["seconds"].get<double>(), 0.0);
  EXPECT_GT(j["bootstrap_seconds"].get<double>(), 0.0);
  // The phases of the measures, each timed separately.
  EXPECT_GT(j["phases"]["counts_seconds"].get<double>(), 0.0) << j.dump();
  EXPECT_TRUE(j["phases"]["sources_seconds"].is_number()) << j.dump();
  EXPECT_TRUE(j["phases"]["synthetic_controls_seconds"].is_number()) << j.dump();
  EXPECT_NE(r.out.find("phases of the measures"), std::string::npos) << r.out;
}

TEST(BenchAnalysisCliTest, BadUsageExitsTwo) {
  Result r = RunCli("bench analysis --events 100 --top-k 40");
  EXPECT_EQ(r.code, 2) << r.out;
}

TEST(ReportCliTest, ServiceDownIsAClearError) {
  // Port 1 on loopback: nothing listens there.
  ::monoroute::testing::TempDir out("report_cli");
  Result r = RunCli("report some-run --out " + out.path() + " --analysis 127.0.0.1:1");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("analysis service at 127.0.0.1:1 is not reachable"), std::string::npos)
      << r.out;
}

TEST(ReportCliTest, MissingArgumentsAreUsageErrors) {
  EXPECT_EQ(RunCli("report").code, 2);
  ::monoroute::testing::TempDir out("report_cli");
  EXPECT_EQ(RunCli("report r --out " + out.path() + " --output xml --analysis 127.0.0.1:1").code,
            2);
}

}  // namespace
