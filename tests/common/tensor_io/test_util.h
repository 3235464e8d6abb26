// Helpers shared by the tensor_io tests (the temp dir and file helpers:
// tests/testing/temp_files.h).
#ifndef MONOROUTE_TESTS_COMMON_TENSOR_IO_TEST_UTIL_H_
#define MONOROUTE_TESTS_COMMON_TENSOR_IO_TEST_UTIL_H_

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/testing/temp_files.h"

namespace monoroute::testing {

// Directory of the committed fixtures.
inline std::string FixtureDir(const std::string& name) {
  return std::string(MONOROUTE_SOURCE_DIR) + "/tests/fixtures/" + name;
}

}  // namespace monoroute::testing

#endif  // MONOROUTE_TESTS_COMMON_TENSOR_IO_TEST_UTIL_H_
