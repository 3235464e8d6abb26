// Tests of the warmup + cosine schedule.
#include "common/engine/lr_schedule.h"

#include <gtest/gtest.h>

#include <cmath>

namespace monoroute::engine {
namespace {

TEST(LrScheduleTest, WarmupThenCosineToFloor) {
  LrScheduleOptions o{1.0, 4, 14, 0.1};
  EXPECT_DOUBLE_EQ(WarmupCosineLr(o, 0), 0.25);
  EXPECT_DOUBLE_EQ(WarmupCosineLr(o, 3), 1.0);
  EXPECT_DOUBLE_EQ(WarmupCosineLr(o, 4), 1.0);  // cosine starts at the peak
  EXPECT_NEAR(WarmupCosineLr(o, 8), 0.1 + 0.9 * 0.5 * (1 + std::cos(M_PI * 4 / 9)), 1e-12);
  EXPECT_DOUBLE_EQ(WarmupCosineLr(o, 13), 0.1);  // last step at the floor
  EXPECT_DOUBLE_EQ(WarmupCosineLr(o, 100), 0.1);
  for (int64_t s = 4; s < 13; ++s) EXPECT_GT(WarmupCosineLr(o, s), WarmupCosineLr(o, s + 1));
}

TEST(LrScheduleTest, NoWarmupAndSingleStep) {
  EXPECT_DOUBLE_EQ(WarmupCosineLr({2.0, 0, 10, 0.0}, 0), 2.0);
  EXPECT_DOUBLE_EQ(WarmupCosineLr({2.0, 0, 10, 0.0}, 9), 0.0);
  EXPECT_DOUBLE_EQ(WarmupCosineLr({2.0, 0, 1, 0.0}, 0), 2.0);
}

}  // namespace
}  // namespace monoroute::engine
