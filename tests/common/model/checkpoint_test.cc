// Checkpoint I/O: save/load round trip (dense and routed), shape mismatch names the tensor,
// another architecture fails before training, bad config values.
#include "common/model/checkpoint.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/base/file_util.h"
#include "common/tensor_io/safetensors.h"
#include "tests/common/model/test_util.h"

namespace monoroute::model {
namespace {

using testing::FixtureDir;
using ::testing::HasSubstr;
using testing::MaxAbsDiff;

void CopyDir(const std::string& from, const std::string& to) {
  std::filesystem::create_directories(to);
  std::filesystem::copy(
      from, to,
      std::filesystem::copy_options::recursive | std::filesystem::copy_options::overwrite_existing);
}

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fixture_ = FixtureDir("gptneo_tiny");
    ASSERT_FALSE(tmp_.empty());
  }
  std::string fixture_;
  testing::TempDir dir_{"ckpt"};
  std::string tmp_ = dir_.path();
};

TEST_F(CheckpointTest, RoutedRoundTripIsLossless) {
  if (fixture_.empty()) GTEST_SKIP() << "needs ../shared/fixtures/gptneo_tiny: absent";
  LoadOptions lo;
  RoutingConfig rc;
  rc.top_k = 2;
  rc.balancing.method = BalancingMethod::kAuxFree;
  lo.routing = rc;
  auto m = LoadGPTNeo(fixture_, lo);
  ASSERT_TRUE(m.ok()) << m.status();
  {
    torch::NoGradGuard ng;
    (*m)->router(2)->selection_bias().copy_(torch::arange(16, torch::kFloat) * 0.01);
  }
  const std::string out = tmp_ + "/saved";
  ASSERT_TRUE(SaveGPTNeo(**m, out).ok());
  // Saved layout: HF names for the base, no lm_head, routers under routing.layers.
  auto st = ReadSafetensors(out + "/model.safetensors");
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_EQ(st->tensors.count("lm_head.weight"), 0u);
  EXPECT_EQ(st->tensors.count("transformer.wte.weight"), 1u);
  EXPECT_EQ(st->tensors.count("transformer.h.0.mlp.c_fc.weight"), 1u);
  EXPECT_EQ(st->tensors.count("routing.layers.0.router.0.weight"), 1u);
  EXPECT_EQ(st->tensors.count("routing.layers.2.router.2.bias"), 1u);
  EXPECT_EQ(st->tensors.count("routing.layers.2.router.selection_bias"), 1u);
  EXPECT_EQ(st->metadata["format"], "pt");
  auto cfg = ReadFile(out + "/config.json");
  ASSERT_TRUE(cfg.ok());
  auto j = nlohmann::json::parse(*cfg);
  EXPECT_EQ(j["model_type"], "gpt_neo");
  EXPECT_EQ(j["routing"]["top_k"], 2);

  auto back = LoadGPTNeo(out);
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_TRUE((*back)->routing().has_value());
  EXPECT_EQ((*back)->routing()->top_k, 2);
  auto a = (*m)->named_parameters(), b = (*back)->named_parameters();
  ASSERT_EQ(a.size(), b.size());
  for (const auto& kv : a) {
    EXPECT_TRUE(torch::equal(kv.value(), b[kv.key()])) << kv.key();
  }
  EXPECT_TRUE(
      torch::equal((*back)->router(2)->selection_bias(), (*m)->router(2)->selection_bias()));
  EXPECT_TRUE((*back)->router(2)->use_selection_bias());
  torch::NoGradGuard ng;
  torch::Tensor ids = torch::randint(0, 1000, {2, 12}, torch::kLong);
  auto oa = (*m)->forward(ids), ob = (*back)->forward(ids);
  EXPECT_TRUE(torch::equal(oa.logits, ob.logits));
  // The dense part alone still loads (as HF would): routers dropped.
  LoadOptions dense;
  dense.dense_only = true;
  auto d = LoadGPTNeo(out, dense);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_FALSE((*d)->routing().has_value());
}

