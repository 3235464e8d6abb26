// Test support: a gtest fixture base for tests that run services as child processes in one work
// directory (their data dirs, logs/ and inputs), kept for inspection when the test failed.
// Header-only.
#ifndef MONOROUTE_TESTS_TESTING_WORK_DIR_TEST_H_
#define MONOROUTE_TESTS_TESTING_WORK_DIR_TEST_H_

#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "tests/testing/ports.h"
#include "tests/testing/temp_files.h"

namespace monoroute::testing {

// work_: a fresh temp dir (named <prefix>_XXXXXX) holding logs/; removed after a passing test,
// kept and named on stderr after a failing one. ports_: `ports` free ports on 127.0.0.1 picked by
// SetUp (for children that cannot take port 0). A subclass's SetUp calls WorkDirTest::SetUp().
class WorkDirTest : public ::testing::Test {
 protected:
  explicit WorkDirTest(const std::string& prefix, int ports = 0)
      : dir_(prefix), ports_wanted_(ports) {}
  void SetUp() override {
    std::filesystem::create_directories(work_ + "/logs");
    absl::StatusOr<std::vector<int>> ports = PickFreePorts(ports_wanted_);
    ASSERT_TRUE(ports.ok()) << ports.status();
    ports_ = *ports;
  }
  void TearDown() override {
    if (HasFailure()) {
      dir_.Keep();
      std::cerr << "work dir kept: " << work_ << "\n";
    }
  }

  TempDir dir_;
  const std::string work_ = dir_.path();
  const int ports_wanted_;
  std::vector<int> ports_;
};

}  // namespace monoroute::testing

#endif  // MONOROUTE_TESTS_TESTING_WORK_DIR_TEST_H_
