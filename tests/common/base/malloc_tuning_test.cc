// KeepFreedMemory (common/base/malloc_tuning.h): with it, a large block comes from the heap
// instead of a fresh mapping, and freed heap memory stays for the next block; bad sizes are
// refused naming the limit. The settings are process-wide, so the test that changes them runs in
// a child (EXPECT_EXIT) and leaves this process's allocator as it was.
#include "common/base/malloc_tuning.h"

#include <gtest/gtest.h>
#include <malloc.h>

#include <cstdlib>
#include <cstring>

#include "tests/testing/status_matchers.h"

namespace monoroute {
namespace {

// Mapped blocks now (glibc's count of blocks served by mmap).
size_t MappedBlocks() { return mallinfo2().hblks; }

// Allocates, touches and frees a block of `bytes`; returns how many mapped blocks it added.
size_t MappingsFor(size_t bytes) {
  const size_t before = MappedBlocks();
  char* p = static_cast<char*>(std::malloc(bytes));
  std::memset(p, 1, bytes);
  asm volatile("" : : "r"(p) : "memory");  // keeps the block (the compiler may elide it)
  const size_t during = MappedBlocks();
  std::free(p);
  return during - before;
}

TEST(MallocTuningTest, ZeroLeavesTheDefaultsAndLargeBlocksAreMapped) {
  ASSERT_TRUE(KeepFreedMemory(0).ok());
  EXPECT_EQ(MappingsFor(size_t{64} << 20), 1u);  // above glibc's largest dynamic threshold
}

TEST(MallocTuningTest, KeptMemoryServesLargeBlocksFromTheHeap) {
  EXPECT_EXIT(
      {
        if (!KeepFreedMemory(size_t{256} << 20).ok()) std::exit(2);
        // 4 MiB and 24 MiB blocks: from the heap now; freed and taken again, still no mapping.
        for (size_t mib : {4, 24, 4, 24}) {
          if (MappingsFor(mib << 20) != 0) std::exit(3);
        }
        if (MappingsFor(size_t{64} << 20) != 1) std::exit(4);  // above 32 MiB: still mapped
        std::exit(0);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(MallocTuningTest, RefusesSizesAboveTheLimitNamingIt) {
  EXPECT_THAT(
      KeepFreedMemory(kMaxKeepFreedBytes + 1),
      testing::StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr("keep_bytes")));
}

}  // namespace
}  // namespace monoroute
