// CenterRouterScores: equal mean scores per pathway on the batch, a skewed router un-skewed, and
// nothing but the routers' output biases changed.
#include "common/model/router_init.h"

#include <gtest/gtest.h>

#include "common/model/gpt_neo.h"
#include "tests/common/model/test_util.h"

namespace monoroute::model {
namespace {

using testing::SmallConfig;

// Fraction of the batch's top-k assignments that go to each pathway, per routed layer.
std::vector<torch::Tensor> Loads(GPTNeoImpl& m, const torch::Tensor& ids) {
  torch::NoGradGuard ng;
  std::vector<torch::Tensor> out;
  for (const RoutingInfo& r : m.forward(ids).routing) {
    const int64_t p = r.probs.size(1);
    torch::Tensor c = torch::bincount(r.topk_indices.reshape({-1}), {}, p).to(torch::kFloat);
    out.push_back(c / c.sum());
  }
  return out;
}

TEST(RouterInitTest, CentresScoresAndUnskewsACollapsedRouter) {
  torch::manual_seed(5);
  RoutingConfig rc;
  GPTNeo m(SmallConfig(), rc);
  torch::Tensor ids = torch::randint(0, 128, {4, 16}, torch::kLong);
  {
    // A collapsed start: every router prefers pathways 0..3 by a wide margin.
    torch::NoGradGuard ng;
    for (int64_t layer : m->routed_layers()) {
      m->router(layer)->fc2->bias.narrow(0, 0, 4).fill_(3.0);
    }
  }
  std::vector<torch::Tensor> before = Loads(*m, ids);
  std::map<std::string, torch::Tensor> params_before;
  for (const auto& kv : m->named_parameters())
    params_before[kv.key()] = kv.value().detach().clone();

  ASSERT_TRUE(CenterRouterScores(*m, ids).ok());

  std::vector<torch::Tensor> after = Loads(*m, ids);
  ASSERT_EQ(after.size(), 2u);  // layers 0 and 2
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_GT(before[i].narrow(0, 0, 4).sum().item<float>(), 0.99f) << i;
    // Pathways 0..3 no longer take (nearly) all the load, and more pathways are in use.
    EXPECT_LT(after[i].narrow(0, 0, 4).sum().item<float>(), 0.6f) << i;
    EXPECT_GT((after[i] > 0).sum().item<int64_t>(), (before[i] > 0).sum().item<int64_t>()) << i;
  }
  // Equal mean log-probability per pathway, layer by layer, on the centring batch.
  {
    torch::NoGradGuard ng;
    for (const RoutingInfo& r : m->forward(ids).routing) {
      torch::Tensor mlp = r.probs.log().mean(0);
      EXPECT_LT((mlp.max() - mlp.min()).item<float>(), 1e-4) << r.layer;
    }
  }
  for (const auto& kv : m->named_parameters()) {
    const bool is_fc2_bias = kv.key().find(".router.2.bias") != std::string::npos;
    if (is_fc2_bias) continue;
    EXPECT_TRUE(torch::equal(kv.value(), params_before[kv.key()])) << kv.key();
  }
}

TEST(RouterInitTest, RejectsADenseModel) {
  GPTNeo m(SmallConfig(), std::nullopt);
  EXPECT_EQ(CenterRouterScores(*m, torch::zeros({1, 4}, torch::kLong)).code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace monoroute::model
