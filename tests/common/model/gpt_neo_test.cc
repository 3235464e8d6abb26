// GPTNeo against the Hugging Face fixture (embeddings, every block, final_norm, logits, loss),
// from model.safetensors and from pytorch_model.bin; routed == dense at top_k = P.
#include "common/model/gpt_neo.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/model/checkpoint.h"
#include "common/model/lm_loss.h"
#include "common/tensor_io/safetensors.h"
#include "tests/common/model/reference_parity.h"
#include "tests/common/model/test_util.h"

namespace monoroute::model {
namespace {

using testing::FixtureDir;
using testing::MaxAbsDiff;

void CheckAgainstFixture(const std::string& model_dir) {
  const std::string tiny = FixtureDir("gptneo_tiny");
  auto expected = ReadSafetensors(tiny + "/expected.safetensors");
  ASSERT_TRUE(expected.ok()) << expected.status();
  const auto& e = expected->tensors;
  auto model = LoadGPTNeo(model_dir);
  ASSERT_TRUE(model.ok()) << model.status();
  ForwardOutput out = testing::ExpectMatchesReference(*model, e, 4, 1e-5);
  // The unfused loss over the logits agrees as well.
  const int64_t t = out.logits.size(1);
  torch::Tensor ref = torch::nn::functional::cross_entropy(
      out.logits.narrow(1, 0, t - 1).reshape({-1, out.logits.size(2)}),
      e.at("input_ids").narrow(1, 1, t - 1).reshape({-1}));
  EXPECT_LT(std::abs(ref.item<double>() - e.at("loss").item<double>()), 1e-5);
}

TEST(GPTNeoTest, MatchesHuggingFaceFixtureFromSafetensors) {
  const std::string dir = FixtureDir("gptneo_tiny");
  if (dir.empty()) GTEST_SKIP() << "needs ../shared/fixtures/gptneo_tiny: absent";
  CheckAgainstFixture(dir);
}

TEST(GPTNeoTest, MatchesHuggingFaceFixtureFromPytorchModelBin) {
  const std::string dir = FixtureDir("gptneo_tiny_bin");
  if (dir.empty() || FixtureDir("gptneo_tiny").empty()) {
    GTEST_SKIP() << "needs ../shared/fixtures/gptneo_tiny_bin: absent";
  }
  CheckAgainstFixture(dir);
}

TEST(GPTNeoTest, RoutedEqualsDenseWithAllPathwaysAndEqualWeights) {
  const std::string dir = FixtureDir("gptneo_tiny");
  if (dir.empty()) GTEST_SKIP() << "needs ../shared/fixtures/gptneo_tiny: absent";
  auto dense = LoadGPTNeo(dir);
  ASSERT_TRUE(dense.ok()) << dense.status();
  RoutingConfig rc;
  rc.num_pathways = 16;
  auto routed = testing::LoadEqualWeightRouted(dir, rc);  // every score (and prob) equal
  ASSERT_TRUE(routed.ok()) << routed.status();
  EXPECT_EQ((*routed)->routed_layers(), (std::vector<int64_t>{0, 2}));
  torch::Tensor ids = torch::randint(0, 1000, {3, 20}, torch::kLong);
  torch::NoGradGuard ng;
  for (RoutedCompute mode : {RoutedCompute::kMask, RoutedCompute::kGather}) {
    (*routed)->SetRoutedCompute(mode);
    ForwardOutput a = (*dense)->forward(ids);
    ForwardOutput b = (*routed)->forward(ids);
    EXPECT_LT(MaxAbsDiff(a.logits, b.logits), 1e-5);
    ASSERT_EQ(b.routing.size(), 2u);
    EXPECT_EQ(b.routing[0].layer, 0);
    EXPECT_EQ(b.routing[1].layer, 2);
    EXPECT_EQ(b.routing[0].topk_indices.sizes(), (std::vector<int64_t>{60, 16}));
    EXPECT_LT(MaxAbsDiff(b.routing[0].topk_weights, torch::full({60, 16}, 1.0 / 16)), 1e-6);
    EXPECT_TRUE(a.routing.empty());
  }
}

TEST(GPTNeoTest, LocalAttentionIgnoresTokensOutsideTheWindow) {
  GPTNeoConfig c;
  c.vocab_size = 50;
  c.hidden_size = 16;
  c.num_heads = 4;
  c.num_layers = 1;
  c.intermediate_size = 64;
  c.window_size = 3;
  c.max_position_embeddings = 16;
  c.attention_layers = {"local"};
  torch::manual_seed(1);
  GPTNeo m(c);
  torch::NoGradGuard ng;
  torch::Tensor a = torch::randint(0, 50, {1, 10}, torch::kLong);
  torch::Tensor b = a.clone();
  b[0][2] = (a[0][2].item<int64_t>() + 1) % 50;  // position 2 is outside the window of 5..9
  auto oa = m->forward(a), ob = m->forward(b);
  EXPECT_LT(MaxAbsDiff(oa.logits.narrow(1, 5, 5), ob.logits.narrow(1, 5, 5)), 1e-6);
  EXPECT_GT(MaxAbsDiff(oa.logits.narrow(1, 2, 3), ob.logits.narrow(1, 2, 3)), 1e-4);
}

TEST(GPTNeoTest, RejectsTooLongSequence) {
  GPTNeoConfig c = GPTNeoConfig::TinyStories1M();
  c.vocab_size = 100;
  c.max_position_embeddings = 8;
  GPTNeo m(c);
  EXPECT_THROW(m->forward(torch::zeros({1, 9}, torch::kLong)), c10::Error);
}

TEST(GPTNeoTest, EnableRoutingKeepsDenseWeightsAndNamesParameters) {
  GPTNeoConfig c = GPTNeoConfig::TinyStories1M();
  c.vocab_size = 100;
  c.max_position_embeddings = 32;
  torch::manual_seed(0);
  GPTNeo m(c);
  torch::Tensor before = m->blocks[2]->dense_mlp->c_fc->weight.clone();
  ASSERT_TRUE(m->EnableRouting(RoutingConfig{}).ok());
  EXPECT_TRUE(torch::equal(m->blocks[2]->routed_mlp->c_fc->weight, before));
  EXPECT_EQ(m->routed_layers(), (std::vector<int64_t>{0, 2, 4, 6}));
  EXPECT_EQ(m->EnableRouting(RoutingConfig{}).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(
      testing::MissingParameters(
          m, {"transformer.h.0.attn.attention.q_proj.weight", "transformer.h.2.mlp.c_fc.weight",
              "transformer.h.2.mlp.router.0.weight", "transformer.h.2.mlp.router.2.bias"}),
      ::testing::IsEmpty());
  auto params = m->named_parameters();
  EXPECT_FALSE(params.contains("transformer.h.1.mlp.router.0.weight"));
  EXPECT_EQ(m->router_parameters().size(), 16u);
  EXPECT_EQ(m->base_parameters().size() + 16u, params.size());
}

TEST(GPTNeoTest, DenseSliceProbeRanksSlicesByActivationNormAndKeepsTheDenseOutput) {
  GPTNeoConfig c = testing::SmallConfig();
  torch::manual_seed(3);
  GPTNeo dense(c);
  torch::NoGradGuard ng;
  torch::Tensor ids = torch::randint(0, c.vocab_size, {2, 12}, torch::kLong);
  ForwardOptions plain;
  ForwardOutput ref = dense->forward(ids, plain);
  ForwardOptions probe = plain;
  probe.return_block_outputs = true;
  probe.dense_slices.num_pathways = 16;
  probe.dense_slices.top_k = 4;
  probe.dense_slices.layers = {0, 2};
  ForwardOutput out = dense->forward(ids, probe);
  EXPECT_LT(MaxAbsDiff(out.logits, ref.logits), 1e-6);  // the MLP still runs densely
  ASSERT_EQ(out.routing.size(), 2u);
  EXPECT_EQ(out.routing[1].layer, 2);
  // Layer 2's slices from its input (block 1's output) by hand.
  Block b = dense->blocks[2];
  torch::Tensor x = out.block_outputs[1];
  torch::Tensor hs = x + b->attention->forward(b->ln_1(x), torch::kFloat);
  torch::Tensor h = GeluNew(b->dense_mlp->c_fc(b->ln_2(hs))).reshape({-1, 16, 16});
  torch::Tensor norms = h.pow(2).sum(-1).sqrt();
  torch::Tensor idx = std::get<1>(norms.topk(4, -1));
  EXPECT_TRUE(torch::equal(out.routing[1].topk_indices, idx));
  EXPECT_LT(MaxAbsDiff(out.routing[1].topk_weights.sum(-1), torch::ones({24})), 1e-6);
  // A routed model probed at a routed layer runs that MLP densely too, ignoring the router.
  torch::manual_seed(3);
  GPTNeo copy(c);  // the same dense weights
  ASSERT_TRUE(copy->EnableRouting(RoutingConfig{}).ok());
  ForwardOutput rout = copy->forward(ids, probe);
  EXPECT_LT(MaxAbsDiff(rout.logits, ref.logits), 1e-5);
  EXPECT_TRUE(torch::equal(rout.routing[1].topk_indices, idx));
  // Bad shapes are an error, not a crash.
  ForwardOptions bad = plain;
  bad.dense_slices.num_pathways = 7;  // 256 neurons are not divisible by 7
  bad.dense_slices.top_k = 2;
  bad.dense_slices.layers = {0};
  EXPECT_THROW(dense->forward(ids, bad), c10::Error);
}

}  // namespace
}  // namespace monoroute::model
