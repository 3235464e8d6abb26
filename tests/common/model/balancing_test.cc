// Balancing: GLBL gradient vs finite differences, f over accumulation == f over the
// concatenated batch, EMA update, Switch LBL, aux-free bias update, stats, state round trip.
#include "common/model/balancing.h"

#include <gtest/gtest.h>

#include <cmath>

#include "common/model/gpt_neo.h"
#include "tests/common/model/test_util.h"

namespace monoroute::model {
namespace {

using testing::SmallConfig;

using testing::MaxAbsDiff;

std::unique_ptr<LoadBalancer> MakeBalancer(const GPTNeoImpl& m, BalancingMethod method,
                                           double momentum) {
  LoadBalancerOptions o;
  o.balancing.method = method;
  o.balancing.ema_momentum = momentum;
  o.balancing.alpha = 0.01;
  o.num_pathways = m.routing()->num_pathways;
  o.layers = m.routed_layers();
  auto b = LoadBalancer::Create(o);
  EXPECT_TRUE(b.ok()) << b.status();
  return std::move(*b);
}

TEST(BalancingTest, GlblGradientMatchesFiniteDifferences) {
  torch::manual_seed(0);
  const int64_t n = 12, p = 6;
  torch::Tensor scores = torch::randn({n, p}, torch::kDouble).requires_grad_(true);
  torch::Tensor f = torch::rand({p}, torch::kDouble);
  f = f / f.sum();
  auto loss_of = [&](const torch::Tensor& s) { return BalanceLoss(torch::softmax(s, -1), f); };
  torch::Tensor loss = loss_of(scores);
  loss.backward();
  torch::Tensor grad = scores.grad();
  const double eps = 1e-6;
  torch::NoGradGuard ng;
  double worst = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < p; ++j) {
      torch::Tensor plus = scores.detach().clone(), minus = scores.detach().clone();
      plus[i][j] += eps;
      minus[i][j] -= eps;
      const double fd = (loss_of(plus).item<double>() - loss_of(minus).item<double>()) / (2 * eps);
      worst = std::max(worst, std::abs(fd - grad[i][j].item<double>()));
    }
  }
  EXPECT_LT(worst, 1e-8);
  // Value: P * sum f * mean probs.
  const double expect = p * (f * torch::softmax(scores.detach(), -1).mean(0)).sum().item<double>();
  EXPECT_NEAR(loss.item<double>(), expect, 1e-12);
}

TEST(BalancingTest, FrequencyOverAccumulationEqualsConcatenatedBatch) {
  torch::manual_seed(1);
  GPTNeo m(SmallConfig(), RoutingConfig{});
  torch::Tensor ids = torch::randint(0, 128, {6, 16}, torch::kLong);
  auto accumulated = MakeBalancer(*m, BalancingMethod::kGlbl, 0.0);
  auto whole = MakeBalancer(*m, BalancingMethod::kGlbl, 0.0);
  torch::NoGradGuard ng;
  ForwardOptions fo;
  fo.return_logits = false;
  accumulated->BeginStep();
  for (int64_t s = 0; s < 6; s += 2) {
    ASSERT_TRUE(accumulated->Accumulate(m->forward(ids.narrow(0, s, 2), fo).routing).ok());
  }
  ASSERT_TRUE(accumulated->FinalizeCounts().ok());
  whole->BeginStep();
  ForwardOutput all = m->forward(ids, fo);
  ASSERT_TRUE(whole->Accumulate(all.routing).ok());
  ASSERT_TRUE(whole->FinalizeCounts().ok());
  EXPECT_TRUE(torch::equal(accumulated->counts(), whole->counts()));
  EXPECT_LT(MaxAbsDiff(accumulated->f(), whole->f()), 1e-7);
  EXPECT_LT(MaxAbsDiff(accumulated->f().sum(1), torch::ones({2})), 1e-6);
  // f equals the direct count over the concatenated batch.
  torch::Tensor direct = AssignmentCounts(all.routing[0].topk_indices, 16);
  EXPECT_LT(MaxAbsDiff(whole->f()[0], direct / direct.sum()), 1e-7);
  // The loss of each micro-batch uses the step's f, so the summed micro-batch losses (weighted by
  // their token share) equal the loss on the whole batch.
  auto l_whole = whole->Loss(all.routing);
  ASSERT_TRUE(l_whole.ok());
  double sum = 0.0;
  for (int64_t s = 0; s < 6; s += 2) {
    auto l = accumulated->Loss(m->forward(ids.narrow(0, s, 2), fo).routing);
    ASSERT_TRUE(l.ok());
    sum += l->item<double>() / 3.0;
  }
  EXPECT_NEAR(sum, l_whole->item<double>(), 1e-7);
}