// Routed checkpoints carry the Hugging Face remote code (byte-identical to the Python client's
// modeling files) and name it in config.json's auto_map; dense ones carry neither.
TEST_F(CheckpointTest, RoutedCheckpointCarriesRemoteCode) {
  if (fixture_.empty()) GTEST_SKIP() << "needs ../shared/fixtures/gptneo_tiny: absent";
  LoadOptions lo;
  lo.routing = RoutingConfig();
  auto m = LoadGPTNeo(fixture_, lo);
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_TRUE(SaveGPTNeo(**m, tmp_ + "/r").ok());
  ASSERT_EQ(HfRemoteCodeFiles().size(), 4u);
  const std::string src =
      std::string(MONOROUTE_SOURCE_DIR) + "/clients/python/monoroute_client/modeling/";
  for (const RemoteCodeFile& f : HfRemoteCodeFiles()) {
    auto written = ReadFile(tmp_ + "/r/" + f.name);
    ASSERT_TRUE(written.ok()) << f.name;
    auto source = ReadFile(src + f.name);
    ASSERT_TRUE(source.ok()) << src << f.name;
    EXPECT_EQ(*written, *source) << f.name;
  }
  auto j = nlohmann::json::parse(*ReadFile(tmp_ + "/r/config.json"));
  EXPECT_EQ(j["auto_map"]["AutoConfig"], "configuration_monoroute.MonorouteGPTNeoConfig");
  EXPECT_EQ(j["auto_map"]["AutoModelForCausalLM"], "modeling_monoroute.MonorouteGPTNeoForCausalLM");
  EXPECT_EQ(j["architectures"][0], "MonorouteGPTNeoForCausalLM");
  EXPECT_EQ(j["model_type"], "gpt_neo");

  auto dense = LoadGPTNeo(fixture_);
  ASSERT_TRUE(dense.ok()) << dense.status();
  ASSERT_TRUE(SaveGPTNeo(**dense, tmp_ + "/d").ok());
  auto jd = nlohmann::json::parse(*ReadFile(tmp_ + "/d/config.json"));
  EXPECT_FALSE(jd.contains("auto_map"));
  EXPECT_EQ(jd["architectures"][0], "GPTNeoForCausalLM");
  EXPECT_FALSE(std::filesystem::exists(tmp_ + "/d/modeling_monoroute.py"));
}

// A routed GPT-NeoX and a routed GPT-2 name their own family's remote classes (model_type
// unchanged, so the C++ loader reads them back routed); their dense saves name none.
TEST_F(CheckpointTest, RoutedCheckpointOfEachFamilyNamesItsRemoteClasses) {
  struct Case {
    const char* fixture;
    const char* model_type;
    const char* config_class;
    const char* model_class;
  };
  for (const Case& c : {Case{"models/neox_rot25_parallel_padded", "gpt_neox",
                             "MonorouteGPTNeoXConfig", "MonorouteGPTNeoXForCausalLM"},
                        Case{"models/gpt2_prefixed_safetensors", "gpt2", "MonorouteGPT2Config",
                             "MonorouteGPT2LMHeadModel"}}) {
    const std::string dir = FixtureDir(c.fixture);
    ASSERT_FALSE(dir.empty()) << "tests/fixtures/" << c.fixture << " is missing";
    LoadOptions lo;
    lo.routing = RoutingConfig();
    lo.routing->num_pathways = 4;
    lo.routing->top_k = 2;
    auto m = LoadModel(dir, lo);
    ASSERT_TRUE(m.ok()) << m.status();
    const std::string out = tmp_ + "/" + c.model_type;
    ASSERT_TRUE(SaveModel(**m, out).ok());
    auto j = nlohmann::json::parse(*ReadFile(out + "/config.json"));
    EXPECT_EQ(j["model_type"], c.model_type);
    EXPECT_EQ(j["auto_map"]["AutoConfig"],
              std::string("configuration_monoroute.") + c.config_class);
    EXPECT_EQ(j["auto_map"]["AutoModelForCausalLM"],
              std::string("modeling_monoroute.") + c.model_class);
    EXPECT_EQ(j["architectures"][0], c.model_class);
    for (const RemoteCodeFile& f : HfRemoteCodeFiles()) {
      EXPECT_TRUE(std::filesystem::exists(out + "/" + f.name)) << c.model_type << " " << f.name;
    }
    auto back = LoadModel(out);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_TRUE((*back)->routing().has_value());
    auto dense = LoadModel(dir);
    ASSERT_TRUE(dense.ok()) << dense.status();
    ASSERT_TRUE(SaveModel(**dense, out + "_dense").ok());
    auto jd = nlohmann::json::parse(*ReadFile(out + "_dense/config.json"));
    EXPECT_FALSE(jd.contains("auto_map")) << c.model_type;
  }
}

