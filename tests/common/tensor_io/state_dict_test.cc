// Tests of LoadStateDict / FindWeightsFile: format selection by directory contents.
#include "common/tensor_io/state_dict.h"

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "common/tensor_io/safetensors.h"
#include "tests/common/tensor_io/test_util.h"

namespace monoroute {
namespace {

using ::monoroute::testing::FixtureDir;
using ::monoroute::testing::TempDir;
using ::testing::EndsWith;
using ::testing::HasSubstr;

TEST(LoadStateDictTest, DirectoryWithSafetensors) {
  auto w = FindWeightsFile(FixtureDir("gptneo_tiny"));
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_THAT(*w, EndsWith("/model.safetensors"));
  auto sd = LoadStateDict(FixtureDir("gptneo_tiny"));
  ASSERT_TRUE(sd.ok()) << sd.status();
  EXPECT_EQ(sd->count("lm_head.weight"), 0u);
  EXPECT_TRUE(CheckShape(*sd, "transformer.wte.weight", {1000, 64}).ok());
}

TEST(LoadStateDictTest, DirectoryWithOnlyBin) {
  auto sd = LoadStateDict(FixtureDir("gptneo_tiny_bin"));
  ASSERT_TRUE(sd.ok()) << sd.status();
  EXPECT_TRUE(SharesMemory(sd->at("lm_head.weight"), sd->at("transformer.wte.weight")));
}

TEST(LoadStateDictTest, PrefersSafetensorsAndAcceptsFiles) {
  TempDir tmp;
  namespace fs = std::filesystem;
  fs::copy_file(FixtureDir("gptneo_tiny_bin") + "/pytorch_model.bin", tmp.Sub("pytorch_model.bin"));
  ASSERT_TRUE(WriteSafetensors(tmp.Sub("model.safetensors"), {{"only", at::ones({1})}}).ok());
  auto sd = LoadStateDict(tmp.path());
  ASSERT_TRUE(sd.ok()) << sd.status();
  EXPECT_EQ(sd->size(), 1u);
  auto bin = LoadStateDict(tmp.Sub("pytorch_model.bin"));
  ASSERT_TRUE(bin.ok()) << bin.status();
  EXPECT_GT(bin->size(), 50u);
}

TEST(LoadStateDictTest, EmptyOrMissingIsNotFound) {
  TempDir tmp;
  auto r = LoadStateDict(tmp.path());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(r.status().message(), HasSubstr(tmp.path()));
  EXPECT_EQ(LoadStateDict(tmp.Sub("nope")).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace monoroute
