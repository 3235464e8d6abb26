// GPT-NeoX and GPT-2 against the reference fixtures of tests/fixtures/models (written by
// scripts/fixtures/gen_model_fixtures.py from a line-by-line transcription of HF's modeling
// files): embeddings, every block, final norm, logits and loss; routed with top_k = P equals
// dense on each family; save / load round trips in each family's HF layout.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/model/causal_lm.h"
#include "common/model/checkpoint.h"
#include "common/model/lm_loss.h"
#include "common/tensor_io/safetensors.h"
#include "tests/common/model/reference_parity.h"
#include "tests/common/model/test_util.h"

namespace monoroute::model {
namespace {

using testing::FixtureDir;
using testing::MaxAbsDiff;

// Every case of tests/fixtures/models and its family.
struct FixtureCase {
  const char* name;
  ModelFamily family;
};
const std::vector<FixtureCase>& Cases() {
  static const std::vector<FixtureCase> cases = {
      {"neox_rot25_parallel_padded", ModelFamily::kGPTNeoX},
      {"neox_rot100_parallel", ModelFamily::kGPTNeoX},
      {"neox_rot25_sequential", ModelFamily::kGPTNeoX},
      {"neox_rot100_sequential_bin_buffers", ModelFamily::kGPTNeoX},
      {"gpt2_prefixed_safetensors", ModelFamily::kGPT2},
      {"gpt2_bare_safetensors", ModelFamily::kGPT2},
      {"gpt2_bare_bin_buffers", ModelFamily::kGPT2},
      {"gpt2_prefixed_bin_buffers", ModelFamily::kGPT2},
  };
  return cases;
}

std::string CaseDir(const std::string& name) { return FixtureDir("models/" + name); }

class FamilyFixtureTest : public ::testing::TestWithParam<FixtureCase> {};

TEST_P(FamilyFixtureTest, MatchesTheReferenceLogitsHiddenStatesAndLoss) {
  const std::string dir = CaseDir(GetParam().name);
  ASSERT_FALSE(dir.empty()) << "tests/fixtures/models/" << GetParam().name << " is missing";
  auto expected = ReadSafetensors(dir + "/expected.safetensors");
  ASSERT_TRUE(expected.ok()) << expected.status();
  const auto& e = expected->tensors;
  auto model = LoadModel(dir);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ((*model)->config().family, GetParam().family);
  testing::ExpectMatchesReference(*model, e, 2, 1e-4);
}

TEST_P(FamilyFixtureTest, RoutedWithAllPathwaysAndEqualWeightsEqualsDense) {
  const std::string dir = CaseDir(GetParam().name);
  ASSERT_FALSE(dir.empty());
  auto dense = LoadModel(dir);
  ASSERT_TRUE(dense.ok()) << dense.status();
  RoutingConfig rc;
  rc.num_pathways = 16;  // 128 intermediate neurons: 8 per pathway
  rc.route_every_n_layers = 1;
  auto routed = testing::LoadEqualWeightRouted(dir, rc);  // every score equal: weights 1/P
  ASSERT_TRUE(routed.ok()) << routed.status();
  ASSERT_EQ((*routed)->routed_layers(), (std::vector<int64_t>{0, 1}));
  torch::NoGradGuard ng;
  torch::Tensor ids = torch::randint(0, 120, {3, 12}, torch::kLong);
  ForwardOutput a = (*dense)->forward(ids);
  for (RoutedCompute mode : {RoutedCompute::kMask, RoutedCompute::kGather}) {
    (*routed)->SetRoutedCompute(mode);
    ForwardOutput b = (*routed)->forward(ids);
    EXPECT_LT(MaxAbsDiff(a.logits, b.logits), 1e-5);
    ASSERT_EQ(b.routing.size(), 2u);
    EXPECT_EQ(b.routing[1].topk_indices.sizes(), (std::vector<int64_t>{36, 16}));
  }
}

TEST_P(FamilyFixtureTest, SaveAndReloadKeepTheFamilyLayoutAndLogits) {
  const std::string dir = CaseDir(GetParam().name);
  ASSERT_FALSE(dir.empty());
  RoutingConfig rc;
  rc.num_pathways = 8;
  rc.top_k = 2;
  LoadOptions lo;
  lo.routing = rc;
  auto model = LoadModel(dir, lo);
  ASSERT_TRUE(model.ok()) << model.status();
  testing::TempDir tmp("family_save");
  const std::string out = tmp.path();
  ASSERT_TRUE(SaveModel(**model, out).ok());
  auto st = ReadSafetensors(out + "/model.safetensors");
  ASSERT_TRUE(st.ok()) << st.status();
  const auto& t = st->tensors;
  EXPECT_EQ(t.count("routing.layers.0.router.0.weight"), 1u);
  if (GetParam().family == ModelFamily::kGPT2) {
    // Conv1D layout [in, out] under the prefixed names; the tied head is not written.
    ASSERT_EQ(t.count("transformer.h.0.attn.c_attn.weight"), 1u);
    EXPECT_EQ(t.at("transformer.h.0.attn.c_attn.weight").sizes(), (std::vector<int64_t>{32, 96}));
    EXPECT_EQ(t.at("transformer.h.1.mlp.c_fc.weight").sizes(), (std::vector<int64_t>{32, 128}));
    EXPECT_EQ(t.count("lm_head.weight"), 0u);
  } else {
    EXPECT_EQ(t.count("gpt_neox.layers.1.attention.query_key_value.bias"), 1u);
    EXPECT_EQ(t.count("gpt_neox.layers.0.mlp.dense_h_to_4h.weight"), 1u);
    EXPECT_EQ(t.at("embed_out.weight").sizes(), (std::vector<int64_t>{128, 32}));
  }
  auto back = LoadModel(out);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ((*back)->config().family, GetParam().family);
  ASSERT_TRUE((*back)->routing().has_value());
  torch::NoGradGuard ng;
  torch::Tensor ids = torch::randint(0, 120, {2, 10}, torch::kLong);
  EXPECT_EQ(MaxAbsDiff((*model)->forward(ids).logits, (*back)->forward(ids).logits), 0.0);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, FamilyFixtureTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<FixtureCase>& info) {
                           return std::string(info.param.name);
                         });

// `c` shrunk to vocab 64, hidden 16, 2 heads, intermediate 64, 16 positions (its layers kept).
ModelConfig Shrunk(ModelConfig c) {
  c.vocab_size = 64;
  c.hidden_size = 16;
  c.num_heads = 2;
  c.intermediate_size = 64;
  c.max_position_embeddings = 16;
  return c;
}

TEST(ModelFamiliesTest, ParameterNamesAreTheHuggingFaceKeys) {
  CausalLM m(Shrunk(ModelConfig::Pythia70M()));
  EXPECT_THAT(
      testing::MissingParameters(
          m, {"gpt_neox.embed_in.weight", "gpt_neox.layers.5.attention.query_key_value.weight",
              "gpt_neox.layers.5.post_attention_layernorm.bias", "gpt_neox.final_layer_norm.weight",
              "embed_out.weight"}),
      ::testing::IsEmpty());
  EXPECT_FALSE(m->named_parameters().contains("embed_out.bias"));
  EXPECT_TRUE(m->named_buffers().is_empty());  // rotary tables are not buffers
  CausalLM g(Shrunk(ModelConfig::Gpt2Small()));
  EXPECT_THAT(testing::MissingParameters(
                  g, {"transformer.h.11.attn.c_attn.bias", "transformer.h.11.mlp.c_proj.weight",
                      "transformer.wpe.weight"}),
              ::testing::IsEmpty());
  EXPECT_FALSE(g->named_parameters().contains("lm_head.weight"));
  EXPECT_TRUE(torch::equal(g->lm_head_weight(), g->wte->weight));
}

TEST(ModelFamiliesTest, ACheckpointOfAnotherFamilyFailsByTensorName) {
  const std::string gpt2 = CaseDir("gpt2_prefixed_safetensors");
  const std::string neox = CaseDir("neox_rot100_parallel");
  ASSERT_FALSE(gpt2.empty());
  ASSERT_FALSE(neox.empty());
  testing::TempDir tmp("family_mix");
  const std::string dir = tmp.path();
  std::filesystem::copy_file(neox + "/config.json", dir + "/config.json");
  std::filesystem::copy_file(gpt2 + "/model.safetensors", dir + "/model.safetensors");
  auto m = LoadModel(dir);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(m.status().message()).find("not a gpt_neox checkpoint"), std::string::npos)
      << m.status();
}

}  // namespace
}  // namespace monoroute::model