TEST_F(CheckpointTest, DenseRoundTripIsLossless) {
  if (fixture_.empty()) GTEST_SKIP() << "needs ../shared/fixtures/gptneo_tiny: absent";
  auto m = LoadGPTNeo(fixture_);
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_TRUE(SaveGPTNeo(**m, tmp_ + "/d").ok());
  auto orig = ReadSafetensors(fixture_ + "/model.safetensors");
  auto saved = ReadSafetensors(tmp_ + "/d/model.safetensors");
  ASSERT_TRUE(orig.ok() && saved.ok());
  for (const auto& kv : orig->tensors) {
    auto it = saved->tensors.find(kv.first);
    ASSERT_NE(it, saved->tensors.end()) << kv.first;
    EXPECT_TRUE(torch::equal(it->second, kv.second.to(torch::kFloat))) << kv.first;
  }
  EXPECT_EQ(saved->tensors.size(), orig->tensors.size());
}

TEST_F(CheckpointTest, ShapeMismatchNamesTheTensor) {
  if (fixture_.empty()) GTEST_SKIP() << "needs ../shared/fixtures/gptneo_tiny: absent";
  CopyDir(fixture_, tmp_ + "/m");
  std::filesystem::remove(tmp_ + "/m/expected.safetensors");
  auto st = ReadSafetensors(fixture_ + "/model.safetensors");
  ASSERT_TRUE(st.ok());
  st->tensors["transformer.h.1.mlp.c_proj.weight"] = torch::zeros({64, 128});
  ASSERT_TRUE(WriteSafetensors(tmp_ + "/m/model.safetensors", st->tensors).ok());
  auto m = LoadGPTNeo(tmp_ + "/m");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(m.status().message(), HasSubstr("transformer.h.1.mlp.c_proj.weight"));
  EXPECT_THAT(m.status().message(), HasSubstr("[64, 128]"));
  // A missing tensor is named too.
  st->tensors.erase("transformer.h.1.mlp.c_proj.weight");
  ASSERT_TRUE(WriteSafetensors(tmp_ + "/m/model.safetensors", st->tensors).ok());
  m = LoadGPTNeo(tmp_ + "/m");
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(m.status().message(), HasSubstr("transformer.h.1.mlp.c_proj.weight"));
}

TEST_F(CheckpointTest, OtherArchitectureFails) {
  if (fixture_.empty()) GTEST_SKIP() << "needs ../shared/fixtures/gptneo_tiny: absent";
  CopyDir(fixture_, tmp_ + "/m");
  // GPT-2 style names with a gpt_neo config: unexpected tensor named.
  TensorMap gpt2;
  gpt2["transformer.h.0.attn.c_attn.weight"] = torch::zeros({64, 192});
  ASSERT_TRUE(WriteSafetensors(tmp_ + "/m/model.safetensors", gpt2).ok());
  auto m = LoadGPTNeo(tmp_ + "/m");
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(m.status().message(), HasSubstr("transformer.h.0.attn.c_attn.weight"));
  // model_type of another architecture fails on config.json.
  std::ofstream(tmp_ + "/m/config.json") << R"({"model_type": "llama", "hidden_size": 64})";
  m = LoadGPTNeo(tmp_ + "/m");
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(m.status().message(), HasSubstr("model_type 'llama'"));
}

TEST_F(CheckpointTest, BadRoutingAndMissingDir) {
  if (fixture_.empty()) GTEST_SKIP() << "needs ../shared/fixtures/gptneo_tiny: absent";
  LoadOptions lo;
  RoutingConfig rc;
  rc.num_pathways = 7;
  lo.routing = rc;
  auto m = LoadGPTNeo(fixture_, lo);
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(m.status().message(), HasSubstr("num_pathways 7"));
  auto missing = LoadGPTNeo(tmp_ + "/nothing");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  // A routing section with a bad value in config.json is rejected by name.
  CopyDir(fixture_, tmp_ + "/r");
  auto cfg = nlohmann::json::parse(*ReadFile(fixture_ + "/config.json"));
  cfg["routing"] = RoutingConfig{}.ToJson();
  cfg["routing"]["top_k"] = 99;
  std::ofstream(tmp_ + "/r/config.json") << cfg.dump();
  auto r = LoadGPTNeo(tmp_ + "/r");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(),
              HasSubstr("routing.top_k: must be in [1, routing.num_pathways], got 99"));
}

}  // namespace
}  // namespace monoroute::model
