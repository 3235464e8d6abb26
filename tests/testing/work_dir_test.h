// Test support: a gtest fixture base for tests that run services as child processes in one work
// directory (their data dirs, logs/ and inputs), kept for inspection when the test failed.
// Header-only.
#ifndef MONOROUTE_TESTS_TESTING_WORK_DIR_TEST_H_
#define MONOROUTE_TESTS_TESTING_WORK_DIR_TEST_H_

#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>
#include <string>

#include "tests/testing/temp_files.h"

namespace monoroute::testing {

// work_: a fresh temp dir (named <prefix>_XXXXXX) holding logs/; removed after a passing test,
// kept and named on stderr after a failing one. A subclass's SetUp calls WorkDirTest::SetUp().
class WorkDirTest : public ::testing::Test {
 protected:
  explicit WorkDirTest(const std::string& prefix) : dir_(prefix) {}
  void SetUp() override { std::filesystem::create_directories(work_ + "/logs"); }
  void TearDown() override {
    if (HasFailure()) {
      dir_.Keep();
      std::cerr << "work dir kept: " << work_ << "\n";
    }
  }

  TempDir dir_;
  const std::string work_ = dir_.path();
};

}  // namespace monoroute::testing

#endif  // MONOROUTE_TESTS_TESTING_WORK_DIR_TEST_H_
