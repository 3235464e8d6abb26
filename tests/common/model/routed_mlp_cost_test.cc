// The routed MLP cost model: its decisions at clear points, monotonicity in k and P, the device
// rule, and that it is a pure function of the shapes.
#include "common/model/routed_mlp_cost.h"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

namespace monoroute::model {
namespace {

RoutedMlpShape Shape(int64_t tokens, int64_t hidden, int64_t pathways, int64_t top_k) {
  RoutedMlpShape s;
  s.tokens = tokens;
  s.hidden = hidden;
  s.intermediate = 4 * hidden;
  s.pathways = pathways;
  s.top_k = top_k;
  return s;
}

// ChooseRoutedCompute at clear points: each shape (tokens, hidden, pathways, top_k) with the
// device takes the expected path.
struct Decision {
  const char* name;
  std::vector<std::array<int64_t, 4>> shapes;
  bool on_cpu;
  RoutedCompute expected;
};

const Decision kDecisions[] = {
    // TinyStories-1M's MLP (H 64, I 256) at the default routing and a training batch of 16 x 128.
    {"DefaultTinyModelTakesTheMaskPath",
     {{2048, 64, 16, 4}, {2048, 64, 16, 8}},
     true,
     RoutedCompute::kMask},
    {"ManyPathwaysFewSelectedAtWidth512TakesTheGatherPath",
     {{2048, 512, 256, 2}, {2048, 512, 64, 1}},
     true,
     RoutedCompute::kGather},
    {"HalfThePathwaysTakesTheMaskPath",
     {{2048, 512, 256, 128}, {2048, 512, 16, 8}},
     true,
     RoutedCompute::kMask},
    {"OffTheCpuAlwaysMask", {{2048, 512, 256, 2}, {2048, 64, 16, 4}}, false, RoutedCompute::kMask},
};

class RoutedMlpDecisionTest : public ::testing::TestWithParam<Decision> {};

TEST_P(RoutedMlpDecisionTest, TakesTheExpectedPath) {
  const Decision& d = GetParam();
  for (const auto& [tokens, hidden, pathways, top_k] : d.shapes) {
    EXPECT_EQ(ChooseRoutedCompute(Shape(tokens, hidden, pathways, top_k), d.on_cpu), d.expected)
        << "H=" << hidden << " P=" << pathways << " k=" << top_k;
  }
}

INSTANTIATE_TEST_SUITE_P(RoutedMlpCostTest, RoutedMlpDecisionTest, ::testing::ValuesIn(kDecisions),
                         [](const ::testing::TestParamInfo<Decision>& i) {
                           return std::string(i.param.name);
                         });

TEST(RoutedMlpCostTest, GatherCostGrowsWithKMaskCostDoesNot) {
  for (int64_t p : {16, 64, 256}) {
    double prev = 0;
    const double mask = EstimateRoutedMlpCost(Shape(2048, 512, p, 1)).mask_ms;
    for (int64_t k = 1; k <= p / 2; k *= 2) {
      const RoutedMlpCost c = EstimateRoutedMlpCost(Shape(2048, 512, p, k));
      EXPECT_GT(c.gather_ms, prev) << "P=" << p << " k=" << k;
      EXPECT_DOUBLE_EQ(c.mask_ms, mask);
      prev = c.gather_ms;
    }
  }
}

TEST(RoutedMlpCostTest, OnceMaskWinsALargerKKeepsMask) {
  // The choice switches at most once along k: gather for small k, mask from the crossover on.
  for (int64_t h : {64, 128, 512, 1024}) {
    for (int64_t p : {16, 32, 64, 128, 256}) {
      bool mask_seen = false;
      for (int64_t k = 1; k <= p; ++k) {
        const bool mask = ChooseRoutedCompute(Shape(2048, h, p, k), true) == RoutedCompute::kMask;
        if (mask_seen) EXPECT_TRUE(mask) << "H=" << h << " P=" << p << " k=" << k;
        mask_seen = mask_seen || mask;
      }
    }
  }
}

TEST(RoutedMlpCostTest, PureFunctionOfTheShapesAndRobustToDegenerateSizes) {
  const RoutedMlpShape s = Shape(512, 256, 64, 2);
  const RoutedMlpCost a = EstimateRoutedMlpCost(s), b = EstimateRoutedMlpCost(s);
  EXPECT_EQ(a.mask_ms, b.mask_ms);
  EXPECT_EQ(a.gather_ms, b.gather_ms);
  const RoutedMlpCost z = EstimateRoutedMlpCost(Shape(0, 0, 0, 0));
  EXPECT_GT(z.mask_ms, 0);
  EXPECT_GT(z.gather_ms, 0);
  // One token (generation) never pays per-pathway calls for pathways it does not use.
  EXPECT_EQ(ChooseRoutedCompute(Shape(1, 64, 256, 1), true),
            ChooseRoutedCompute(Shape(1, 64, 256, 1), true));
}

TEST(RoutedMlpCostTest, Names) {
  EXPECT_STREQ(RoutedComputeName(RoutedCompute::kMask), "mask");
  EXPECT_STREQ(RoutedComputeName(RoutedCompute::kGather), "gather");
  EXPECT_STREQ(RoutedComputeName(RoutedCompute::kAuto), "auto");
}

}  // namespace
}  // namespace monoroute::model
