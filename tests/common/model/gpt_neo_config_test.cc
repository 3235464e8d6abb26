// Tests of GPTNeoConfig: HF config.json parsing, rejection of unsupported values, ToJson.
#include "common/model/gpt_neo_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "tests/common/model/test_util.h"
#include "tests/testing/status_matchers.h"

namespace monoroute::model {
namespace {

using ::monoroute::testing::StatusIs;
using ::testing::HasSubstr;

nlohmann::json TinyJson() {
  return nlohmann::json::parse(R"({
    "activation_function": "gelu_new", "attention_types": [[["global", "local"], 2]],
    "hidden_size": 64, "intermediate_size": null, "layer_norm_epsilon": 1e-05,
    "max_position_embeddings": 64, "model_type": "gpt_neo", "num_heads": 16, "num_layers": 4,
    "tie_word_embeddings": true, "vocab_size": 1000, "window_size": 8})");
}

TEST(GPTNeoConfigTest, ParsesAndExpandsAttentionTypes) {
  auto c = GPTNeoConfig::FromJson(TinyJson());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->vocab_size, 1000);
  EXPECT_EQ(c->intermediate_size, 256);  // null -> 4 * hidden
  EXPECT_EQ(c->window_size, 8);
  EXPECT_EQ(c->attention_layers, (std::vector<std::string>{"global", "local", "global", "local"}));
  EXPECT_TRUE(c->is_local(1));
  EXPECT_FALSE(c->is_local(2));
}

TEST(GPTNeoConfigTest, ParsesFixtureFile) {
  const std::string dir = testing::FixtureDir("gptneo_tiny");
  if (dir.empty()) GTEST_SKIP() << "needs ../shared/fixtures/gptneo_tiny: absent";
  auto c = GPTNeoConfig::FromFile(dir + "/config.json");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->num_layers, 4);
  EXPECT_EQ(c->max_position_embeddings, 64);
}

TEST(GPTNeoConfigTest, RejectsUnsupportedActivationByName) {
  auto j = TinyJson();
  j["activation_function"] = "relu";
  EXPECT_THAT(GPTNeoConfig::FromJson(j),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("config.json: activation_function 'relu' is not supported")));
}

TEST(GPTNeoConfigTest, RejectsBadValues) {
  struct Case {
    const char* key;
    nlohmann::json value;
    const char* expect;
  };
  for (const Case& c :
       std::vector<Case>{{"model_type", "gptj", "model_type 'gptj'"},
                         {"hidden_size", 63, "not divisible by num_heads"},
                         {"num_heads", 0, "num_heads must be positive"},
                         {"vocab_size", "big", "vocab_size must be an integer"},
                         {"tie_word_embeddings", false, "tie_word_embeddings"},
                         {"attention_types", nlohmann::json::parse(R"([[["global","sparse"],2]])"),
                          "attention type 'sparse'"},
                         {"attention_types", nlohmann::json::parse(R"([[["global"],3]])"),
                          "attention_layers has 3 entries"}}) {
    auto j = TinyJson();
    j[c.key] = c.value;
    EXPECT_THAT(GPTNeoConfig::FromJson(j),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.expect)))
        << c.key;
  }
}

TEST(GPTNeoConfigTest, MissingRequiredKeyIsNamed) {
  // Without the key the size used to become the struct's default (hidden_size 64) silently.
  for (const char* key : {"vocab_size", "hidden_size", "num_layers", "num_heads", "window_size",
                          "max_position_embeddings"}) {
    for (bool null : {false, true}) {
      auto j = TinyJson();
      if (null) {
        j[key] = nullptr;
      } else {
        j.erase(key);
      }
      EXPECT_THAT(GPTNeoConfig::FromJson(j), StatusIs(absl::StatusCode::kInvalidArgument,
                                                      absl::StrCat("config.json: required key '",
                                                                   key, "' is missing or null")))
          << key;
    }
  }
  auto j = TinyJson();
  j.erase("attention_types");
  EXPECT_THAT(GPTNeoConfig::FromJson(j).status().message(),
              HasSubstr("required key 'attention_types' (or 'attention_layers') is missing"));
  j["attention_layers"] = {"global", "local", "global", "local"};  // either one is enough
  EXPECT_TRUE(GPTNeoConfig::FromJson(j).ok());
  // Keys with HF defaults equal to ours stay optional.
  j = TinyJson();
  for (const char* key :
       {"intermediate_size", "layer_norm_epsilon", "activation_function", "tie_word_embeddings"}) {
    j.erase(key);
  }
  auto c = GPTNeoConfig::FromJson(j);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->intermediate_size, 256);
}