TEST(BalancingTest, EmaUpdate) {
  LoadBalancerOptions o;
  o.balancing.ema_momentum = 0.75;
  o.num_pathways = 4;
  o.layers = {0};
  auto b = LoadBalancer::Create(o);
  ASSERT_TRUE(b.ok());
  auto step = [&](std::vector<int64_t> idx) {
    RoutingInfo r;
    r.topk_indices = torch::tensor(idx, torch::kLong).view({-1, 1});
    (*b)->BeginStep();
    ASSERT_TRUE((*b)->Accumulate({r}).ok());
    ASSERT_TRUE((*b)->FinalizeCounts().ok());
  };
  step({0, 0, 1, 1});  // first step: no history, f = [.5, .5, 0, 0]
  EXPECT_LT(MaxAbsDiff((*b)->f()[0], torch::tensor({0.5, 0.5, 0.0, 0.0})), 1e-7);
  step({3, 3, 3, 3});  // f = .75 f + .25 [0, 0, 0, 1]
  EXPECT_LT(MaxAbsDiff((*b)->f()[0], torch::tensor({0.375, 0.375, 0.0, 0.25})), 1e-7);
  // State round trip keeps the EMA.
  auto state = (*b)->StateDict();
  auto c = LoadBalancer::Create(o);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->LoadStateDict(state).ok());
  RoutingInfo r;
  r.topk_indices = torch::tensor({2, 2}, torch::kLong).view({-1, 1});
  for (auto* x : {b->get(), c->get()}) {
    x->BeginStep();
    ASSERT_TRUE(x->Accumulate({r}).ok());
    ASSERT_TRUE(x->FinalizeCounts().ok());
  }
  EXPECT_TRUE(torch::equal((*b)->f(), (*c)->f()));
  state.erase("balancing.ema_f");
  EXPECT_EQ((*c)->LoadStateDict(state).code(), absl::StatusCode::kNotFound);
}

TEST(BalancingTest, AllReduceHookSeesCounts) {
  LoadBalancerOptions o;
  o.num_pathways = 2;
  o.layers = {0};
  o.balancing.ema_momentum = 0;
  auto b = LoadBalancer::Create(o);
  ASSERT_TRUE(b.ok());
  (*b)->SetAllReduce([](torch::Tensor& counts) {
    counts.add_(torch::tensor({{0.0f, 2.0f}}));
    return absl::OkStatus();
  });
  RoutingInfo r;
  r.topk_indices = torch::tensor({0, 0}, torch::kLong).view({-1, 1});
  (*b)->BeginStep();
  ASSERT_TRUE((*b)->Accumulate({r}).ok());
  ASSERT_TRUE((*b)->FinalizeCounts().ok());
  EXPECT_LT(MaxAbsDiff((*b)->f()[0], torch::tensor({0.5, 0.5})), 1e-7);
}

