// RoutedMLP / PathwayRouter: refmodel.py's formula, mask == gather (values and gradients, also on
// both sides of where kAuto switches path), kAuto = the cost model's path, pathway ablation,
// selection bias, top-k weights renormalised.
#include "common/model/routed_mlp.h"

#include <gtest/gtest.h>

#include "tests/common/model/test_util.h"

namespace monoroute::model {
namespace {

using testing::MaxAbsDiff;

RoutedMLPOptions Opts(int64_t p = 16, int64_t k = 4) {
  RoutedMLPOptions o;
  o.mlp.hidden_size = 32;
  o.mlp.intermediate_size = 128;
  o.router.hidden_size = 32;
  o.router.router_hidden = 24;
  o.router.num_pathways = p;
  o.router.top_k = k;
  return o;
}

TEST(RoutedMLPTest, MatchesReferenceFormula) {
  torch::manual_seed(3);
  RoutedMLP m(Opts());
  torch::Tensor x = torch::randn({2, 5, 32});
  auto [y, info] = m->forward(x);
  // refmodel.py: gate = scatter(topv / sum topv), repeated per neuron, times P/k.
  torch::Tensor x2 = x.reshape({-1, 32});
  torch::Tensor probs = torch::softmax(m->router->fc2(torch::relu(m->router->fc1(x2))), -1);
  auto tk = probs.topk(4, -1);
  torch::Tensor topv = std::get<0>(tk), topi = std::get<1>(tk);
  torch::Tensor gate = torch::zeros_like(probs).scatter(-1, topi, topv / topv.sum(-1, true));
  torch::Tensor h = torch::gelu(m->c_fc(x2), "tanh") * gate.repeat_interleave(8, -1) * 4.0;
  torch::Tensor expect = m->c_proj(h).view({2, 5, 32});
  EXPECT_LT(MaxAbsDiff(y, expect), 1e-6);
  EXPECT_LT(MaxAbsDiff(info.probs, probs), 1e-7);
  EXPECT_TRUE(torch::equal(info.topk_indices, topi));
  EXPECT_LT(MaxAbsDiff(info.topk_weights.sum(-1), torch::ones({10})), 1e-6);
}

TEST(RoutedMLPTest, GatherPathEqualsMaskPathWithGradients) {
  torch::manual_seed(4);
  RoutedMLP m(Opts());
  torch::Tensor x = torch::randn({3, 7, 32}, torch::requires_grad());
  std::vector<torch::Tensor> ys, gx, gw;
  for (RoutedCompute mode : {RoutedCompute::kMask, RoutedCompute::kGather}) {
    m->set_compute(mode);
    m->zero_grad();
    if (x.grad().defined()) x.mutable_grad().zero_();
    auto [y, info] = m->forward(x);
    (y * y).sum().backward();
    ys.push_back(y.detach());
    gx.push_back(x.grad().clone());
    gw.push_back(m->c_fc->weight.grad().clone());
    gw.push_back(m->router->fc1->weight.grad().clone());
  }
  EXPECT_LT(MaxAbsDiff(ys[0], ys[1]), 1e-5);
  EXPECT_LT(MaxAbsDiff(gx[0], gx[1]), 1e-4);
  EXPECT_LT(MaxAbsDiff(gw[0], gw[2]), 1e-4);
  EXPECT_LT(MaxAbsDiff(gw[1], gw[3]), 1e-4);
}

// Output and gradients (x, c_fc, c_proj) of one forward + backward with given routing.
struct PathRun {
  torch::Tensor y, gx, gfc, gproj;
};
PathRun RunPath(RoutedMLP& m, RoutedCompute mode, const torch::Tensor& x_in,
                const torch::Tensor& idx, const torch::Tensor& w) {
  m->set_compute(mode);
  m->zero_grad();
  torch::Tensor x = x_in.detach().clone().requires_grad_(true);
  torch::Tensor y = m->ApplyRouting(x, idx, w);
  (y * y).sum().backward();
  return {y.detach(), x.grad(), m->c_fc->weight.grad().clone(), m->c_proj->weight.grad().clone()};
}

TEST(RoutedMLPTest, AutoTakesTheCostModelsPathAndBothAgreeWhereItSwitches) {
  // H 128, I 512, P 64, 512 tokens: the cost model picks gather for small k and mask from some k
  // on (routed_mlp_cost_test); on both sides of the switch kAuto must be bit-identical to the
  // path it names and the two paths equal within fp32 rounding.
  RoutedMLPOptions o = Opts(64, 1);
  o.mlp.hidden_size = o.router.hidden_size = 128;
  o.mlp.intermediate_size = 512;
  const int64_t n = 512;
  RoutedMlpShape shape;
  shape.tokens = n;
  shape.hidden = 128;
  shape.intermediate = 512;
  shape.pathways = 64;
  int64_t last_gather = 0, first_mask = 0;
  for (int64_t k = 1; k <= 32 && first_mask == 0; ++k) {
    shape.top_k = k;
    if (ChooseRoutedCompute(shape, true) == RoutedCompute::kGather) last_gather = k;
    if (ChooseRoutedCompute(shape, true) == RoutedCompute::kMask) first_mask = k;
  }
  ASSERT_GT(last_gather, 0) << "the cost model never picks gather at this shape";
  ASSERT_EQ(first_mask, last_gather + 1) << "expected one switch along k";
  torch::manual_seed(8);
  RoutedMLP m(o);
  torch::Tensor x = torch::randn({n, 128});
  for (int64_t k : {last_gather, first_mask}) {
    shape.top_k = k;
    const RoutedCompute expect = ChooseRoutedCompute(shape, true);
    torch::Tensor idx = std::get<1>(torch::rand({n, 64}).topk(k, 1));
    torch::Tensor w = torch::softmax(torch::randn({n, k}), 1);
    m->set_compute(RoutedCompute::kAuto);
    EXPECT_EQ(m->PathFor(x, k), expect) << "k=" << k;
    PathRun a = RunPath(m, RoutedCompute::kAuto, x, idx, w);
    PathRun e = RunPath(m, expect, x, idx, w);
    PathRun mask = RunPath(m, RoutedCompute::kMask, x, idx, w);
    PathRun gather = RunPath(m, RoutedCompute::kGather, x, idx, w);
    EXPECT_TRUE(torch::equal(a.y, e.y) && torch::equal(a.gx, e.gx) && torch::equal(a.gfc, e.gfc) &&
                torch::equal(a.gproj, e.gproj))
        << "k=" << k;
    EXPECT_LT(MaxAbsDiff(mask.y, gather.y), 1e-4) << "k=" << k;
    EXPECT_LT(MaxAbsDiff(mask.gx, gather.gx), 1e-3) << "k=" << k;
    EXPECT_LT(MaxAbsDiff(mask.gfc, gather.gfc), 1e-2) << "k=" << k;
    EXPECT_LT(MaxAbsDiff(mask.gproj, gather.gproj), 1e-2) << "k=" << k;
  }
}

TEST(RoutedMLPTest, AutoIsMaskOffTheCpuAndForExplicitPaths) {
  RoutedMLP m(Opts());
  torch::Tensor x = torch::randn({4, 32});
  m->set_compute(RoutedCompute::kGather);
  EXPECT_EQ(m->PathFor(x, 4), RoutedCompute::kGather);
  m->set_compute(RoutedCompute::kMask);
  EXPECT_EQ(m->PathFor(x, 4), RoutedCompute::kMask);
  m->set_compute(RoutedCompute::kAuto);
  EXPECT_NE(m->PathFor(x, 4), RoutedCompute::kAuto);
  if (torch::cuda::is_available()) {
    EXPECT_EQ(m->PathFor(x.to(torch::kCUDA), 1), RoutedCompute::kMask);
  }
}

TEST(RoutedMLPTest, DisabledPathwayIsNeverSelected) {
  torch::manual_seed(5);
  RoutedMLP m(Opts());
  torch::Tensor x = torch::randn({64, 32});
  auto [y0, info0] = m->forward(x);
  // Disable the most used pathway.
  torch::Tensor counts = torch::bincount(info0.topk_indices.reshape({-1}), {}, 16);
  const int64_t top = counts.argmax().item<int64_t>();
  ASSERT_GT(counts[top].item<int64_t>(), 0);
  torch::Tensor enabled = torch::ones({16}, torch::kBool);
  enabled[top] = false;
  m->router->SetPathwayMask(enabled);
  auto [y1, info1] = m->forward(x);
  EXPECT_EQ((info1.topk_indices == top).sum().item<int64_t>(), 0);
  EXPECT_EQ(info1.probs.select(1, top).abs().max().item<float>(), 0.0f);
  EXPECT_LT(MaxAbsDiff(info1.probs.sum(-1), torch::ones({64})), 1e-5);
  m->router->SetPathwayMask(torch::Tensor());
  auto [y2, info2] = m->forward(x);
  EXPECT_TRUE(torch::equal(info2.topk_indices, info0.topk_indices));
}

TEST(RoutedMLPTest, SelectionBiasChangesChoiceButWeightsUseProbs) {
  torch::manual_seed(6);
  RoutedMLP m(Opts());
  torch::Tensor x = torch::randn({32, 32});
  {
    torch::NoGradGuard ng;
    m->router->selection_bias()[9] = 10.0;  // forces pathway 9 into every top-k
  }
  m->router->set_use_selection_bias(true);
  auto [y, info] = m->forward(x);
  EXPECT_EQ((info.topk_indices == 9).any(1).sum().item<int64_t>(), 32);
  torch::Tensor topv = info.probs.gather(1, info.topk_indices);
  EXPECT_LT(MaxAbsDiff(info.topk_weights, topv / topv.sum(-1, true)), 1e-6);
}

TEST(RoutedMLPTest, TemperatureSharpensProbabilities) {
  torch::manual_seed(7);
  RoutedMLPOptions o = Opts();
  o.router.temperature = 0.25;
  RoutedMLP sharp(o);
  RoutedMLP plain(Opts());
  torch::NoGradGuard ng;
  for (size_t i = 0; i < plain->parameters().size(); ++i) {
    plain->parameters()[i].copy_(sharp->parameters()[i]);
  }
  torch::Tensor x = torch::randn({16, 32});
  auto a = plain->forward(x).second, b = sharp->forward(x).second;
  EXPECT_LT(MaxAbsDiff(b.probs, torch::softmax(torch::log(a.probs) / 0.25, -1)), 1e-5);
}

}  // namespace
}  // namespace monoroute::model