TEST(GPTNeoConfigTest, HostileSizesAreRejectedNotComputed) {
  // A repeat count far beyond num_layers used to expand (1e12 strings: out of memory).
  auto j = TinyJson();
  j["attention_types"] = nlohmann::json::parse(R"([[["global", "local"], 1000000000000]])");
  EXPECT_THAT(GPTNeoConfig::FromJson(j).status().message(),
              HasSubstr("attention_types expands to more than num_layers (4) entries"));
  j["attention_types"] = nlohmann::json::parse(R"([[["global"], -1]])");
  EXPECT_THAT(GPTNeoConfig::FromJson(j).status().message(), HasSubstr("repeat >= 0"));
  j["attention_types"] = nlohmann::json::parse(R"([[[], 1000000000000], [["global"], 4]])");
  EXPECT_TRUE(GPTNeoConfig::FromJson(j).ok());  // an empty pattern repeated adds nothing
  // The message used to dump() the entry recursively: nested a million deep, a stack overflow.
  j["attention_types"] =
      nlohmann::json::parse("[" + std::string(1000000, '[') + std::string(1000000, ']') + "]");
  EXPECT_THAT(GPTNeoConfig::FromJson(j).status().message(),
              HasSubstr("attention_types entry a list is not [[kinds...], repeat >= 0]"));
  // 4 * hidden_size overflowed int64 (undefined behaviour) before any check.
  j = TinyJson();
  j["hidden_size"] = int64_t{1} << 62;
  EXPECT_THAT(GPTNeoConfig::FromJson(j).status().message(),
              HasSubstr("hidden_size 4611686018427387904 exceeds the maximum 16777216"));
  j = TinyJson();
  j["vocab_size"] = uint64_t{1} << 63;  // beyond int64: rejected, not wrapped
  EXPECT_THAT(GPTNeoConfig::FromJson(j).status().message(),
              HasSubstr("vocab_size 9223372036854775808 is out of range"));
  j = TinyJson();
  j["max_position_embeddings"] = GPTNeoConfig::kMaxSize + 1;
  EXPECT_THAT(GPTNeoConfig::FromJson(j).status().message(),
              HasSubstr("max_position_embeddings 16777217 exceeds the maximum"));
}

TEST(GPTNeoConfigTest, ToJsonRoundTrips) {
  auto c = GPTNeoConfig::FromJson(TinyJson());
  ASSERT_TRUE(c.ok());
  nlohmann::json j = c->ToJson();
  EXPECT_EQ(j["model_type"], "gpt_neo");
  EXPECT_TRUE(j["intermediate_size"].is_null());
  EXPECT_EQ(j["attention_types"], nlohmann::json::parse(R"([[["global","local"],2]])"));
  auto back = GPTNeoConfig::FromJson(j);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->attention_layers, c->attention_layers);
  EXPECT_EQ(back->window_size, c->window_size);
  EXPECT_EQ(back->vocab_size, c->vocab_size);
}

TEST(GPTNeoConfigTest, TinyStories1MIsValid) {
  GPTNeoConfig c = GPTNeoConfig::TinyStories1M();
  EXPECT_TRUE(c.Validate().ok());
  EXPECT_EQ(c.vocab_size, 50257);
  EXPECT_EQ(c.intermediate_size, 256);
}

}  // namespace
}  // namespace monoroute::model