TEST(BalancingTest, SwitchUsesMicroBatchFrequencies) {
  torch::manual_seed(2);
  GPTNeo m(SmallConfig(), RoutingConfig{});
  auto b = MakeBalancer(*m, BalancingMethod::kSwitch, 0.0);
  torch::Tensor ids = torch::randint(0, 128, {2, 16}, torch::kLong);
  ForwardOptions fo;
  fo.return_logits = false;
  ForwardOutput out = m->forward(ids, fo);
  b->BeginStep();
  auto loss = b->Loss(out.routing);  // no FinalizeCounts needed
  ASSERT_TRUE(loss.ok()) << loss.status();
  double expect = 0.0;
  for (const auto& r : out.routing) {
    torch::Tensor c = AssignmentCounts(r.topk_indices, 16);
    expect += BalanceLoss(r.probs, c / c.sum()).item<double>();
  }
  EXPECT_NEAR(loss->item<double>(), 0.01 * expect, 1e-7);  // alpha x the sum over the 2 layers
  loss->backward();
  EXPECT_TRUE(m->router(0)->fc1->weight.grad().defined());
}

TEST(BalancingTest, GlblLossNeedsFinalizedCounts) {
  torch::manual_seed(2);
  GPTNeo m(SmallConfig(), RoutingConfig{});
  auto b = MakeBalancer(*m, BalancingMethod::kGlbl, 0.9);
  b->BeginStep();
  ForwardOutput out = m->forward(torch::randint(0, 128, {1, 8}, torch::kLong));
  EXPECT_EQ(b->Loss(out.routing).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(b->Accumulate({}).code(), absl::StatusCode::kInvalidArgument);
}

TEST(BalancingTest, AuxFreeBiasMovesTowardUnderloadedPathways) {
  torch::manual_seed(3);
  RoutingConfig rc;
  rc.balancing.method = BalancingMethod::kAuxFree;
  rc.balancing.bias_update_rate = 0.05;
  GPTNeo m(SmallConfig(), rc);
  auto b = MakeBalancer(*m, BalancingMethod::kAuxFree, 0.0);
  LoadBalancerOptions o = b->options();
  o.balancing.bias_update_rate = 0.05;
  b = std::move(*LoadBalancer::Create(o));
  torch::Tensor ids = torch::randint(0, 128, {4, 16}, torch::kLong);
  torch::NoGradGuard ng;
  b->BeginStep();
  ForwardOutput out = m->forward(ids);
  ASSERT_TRUE(b->Accumulate(out.routing).ok());
  ASSERT_TRUE(b->FinalizeCounts().ok());
  auto loss = b->Loss(out.routing);
  ASSERT_TRUE(loss.ok());
  EXPECT_EQ(loss->item<float>(), 0.0f);
  ASSERT_TRUE(b->EndStep(*m).ok());
  torch::Tensor counts = b->counts()[0];
  torch::Tensor bias = m->router(0)->selection_bias();
  torch::Tensor expect = (counts.mean() - counts).sign() * 0.05;
  EXPECT_LT(MaxAbsDiff(bias, expect), 1e-7);
  ASSERT_EQ(b->Stats().size(), 2u);
  const auto& s = b->Stats()[0];
  EXPECT_EQ(s.layer, 0);
  double sum = 0;
  for (double l : s.load) sum += l;
  EXPECT_NEAR(sum, 1.0, 1e-9);
  EXPECT_NEAR(s.max_vio, MaxViolation(s.load), 1e-12);
}

TEST(BalancingTest, StatsHelpers) {
  EXPECT_NEAR(MaxViolation({0.25, 0.25, 0.25, 0.25}), 0.0, 1e-12);
  EXPECT_NEAR(MaxViolation({0.5, 0.5, 0.0, 0.0}), 1.0, 1e-12);
  EXPECT_NEAR(LoadEntropy({0.25, 0.25, 0.25, 0.25}), std::log(4.0), 1e-12);
  EXPECT_NEAR(LoadEntropy({1.0, 0.0}), 0.0, 1e-12);
}

}  // namespace
}  // namespace monoroute::model
