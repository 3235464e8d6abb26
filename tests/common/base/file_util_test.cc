// Tests for common/base/file_util: atomic write + read round trip, mmap, errors naming the path.
#include "common/base/file_util.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <string>

#include "tests/testing/temp_files.h"

namespace monoroute {
namespace {

TEST(FileUtilTest, WriteReadRoundTrip) {
  ::monoroute::testing::TempDir tmp("file_util");
  std::string path = tmp.Sub("a.bin");
  std::string data("hello\0world", 11);
  ASSERT_TRUE(WriteFileAtomic(path, data).ok());
  auto read = ReadFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, data);
  auto mapped = MappedFile::Open(path);
  ASSERT_TRUE(mapped.ok());
  EXPECT_EQ(std::string(mapped->data(), mapped->size()), data);
}

TEST(FileUtilTest, MissingFileIsNotFoundAndNamesPath) {
  auto read = ReadFile("/nonexistent/monoroute/x");
  EXPECT_EQ(read.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(read.status().message().find("/nonexistent/monoroute/x"), std::string::npos);
  auto mapped = MappedFile::Open("/nonexistent/monoroute/y");
  EXPECT_EQ(mapped.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace monoroute
