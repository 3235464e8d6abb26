// Tests of the supervised child processes (/bin/sh scripts as children): report lines on fd 3,
// exit codes and signal names, the stop sequence (SIGTERM handled, SIGTERM ignored -> SIGKILL),
// the whole process group killed, RLIMIT_DATA applied, log tail, environment.
#include "common/base/subprocess.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/testing/temp_files.h"

namespace monoroute {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class SubprocessTest : public ::testing::Test {
 protected:
  SubprocessOptions Sh(const std::string& script) {
    SubprocessOptions o;
    o.argv = {"/bin/sh", "-c", script};
    o.log_path = dir_ + "/log";
    o.report_pipe = true;
    return o;
  }

  // Reads report lines until EOF.
  static std::vector<std::string> AllLines(Subprocess* p) {
    std::vector<std::string> lines;
    bool eof = false;
    while (!eof) p->ReadLines(std::chrono::milliseconds(1000), &lines, &eof);
    return lines;
  }

  testing::TempDir tmp_{"subprocess"};
  std::string dir_ = tmp_.path();
};

TEST_F(SubprocessTest, ReportsLinesAndExitCode) {
  auto p = Subprocess::Start(Sh("echo one >&3; printf 'two\\nthree\\n' >&3; echo to-log; exit 3"));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_THAT(AllLines(p->get()), ElementsAre("one", "two", "three"));
  ExitInfo e = (*p)->Wait();
  EXPECT_FALSE(e.signaled);
  EXPECT_EQ(e.code, 3);
  EXPECT_EQ(e.Describe(), "exit code 3");
  EXPECT_EQ(TailLines(dir_ + "/log"), "to-log");
}

TEST_F(SubprocessTest, SignalsAreNamed) {
  auto p = Subprocess::Start(Sh("kill -SEGV $$"));
  ASSERT_TRUE(p.ok()) << p.status();
  ExitInfo e = (*p)->Wait();
  EXPECT_TRUE(e.signaled);
  EXPECT_EQ(e.Describe(), "killed by SIGSEGV");
  EXPECT_EQ(SignalName(SIGKILL), "SIGKILL");
}

TEST_F(SubprocessTest, TerminateLetsAHandlerFinishThenKillsAnIgnorer) {
  // Handles SIGTERM: writes a line and exits 0 within the grace period.
  auto polite = Subprocess::Start(
      Sh("trap 'echo stopping >&3; exit 0' TERM; echo ready >&3; while :; do sleep 0.05; done"));
  ASSERT_TRUE(polite.ok());
  std::vector<std::string> lines;
  bool eof = false;
  while (lines.empty()) (*polite)->ReadLines(std::chrono::milliseconds(1000), &lines, &eof);
  EXPECT_EQ(lines[0], "ready");
  ExitInfo e = (*polite)->Terminate(std::chrono::seconds(20));
  EXPECT_TRUE(e.ok()) << e.Describe();

  // Ignores SIGTERM: SIGKILL after the grace period.
  auto stubborn =
      Subprocess::Start(Sh("trap '' TERM; echo ready >&3; while :; do sleep 0.05; done"));
  ASSERT_TRUE(stubborn.ok());
  lines.clear();
  while (lines.empty()) (*stubborn)->ReadLines(std::chrono::milliseconds(1000), &lines, &eof);
  e = (*stubborn)->Terminate(std::chrono::milliseconds(300));
  EXPECT_TRUE(e.signaled);
  EXPECT_EQ(e.signal, SIGKILL);
}

TEST_F(SubprocessTest, TheWholeProcessGroupIsKilled) {
  // The child starts a grandchild that ignores SIGTERM and reports its pid.
  auto p =
      Subprocess::Start(Sh("(trap '' TERM; while :; do sleep 0.05; done) & echo $! >&3; wait"));
  ASSERT_TRUE(p.ok());
  std::vector<std::string> lines;
  bool eof = false;
  while (lines.empty()) (*p)->ReadLines(std::chrono::milliseconds(1000), &lines, &eof);
  const pid_t grandchild = std::stoi(lines[0]);
  ASSERT_EQ(::kill(grandchild, 0), 0);
  (*p)->Terminate(std::chrono::milliseconds(300));
  // The group got SIGKILL; the grandchild (reparented) disappears once reaped by init.
  bool gone = false;
  for (int i = 0; i < 500 && !gone; ++i) {
    std::ifstream stat("/proc/" + std::to_string(grandchild) + "/stat");
    std::string content((std::istreambuf_iterator<char>(stat)), {});
    // Gone, or a zombie waiting for init.
    gone = content.empty() || content.find(") Z ") != std::string::npos;
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(gone);
}

TEST_F(SubprocessTest, MemoryLimitAndEnvironmentReachTheChild) {
  SubprocessOptions o = Sh("ulimit -d >&3; echo \"$MR_TEST_VALUE\" >&3");
  o.memory_limit_bytes = int64_t{256} << 20;
  o.env = {"MR_TEST_VALUE=hello"};
  auto p = Subprocess::Start(o);
  ASSERT_TRUE(p.ok());
  EXPECT_THAT(AllLines(p->get()), ElementsAre("262144", "hello"));  // ulimit -d is in KiB
  EXPECT_TRUE((*p)->Wait().ok());
}

TEST_F(SubprocessTest, OverlongLinesAreDroppedAndAMissingBinaryIsExit127) {
  SubprocessOptions o = Sh("head -c 5000 /dev/zero | tr '\\0' x >&3; echo >&3; echo ok >&3");
  o.max_line_bytes = 1000;
  auto p = Subprocess::Start(o);
  ASSERT_TRUE(p.ok());
  EXPECT_THAT(AllLines(p->get()), ElementsAre("ok"));
  EXPECT_EQ((*p)->dropped_lines(), 1u);

  SubprocessOptions m;
  m.argv = {dir_ + "/no-such-binary"};
  m.log_path = dir_ + "/log2";
  auto q = Subprocess::Start(m);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ((*q)->Wait().code, 127);
  EXPECT_THAT(TailLines(dir_ + "/log2"), HasSubstr("no-such-binary"));
}

TEST_F(SubprocessTest, CapturesOutputLinesAndSearchesPath) {
  SubprocessOptions o;
  o.argv = {"sh", "-c", "echo out; echo err >&2; printf tail"};
  o.search_path = true;  // "sh" found in PATH
  o.capture_output = true;
  auto p = Subprocess::Start(o);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_GE((*p)->output_fd(), 0);
  std::vector<std::string> lines;
  bool eof = false;
  while (!eof) (*p)->ReadOutputLines(std::chrono::milliseconds(1000), &lines, &eof);
  // stdout and stderr in one stream; the unterminated last line is kept.
  EXPECT_THAT(lines, ElementsAre("out", "err", "tail"));
  EXPECT_TRUE((*p)->Wait().ok());
  EXPECT_EQ((*p)->output_fd(), -1);
  // Without search_path a bare name is not looked up: exec fails with 127.
  o.search_path = false;
  auto q = Subprocess::Start(o);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ((*q)->Wait().code, 127);
}

}  // namespace
}  // namespace monoroute
