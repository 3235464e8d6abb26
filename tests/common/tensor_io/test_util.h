// Helpers shared by the tensor_io tests: fixture dir, bit equality (the temp dir and file helpers:
// tests/testing/temp_files.h).
#ifndef MONOROUTE_TESTS_COMMON_TENSOR_IO_TEST_UTIL_H_
#define MONOROUTE_TESTS_COMMON_TENSOR_IO_TEST_UTIL_H_

#include <ATen/ATen.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/testing/temp_files.h"

namespace monoroute::testing {

// Directory of the committed fixtures.
inline std::string FixtureDir(const std::string& name) {
  return std::string(MONOROUTE_SOURCE_DIR) + "/tests/fixtures/" + name;
}

// Same dtype, shape and bytes.
inline bool BitEqual(const at::Tensor& a, const at::Tensor& b) {
  if (a.scalar_type() != b.scalar_type() || a.sizes() != b.sizes()) return false;
  at::Tensor ca = a.contiguous(), cb = b.contiguous();
  return std::memcmp(ca.data_ptr(), cb.data_ptr(), ca.numel() * ca.element_size()) == 0;
}

}  // namespace monoroute::testing

#endif  // MONOROUTE_TESTS_COMMON_TENSOR_IO_TEST_UTIL_H_
