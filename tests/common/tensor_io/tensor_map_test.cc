// Tests of CheckShape, SharesMemory and DropSharedDuplicates.
#include "common/tensor_io/tensor_map.h"

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace monoroute {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(CheckShapeTest, AcceptsExactShape) {
  TensorMap m{{"w", at::zeros({3, 4})}};
  EXPECT_TRUE(CheckShape(m, "w", {3, 4}).ok());
}

TEST(CheckShapeTest, WrongShapeNamesTensorAndBothShapes) {
  TensorMap m{{"transformer.wte.weight", at::zeros({1000, 32})}};
  absl::Status s = CheckShape(m, "transformer.wte.weight", {1000, 64});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("'transformer.wte.weight'"));
  EXPECT_THAT(s.message(), HasSubstr("[1000, 32]"));
  EXPECT_THAT(s.message(), HasSubstr("[1000, 64]"));
}

TEST(CheckShapeTest, WrongRankAndMissing) {
  TensorMap m{{"b", at::zeros({4})}};
  EXPECT_EQ(CheckShape(m, "b", {4, 1}).code(), absl::StatusCode::kInvalidArgument);
  absl::Status s = CheckShape(m, "nope", {4});
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(s.message(), HasSubstr("'nope'"));
}

TEST(SharesMemoryTest, ViewsOverlapOrNot) {
  at::Tensor base = at::arange(12, at::kFloat);
  EXPECT_TRUE(SharesMemory(base, base.view({3, 4}).t()));
  EXPECT_TRUE(SharesMemory(base.slice(0, 0, 6), base.slice(0, 5, 12)));
  EXPECT_FALSE(SharesMemory(base.slice(0, 0, 6), base.slice(0, 6, 12)));  // disjoint halves
  EXPECT_FALSE(SharesMemory(base, base.clone()));
  EXPECT_FALSE(SharesMemory(base, at::Tensor()));
}

TEST(DropSharedDuplicatesTest, KeepsWteDropsTiedLmHead) {
  at::Tensor wte = at::randn({10, 4});
  TensorMap m{{"lm_head.weight", wte}, {"transformer.wte.weight", wte}, {"x", at::ones({2})}};
  EXPECT_THAT(DropSharedDuplicates(m), ElementsAre("lm_head.weight"));
  EXPECT_EQ(m.size(), 2u);
  EXPECT_TRUE(m.count("transformer.wte.weight"));
}

TEST(DropSharedDuplicatesTest, WithoutPreferenceKeepsFirstName) {
  at::Tensor t = at::randn({6});
  TensorMap m{{"b", t}, {"a", t.view({2, 3})}, {"c", at::zeros({1})}};
  EXPECT_THAT(DropSharedDuplicates(m, {}), ElementsAre("b"));
  EXPECT_TRUE(m.count("a"));
  EXPECT_TRUE(m.count("c"));
}

}  // namespace
}  // namespace monoroute
