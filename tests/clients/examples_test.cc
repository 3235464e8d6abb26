// The example job specs (examples/jobs/*.yaml) run as written: each goes through the real
// `monoroute train --print-spec` (text and --output json) with its placeholder paths (everything
// under /data, examples/README.md) pointed at temporary files: corpora with a few stories, and a
// model directory holding TinyStories-1M's config.json, so the memory estimate is computed too.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "tests/clients/cli_test_util.h"
#include "tests/testing/temp_files.h"

namespace monoroute {
namespace {

namespace fs = std::filesystem;
using ::monoroute::testing::CommandResult;
using ::monoroute::testing::ReadText;
using ::monoroute::testing::RunCli;
using ::monoroute::testing::TempDir;
using ::monoroute::testing::WriteText;

const std::string kExamples = std::string(MONOROUTE_SOURCE_DIR) + "/examples";

// TinyStories-1M's config.json (the Hugging Face checkpoint's architecture fields).
constexpr char kTinyStories1MConfig[] = R"({
  "model_type": "gpt_neo", "architectures": ["GPTNeoForCausalLM"], "vocab_size": 50257,
  "hidden_size": 64, "num_layers": 8, "num_heads": 16, "intermediate_size": null,
  "max_position_embeddings": 2048, "window_size": 256,
  "attention_types": [[["global", "local"], 4]], "activation_function": "gelu_new",
  "layer_norm_epsilon": 1e-05, "initializer_range": 0.02, "bos_token_id": 50256,
  "eos_token_id": 50256, "tie_word_embeddings": true})";

std::set<std::string> Specs() {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(kExamples + "/jobs")) {
    if (e.path().extension() == ".yaml") out.insert(e.path().string());
  }
  return out;
}

TEST(ExamplesTest, TheExamplesExist) {
  const std::set<std::string> specs = Specs();
  for (const char* name : {"pretrain-tinystories-arch.yaml", "finetune-glbl-tinystories-1m.yaml",
                           "demo-pretrain.yaml", "demo-finetune.yaml"}) {
    EXPECT_EQ(specs.count(kExamples + "/jobs/" + name), 1u) << name;
  }
  const std::string readme = ReadText(kExamples + "/README.md");
  for (const std::string& s : specs) {
    EXPECT_NE(readme.find(fs::path(s).filename().string()), std::string::npos) << s;
  }
}

TEST(ExamplesTest, EverySpecPrintsWithItsPlaceholdersFilledIn) {
  for (const std::string& spec : Specs()) {
    SCOPED_TRACE(spec);
    TempDir tmp("monoroute_examples");
    const std::string root = tmp.path() + "/data";
    const std::string text = ReadText(spec);
    // Every path is a placeholder under /data (the trainer's --allowed-root in compose / k8s).
    const std::regex path_re("(?:_path|_dir|model_dir|output_dir): *\"?(/[^\" \\n,}]+)");
    int paths = 0;
    for (std::sregex_iterator it(text.begin(), text.end(), path_re), end; it != end; ++it) {
      const std::string p = (*it)[1].str();
      EXPECT_EQ(p.rfind("/data/", 0), 0u) << p;
      ++paths;
      const std::string local = root + p.substr(5);
      const std::string key = (*it)[0].str();
      if (key.rfind("model_dir", 0) == 0) {
        fs::create_directories(local);
        WriteText(local + "/config.json", kTinyStories1MConfig);
      } else if (key.rfind("output_dir", 0) != 0) {
        fs::create_directories(fs::path(local).parent_path());
        WriteText(local, "Once upon a time, Lily saw a cat.\n<|endoftext|>\n");
      }
    }
    EXPECT_GE(paths, 2);
    const std::string filled = tmp.Sub("spec.yaml");
    WriteText(filled, absl::StrReplaceAll(text, {{"/data/", root + "/"}}));

    CommandResult r = RunCli("train --config " + filled + " --print-spec");
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("# estimated peak memory: "), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("unavailable"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(root + "/"), std::string::npos) << r.out;

    CommandResult j = RunCli("train --config " + filled + " --print-spec --output json");
    ASSERT_EQ(j.code, 0) << j.err;
    nlohmann::json doc = nlohmann::json::parse(j.out, nullptr, false);
    ASSERT_FALSE(doc.is_discarded()) << j.out;
    EXPECT_TRUE(doc["estimated_peak_memory"].is_string()) << doc.dump();
    EXPECT_NE(doc["spec_yaml"].get<std::string>().find("kind: "), std::string::npos);
  }
}

}  // namespace
}  // namespace monoroute
