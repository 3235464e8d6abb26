// The job spec's `model` and `routing` sections are the model library's ModelConfig and
// RoutingConfig, read and written through their one field list (model/config_fields.h): every
// family in YAML, errors naming the key, round trips, and the example specs unchanged.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "common/base/file_util.h"
#include "common/engine/job_spec.h"
#include "tests/testing/status_matchers.h"

namespace monoroute::engine {
namespace {

using ::monoroute::testing::StatusIs;
using ::testing::HasSubstr;

constexpr char kPretrain[] = "kind: pretrain\ndata: {train_path: t.txt}\noutput_dir: out\n";

TEST(JobSpecModelTest, ModelSectionTakesEveryFamily) {
  auto s =
      ParseJobSpecYaml(kPretrain, {"model.model_type=gpt_neox", "model.hidden_size=32",
                                   "model.num_layers=2", "model.num_heads=4",
                                   "model.rotary_pct=0.5", "model.use_parallel_residual=false"});
  ASSERT_TRUE(s.ok()) << s.status();
  model::ModelConfig c = ResolveModelSection(s->model);
  EXPECT_EQ(c.family, model::ModelFamily::kGPTNeoX);
  EXPECT_EQ(c.intermediate_size, 128);
  EXPECT_EQ(c.activation_function, "gelu");
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_FALSE(c.use_parallel_residual);
  EXPECT_EQ(c.rotary_ndims(), 4);
  EXPECT_EQ(c.attention_layers, (std::vector<std::string>{"global", "global"}));
  EXPECT_TRUE(c.Validate().ok());
  auto back = ParseJobSpecYaml(JobSpecToYaml(*s));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(JobSpecToYaml(*back), JobSpecToYaml(*s));

  auto g = ParseJobSpecYaml(kPretrain, {"model.model_type=gpt2", "model.num_layers=3"});
  ASSERT_TRUE(g.ok()) << g.status();
  model::ModelConfig gc = ResolveModelSection(g->model);
  EXPECT_EQ(gc.family, model::ModelFamily::kGPT2);
  EXPECT_TRUE(gc.tie_word_embeddings);
  EXPECT_EQ(gc.activation_function, "gelu_new");
  // GPT-Neo stays the default: alternating global / local.
  auto n = ParseJobSpecYaml(kPretrain, {"model.num_layers=3"});
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(ResolveModelSection(n->model).attention_layers,
            (std::vector<std::string>{"global", "local", "global"}));
}

TEST(JobSpecModelTest, BadModelAndRoutingValuesNameTheirKey) {
  struct Case {
    std::string set;
    std::string message;
  } cases[] = {
      {"model.model_type=llama",
       "model.model_type: must be 'gpt_neo', 'gpt_neox' or 'gpt2', got 'llama'"},
      {"model.rotary_pct=0.3", "model: rotary_pct"},
      {"model.num_heads=5", "model: hidden_size 64 is not divisible by num_heads 5"},
      {"model.activation_function=relu", "model: activation_function 'relu' is not supported"},
      {"model.layer_norm_epsilon=nan", "model.layer_norm_epsilon: expected a finite number"},
      {"routing.num_pathways=512", "routing.num_pathways: must be <= 256"},
      {"routing.top_k=0", "routing.top_k: must be in [1, routing.num_pathways]"},
      {"routing.layers=[1, 1]", "routing.layers[1]: layers entry 1 is repeated"},
      {"routing.balancing.method=magic",
       "routing.balancing.method: must be 'glbl', 'switch', 'aux_free' or 'none', got 'magic'"},
      {"routing.balancing.gamma=1", "routing.balancing.gamma: unknown key"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> sets = {c.set};
    if (c.set == "model.rotary_pct=0.3") sets.push_back("model.model_type=gpt_neox");
    EXPECT_THAT(ParseJobSpecYaml(kPretrain, sets),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.message)))
        << c.set;
  }
}

TEST(JobSpecModelTest, RoutingSectionIsTheRoutingConfig) {
  auto s = ParseJobSpecYaml(kPretrain, {"routing.enabled=true", "routing.num_pathways=256",
                                        "routing.top_k=128", "routing.balancing.method=aux_free"});
  ASSERT_TRUE(s.ok()) << s.status();
  const model::RoutingConfig& rc = s->routing;  // no copy, no conversion
  EXPECT_EQ(rc.num_pathways, 256);
  EXPECT_EQ(rc.top_k, 128);
  EXPECT_EQ(rc.balancing.method, model::BalancingMethod::kAuxFree);
  // config.json's routing section and the job spec's read the same fields.
  auto from_json = model::RoutingConfig::FromJson(rc.ToJson());
  ASSERT_TRUE(from_json.ok()) << from_json.status();
  EXPECT_EQ(from_json->ToJson(), rc.ToJson());
}

TEST(JobSpecModelTest, ExampleSpecsParseAndRoundTrip) {
  const std::string dir = std::string(MONOROUTE_SOURCE_DIR) + "/examples/jobs";
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() != ".yaml") continue;
    auto text = ReadFile(e.path().string());
    ASSERT_TRUE(text.ok()) << e.path();
    // Examples name their data with ../shared paths; the values, not the files, are tested here.
    auto s = ParseJobSpecYaml(*text);
    ASSERT_TRUE(s.ok()) << e.path() << ": " << s.status();
    auto back = ParseJobSpecYaml(JobSpecToYaml(*s));
    ASSERT_TRUE(back.ok()) << e.path() << ": " << back.status();
    EXPECT_EQ(JobSpecToYaml(*back), JobSpecToYaml(*s)) << e.path();
    ++n;
  }
  EXPECT_GE(n, 4);
}

}  // namespace
}  // namespace monoroute::engine
