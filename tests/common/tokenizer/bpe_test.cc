// Tests of the BPE merge loop: known merges, and the heap and quadratic algorithms agree.
#include "common/tokenizer/bpe.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace monoroute {
namespace {

TEST(BpeMergesTest, MergesLowestRankLeftmostFirst) {
  // Symbols a=0 b=1 c=2; ab=3 (rank 0), bc=4 (rank 1), abc=5 from ab+c (rank 2).
  BpeMerges m;
  ASSERT_TRUE(m.Add(0, 1, 3, 0));
  ASSERT_TRUE(m.Add(1, 2, 4, 1));
  ASSERT_TRUE(m.Add(3, 2, 5, 2));
  EXPECT_FALSE(m.Add(0, 1, 3, 9));
  std::vector<int32_t> s = {0, 1, 2};
  m.Merge(&s);
  EXPECT_EQ(s, (std::vector<int32_t>{5}));
  s = {1, 2, 0, 1};
  m.Merge(&s);
  EXPECT_EQ(s, (std::vector<int32_t>{4, 3}));
  // "aaa" with aa: the leftmost pair merges first.
  BpeMerges m2;
  ASSERT_TRUE(m2.Add(0, 0, 7, 0));
  s = {0, 0, 0};
  m2.Merge(&s);
  EXPECT_EQ(s, (std::vector<int32_t>{7, 0}));
}

TEST(BpeMergesTest, HeapAndQuadraticAgreeOnRandomInputs) {
  // Random merge table over 4 base symbols, building up to 200 ids.
  uint64_t x = 12345;
  auto rnd = [&x]() {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  BpeMerges m;
  int32_t next_id = 4;
  for (int r = 0; r < 196; ++r) {
    int32_t a = static_cast<int32_t>(rnd() % next_id);
    int32_t b = static_cast<int32_t>(rnd() % next_id);
    if (m.Add(a, b, next_id, r)) ++next_id;
  }
  for (int trial = 0; trial < 300; ++trial) {
    std::vector<int32_t> s(1 + rnd() % 300);
    for (auto& v : s) v = static_cast<int32_t>(rnd() % 4);
    std::vector<int32_t> q = s, h = s;
    m.MergeQuadratic(&q);
    m.MergeHeap(&h);
    ASSERT_EQ(q, h) << "trial " << trial;
  }
}

}  // namespace
}  // namespace monoroute
