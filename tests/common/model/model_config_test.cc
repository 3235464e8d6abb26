// ModelConfig per family: GPT-NeoX and GPT-2 config.json parsing (HF key names, defaults,
// required keys), ToJson round trips, rejected options and NaN named as such.
#include "common/model/model_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/testing/status_matchers.h"

namespace monoroute::model {
namespace {

using ::monoroute::testing::StatusIs;
using ::testing::HasSubstr;

nlohmann::json NeoXJson() {
  return nlohmann::json::parse(R"({
    "model_type": "gpt_neox", "vocab_size": 50304, "hidden_size": 512, "num_hidden_layers": 6,
    "num_attention_heads": 8, "intermediate_size": 2048, "max_position_embeddings": 2048,
    "rotary_pct": 0.25, "rotary_emb_base": 10000, "use_parallel_residual": true,
    "hidden_act": "gelu", "layer_norm_eps": 1e-05, "tie_word_embeddings": false,
    "bos_token_id": 0, "eos_token_id": 0})");
}

nlohmann::json Gpt2Json() {
  return nlohmann::json::parse(R"({
    "model_type": "gpt2", "vocab_size": 50257, "n_embd": 768, "n_layer": 12, "n_head": 12,
    "n_positions": 1024, "n_inner": null, "activation_function": "gelu_new",
    "layer_norm_epsilon": 1e-05})");
}

TEST(ModelConfigTest, ParsesPythiaConfig) {
  auto c = ModelConfig::FromJson(NeoXJson());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->family, ModelFamily::kGPTNeoX);
  EXPECT_EQ(c->num_layers, 6);
  EXPECT_EQ(c->num_heads, 8);
  EXPECT_EQ(c->head_dim(), 64);
  EXPECT_EQ(c->rotary_ndims(), 16);
  EXPECT_EQ(c->activation_function, "gelu");
  EXPECT_FALSE(c->tie_word_embeddings);
  EXPECT_TRUE(c->use_parallel_residual);
  EXPECT_FALSE(c->is_local(0));
  auto back = ModelConfig::FromJson(c->ToJson());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->ToJson(), c->ToJson());
  EXPECT_EQ(c->ToJson()["architectures"][0], "GPTNeoXForCausalLM");
}

TEST(ModelConfigTest, ParsesGpt2ConfigWithHuggingFaceDefaults) {
  auto c = ModelConfig::FromJson(Gpt2Json());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->family, ModelFamily::kGPT2);
  EXPECT_EQ(c->hidden_size, 768);
  EXPECT_EQ(c->intermediate_size, 3072);  // n_inner null -> 4 * n_embd
  EXPECT_EQ(c->max_position_embeddings, 1024);
  EXPECT_TRUE(c->tie_word_embeddings);
  nlohmann::json j = c->ToJson();
  EXPECT_EQ(j["n_embd"], 768);
  EXPECT_TRUE(j["n_inner"].is_null());
  auto back = ModelConfig::FromJson(j);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->ToJson(), j);
}

TEST(ModelConfigTest, RejectsBadValuesByTheirKey) {
  struct Case {
    bool neox;
    const char* key;
    nlohmann::json value;
    const char* expect;
  };
  for (const Case& c : std::vector<Case>{
           {true, "num_attention_heads", nullptr, "required key 'num_attention_heads'"},
           {true, "intermediate_size", nullptr, "required key 'intermediate_size'"},
           {true, "rotary_pct", 0.3, "rotary dims per head; must be even"},
           {true, "rotary_pct", 1.5, "rotary_pct must be in [0, 1]"},
           {true, "hidden_act", "relu", "hidden_act 'relu' is not supported"},
           {true, "tie_word_embeddings", true, "tie_word_embeddings true is not supported"},
           {true, "layer_norm_eps", -1, "layer_norm_eps must be a positive finite number"},
           {true, "rope_scaling", nlohmann::json::object(), "rope_scaling is not supported"},
           {true, "hidden_size", 500, "hidden_size 500 is not divisible by num_attention_heads"},
           {false, "n_embd", nullptr, "required key 'n_embd'"},
           {false, "n_head", 5, "n_embd 768 is not divisible by n_head 5"},
           {false, "scale_attn_weights", false, "scale_attn_weights false"},
           {false, "tie_word_embeddings", false, "tie_word_embeddings false"},
           {false, "n_positions", 0, "n_positions must be positive"}}) {
    nlohmann::json j = c.neox ? NeoXJson() : Gpt2Json();
    j[c.key] = c.value;
    EXPECT_THAT(ModelConfig::FromJson(j),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.expect)))
        << c.key;
  }
}

TEST(ModelConfigTest, NaNAndSyntaxErrorsAreNamed) {
  EXPECT_THAT(
      ParseConfigJsonText(R"({"model_type": "gpt2", "layer_norm_epsilon": NaN})", "c.json"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("c.json: NaN is not a JSON number")));
  auto inf = ParseConfigJsonText(R"({"rotary_pct": Infinity})", "c.json");
  EXPECT_THAT(inf.status().message(), HasSubstr("Infinity is not a JSON number"));
  auto bad = ParseConfigJsonText("{\"a\": ", "c.json");
  EXPECT_THAT(bad.status().message(), HasSubstr("c.json: invalid JSON at byte"));
  EXPECT_TRUE(ParseConfigJsonText("{}", "c.json").ok());
}

TEST(ModelConfigTest, UnknownModelTypeNamesTheSupportedOnes) {
  nlohmann::json j = Gpt2Json();
  j["model_type"] = "llama";
  auto r = ModelConfig::FromJson(j);
  EXPECT_THAT(r.status().message(),
              HasSubstr("model_type 'llama' is not supported (expected 'gpt_neo', 'gpt_neox' or "
                        "'gpt2')"));
}

}  // namespace
}  // namespace monoroute::model
