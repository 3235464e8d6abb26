// The `forward` CLI contract (clients/cli/cmd_forward.cc) through the model-only CLI binary:
// outputs match the HF fixture; bad usage exits 2, bad input exits 1 with a one-line message.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "common/tensor_io/safetensors.h"
#include "tests/common/model/test_util.h"

namespace monoroute::model {
namespace {

using testing::FixtureDir;
using testing::MaxAbsDiff;

// Runs the CLI with `args`: its exit code and output (stdout and stderr).
testing::CommandResult Cli(const std::string& args) {
  return testing::RunCommand(std::string(MONOROUTE_TEST_CLI) + " " + args);
}

// Its exit code only.
int RunCli(const std::string& args) { return Cli(args).code; }

// The last non-empty line of `text`.
std::string LastLine(const std::string& text) {
  std::istringstream in(text);
  std::string line, last;
  while (std::getline(in, line)) {
    if (!line.empty()) last = line;
  }
  return last;
}

TEST(CmdForwardTest, WritesLogitsLossAndFinalNormMatchingTheFixture) {
  const std::string dir = FixtureDir("gptneo_tiny");
  if (dir.empty()) GTEST_SKIP() << "needs ../shared/fixtures/gptneo_tiny: absent";
  testing::TempDir dir_tmp("fwd");
  const std::string tmp = dir_tmp.path();
  auto expected = ReadSafetensors(dir + "/expected.safetensors");
  ASSERT_TRUE(expected.ok()) << expected.status();
  ASSERT_TRUE(
      WriteSafetensors(tmp + "/in.safetensors", {{"input_ids", expected->tensors.at("input_ids")}})
          .ok());
  ASSERT_EQ(RunCli("forward --model " + dir + " --input " + tmp + "/in.safetensors --output " +
                   tmp + "/out.safetensors"),
            0);
  auto out = ReadSafetensors(tmp + "/out.safetensors");
  ASSERT_TRUE(out.ok()) << out.status();
  const auto& o = out->tensors;
  const auto& e = expected->tensors;
  EXPECT_EQ(o.at("logits").sizes(), e.at("logits").sizes());
  EXPECT_EQ(o.at("logits").scalar_type(), torch::kFloat);
  EXPECT_LT(MaxAbsDiff(o.at("logits"), e.at("logits")), 1e-4);
  EXPECT_LT(MaxAbsDiff(o.at("final_norm"), e.at("final_norm")), 1e-4);
  EXPECT_EQ(o.at("loss").sizes(), (std::vector<int64_t>{1}));
  EXPECT_LT(MaxAbsDiff(o.at("loss"), e.at("loss")), 1e-5);

  // Bad input: no input_ids -> exit 1 naming the tensor.
  ASSERT_TRUE(WriteSafetensors(tmp + "/bad.safetensors", {{"ids", torch::zeros({1, 2})}}).ok());
  EXPECT_EQ(RunCli("forward --model " + dir + " --input " + tmp + "/bad.safetensors --output " +
                   tmp + "/o2.safetensors"),
            1);
  // Ids out of range -> exit 1.
  ASSERT_TRUE(WriteSafetensors(tmp + "/big.safetensors",
                               {{"input_ids", torch::full({1, 3}, 5000, torch::kLong)}})
                  .ok());
  EXPECT_EQ(RunCli("forward --model " + dir + " --input " + tmp + "/big.safetensors --output " +
                   tmp + "/o3.safetensors"),
            1);
  // Bad usage: missing required option / not a directory -> exit 2.
  EXPECT_EQ(RunCli("forward --model " + dir), 2);
  EXPECT_EQ(RunCli("forward --model " + tmp + "/nope --input a --output b"), 2);
}

TEST(CmdBenchTrainTest, PrintsJsonLastLine) {
  const testing::CommandResult r =
      Cli("bench train --batch 2 --seq 16 --steps 1 --warmup 0 --routed --threads 1 --json");
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string text = LastLine(r.out);
  EXPECT_THAT(text, ::testing::HasSubstr("\"tokens_per_s\""));
  EXPECT_THAT(text, ::testing::HasSubstr("\"routed\":true"));
  EXPECT_THAT(text, ::testing::HasSubstr("\"batch\":2"));
  EXPECT_EQ(RunCli("bench train --batch 0"), 2);
}

// --arch picks the family (Pythia-70M's shape, resized) and implies the phase profile against
// the measured peaks; a bad --arch or a --seq beyond the family's positions is a usage error.
TEST(CmdBenchTrainTest, ArchProfilesPhasesAgainstTheMeasuredPeak) {
  const testing::CommandResult r =
      Cli("bench train --arch gpt-neox --hidden 64 --layers 1 --batch 2 --seq 16 "
          "--steps 1 --warmup 0 --routed --threads 1 --json");
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string& all = r.out;
  const std::string last = LastLine(all);
  EXPECT_THAT(all, ::testing::HasSubstr("gpt_neox L=1 H=64 heads=1 I=256 V=50304"));
  for (const char* phase :
       {"forward", "backward (2 x forward)", "optimizer (adamw", "measured sgemm"}) {
    EXPECT_THAT(all, ::testing::HasSubstr(phase));
  }
  const nlohmann::json j = nlohmann::json::parse(last);
  EXPECT_EQ(j["arch"], "gpt-neox");
  EXPECT_EQ(j["layers"], 1);
  EXPECT_GT(j["sgemm_peak_gflops"].get<double>(), 0);
  EXPECT_GT(j["sgemm_gflops_per_cpu_s"].get<double>(), 0);
  EXPECT_GT(j["step_gflops"].get<double>(), 0);
  EXPECT_EQ(RunCli("bench train --arch gpt3"), 2);
  EXPECT_EQ(RunCli("bench train --arch gpt2 --seq 2000"), 2);
}

}  // namespace
}  // namespace monoroute::model
