// scripts/demo.sh's argument handling without running the demo: --help builds nothing and names
// --explore; --dry-run prints the bootstrap, build and `monoroute demo` commands with every other
// argument passed through (quoted); `monoroute demo --help` offers --explore and --arch; a bad
// --arch (or --arch with --model) is a usage error before anything starts.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <optional>
#include <string>

#include "tests/testing/command.h"

namespace monoroute {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::string kScript = std::string(MONOROUTE_SOURCE_DIR) + "/scripts/demo.sh";
const std::string kCli = std::string(MONOROUTE_BIN_DIR) + "/monoroute";

// `monoroute <args>` of the build tree, stdout and stderr together; nullopt when it is not built.
std::optional<testing::CommandResult> RunCli(const std::string& args) {
  if (::access(kCli.c_str(), X_OK) != 0) return std::nullopt;
  return testing::RunCommand("'" + kCli + "' " + args);
}

TEST(DemoScriptTest, HelpPrintsUsageAndBuildsNothing) {
  testing::CommandResult r = testing::RunCommand("'" + kScript + "' --help");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("--explore"));
  EXPECT_THAT(r.out, HasSubstr("--dry-run"));
  EXPECT_THAT(r.out, HasSubstr("until Ctrl-C"));
  EXPECT_THAT(r.out, Not(HasSubstr("-- Configuring")));  // cmake did not run
}

TEST(DemoScriptTest, DryRunPrintsTheCommandsAndPassesArgumentsThrough) {
  testing::CommandResult r =
      testing::RunCommand("MONOROUTE_BUILD_DIR=/nonexistent/b MONOROUTE_JOBS=3 '" + kScript +
                          "' --dry-run --explore --out 'my out' --finetune-steps 5");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("scripts/bootstrap.sh"));
  EXPECT_THAT(r.out, HasSubstr("cmake -S . -B /nonexistent/b -G Ninja"));
  EXPECT_THAT(r.out, HasSubstr("cmake --build /nonexistent/b -j3 --target monoroute "
                               "monoroute-recorder monoroute-analysis monoroute-trainer"));
  EXPECT_THAT(r.out, HasSubstr("/nonexistent/b/bin/monoroute demo --explore --out my\\ out "
                               "--finetune-steps 5"));
  EXPECT_THAT(r.out, Not(HasSubstr("--dry-run")));  // the script's own flag is not forwarded
}

TEST(DemoScriptTest, DryRunWithoutArgumentsRunsThePlainDemo) {
  testing::CommandResult r =
      testing::RunCommand("MONOROUTE_BUILD_DIR=/nonexistent/b '" + kScript + "' --dry-run");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("/nonexistent/b/bin/monoroute demo \n"));
}

TEST(DemoScriptTest, MonorouteDemoOffersExplore) {
  std::optional<testing::CommandResult> r = RunCli("demo --help");
  ASSERT_TRUE(r) << "needs " << kCli << " (build monoroute: the test target depends on it)";
  ASSERT_EQ(r->code, 0) << r->out;
  EXPECT_THAT(r->out, HasSubstr("--explore"));
  EXPECT_THAT(r->out, HasSubstr("--arch"));
}

TEST(DemoScriptTest, MonorouteDemoArchIsCheckedBeforeAnythingStarts) {
  std::optional<testing::CommandResult> r = RunCli("demo --arch pythia");
  ASSERT_TRUE(r) << "needs " << kCli << " (build monoroute: the test target depends on it)";
  EXPECT_EQ(r->code, 2) << r->out;
  EXPECT_THAT(r->out, HasSubstr("--arch: 'pythia' is not gpt-neo, gpt-neox or gpt2"));
  EXPECT_THAT(r->out, Not(HasSubstr("work dir")));
  r = RunCli("demo --arch gpt2 --model /m --data /d");
  EXPECT_EQ(r->code, 2) << r->out;
  EXPECT_THAT(r->out, HasSubstr("--model brings its own architecture"));
}

}  // namespace
}  // namespace monoroute
