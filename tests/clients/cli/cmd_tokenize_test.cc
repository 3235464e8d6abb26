// `monoroute tokenize --model DIR` uses the model directory's own tokenizer: tokenizer.json (the
// GPT-NeoX-style fixture, ids from HF tokenizers) before vocab.json + merges.txt.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "tests/clients/cli_test_util.h"
#include "tests/testing/temp_files.h"

namespace monoroute {
namespace {

using ::monoroute::testing::RunCli;

const std::string kHf = MONOROUTE_SOURCE_DIR "/tests/fixtures/tokenizer/hf";

TEST(CmdTokenizeTest, ModelDirTokenizerJsonMatchesHf) {
  nlohmann::json cases = nlohmann::json::parse(testing::ReadText(kHf + "/hf_cases.json"));
  const nlohmann::json& c = cases["tokenizers"]["neox"]["cases"][0];
  testing::TempDir dir("cmd_tokenize");
  testing::WriteText(dir.Sub("text.txt"), c["text"].get<std::string>());
  auto r = RunCli("tokenize --model " + kHf + "/neox --output json < " + dir.Sub("text.txt"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["ids"], c["ids"]);
  // The same text with the default GPT-2 files differs (ids shifted by 2 in the NeoX layout).
  auto gpt2 = RunCli("tokenize --output json < " + dir.Sub("text.txt"));
  ASSERT_EQ(gpt2.code, 0) << gpt2.err;
  EXPECT_NE(nlohmann::json::parse(gpt2.out)["ids"], c["ids"]);
  // A directory without a tokenizer fails naming it.
  auto none = RunCli("tokenize --model " + dir.path() + " < /dev/null");
  EXPECT_EQ(none.code, 1);
  EXPECT_THAT(none.err, ::testing::HasSubstr(dir.path()));
}

}  // namespace
}  // namespace monoroute
