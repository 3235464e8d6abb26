// Tests of ConvertToSafetensors and the `monoroute convert` subcommand's contract.
#include "common/tensor_io/convert.h"

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "common/tensor_io/safetensors.h"
#include "common/tensor_io/torch_pickle.h"
#include "tests/common/tensor_io/test_util.h"
#include "tests/testing/command.h"

namespace monoroute {
namespace {

using ::monoroute::testing::FixtureDir;
using ::monoroute::testing::ReadText;
using ::monoroute::testing::TempDir;
using ::monoroute::testing::WriteText;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

// A temp model dir holding a copy of the .bin fixture.
void CopyBin(const TempDir& tmp) {
  fs::copy_file(FixtureDir("gptneo_tiny_bin") + "/pytorch_model.bin", tmp.Sub("pytorch_model.bin"));
}

TEST(ConvertTest, WritesWhatSavePretrainedWritesByteForByte) {
  TempDir tmp;
  CopyBin(tmp);
  auto r = ConvertToSafetensors({.model_dir = tmp.path()});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->output, tmp.Sub("model.safetensors"));
  EXPECT_EQ(r->tensors_read, 57u);
  EXPECT_EQ(r->tensors_written, 56u);
  EXPECT_THAT(r->dropped, ElementsAre("lm_head.weight"));
  // Hugging Face's save_pretrained wrote the fixture from the same weights: identical bytes.
  EXPECT_EQ(ReadText(r->output), ReadText(FixtureDir("gptneo_tiny") + "/model.safetensors"));
}

TEST(ConvertTest, RefusesToOverwriteUnlessAsked) {
  TempDir tmp;
  CopyBin(tmp);
  WriteText(tmp.Sub("model.safetensors"), "old");
  auto r = ConvertToSafetensors({.model_dir = tmp.path()});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ReadText(tmp.Sub("model.safetensors")), "old");
  r = ConvertToSafetensors({.model_dir = tmp.path(), .overwrite = true});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(ReadSafetensors(tmp.Sub("model.safetensors")).ok());
}

TEST(ConvertTest, MissingInputIsNotFoundAndWritesNothing) {
  TempDir tmp;
  auto r = ConvertToSafetensors({.model_dir = tmp.path()});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(r.status().message(), HasSubstr("pytorch_model.bin"));
  EXPECT_FALSE(fs::exists(tmp.Sub("model.safetensors")));
}

// Runs the convert-only build of the `monoroute` tool; returns the exit code, fills `out`
// (stdout and stderr).
int RunCli(const std::string& args, std::string* out) {
  const ::monoroute::testing::CommandResult r =
      ::monoroute::testing::RunCommand(std::string(MONOROUTE_CONVERT_CLI) + " " + args);
  *out = r.out;
  return r.code;
}

TEST(ConvertCliTest, ExitCodesAndMessages) {
  TempDir tmp;
  std::string out;
  EXPECT_EQ(RunCli("convert --help", &out), 0);
  EXPECT_THAT(out, HasSubstr("--model"));
  EXPECT_EQ(RunCli("convert", &out), 2);  // --model is required
  EXPECT_EQ(RunCli("convert --model " + tmp.Sub("nope"), &out), 2);
  EXPECT_THAT(out, HasSubstr("not a directory"));
  EXPECT_EQ(RunCli("convert --model " + tmp.path(), &out), 1);  // no pytorch_model.bin
  EXPECT_THAT(out, HasSubstr("pytorch_model.bin"));
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1);  // one-line message
  CopyBin(tmp);
  EXPECT_EQ(RunCli("convert --model " + tmp.path(), &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("56 of 57 tensors"));
  EXPECT_THAT(out, HasSubstr("lm_head.weight"));
  EXPECT_EQ(RunCli("convert --model " + tmp.path(), &out), 1);  // exists
  EXPECT_EQ(RunCli("convert --overwrite --model " + tmp.path(), &out), 0) << out;
  auto back = ReadSafetensors(tmp.Sub("model.safetensors"));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->tensors.size(), 56u);
}

}  // namespace
}  // namespace monoroute
