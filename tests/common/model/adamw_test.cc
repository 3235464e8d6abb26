// FusedAdamW equals LibTorch's AdamW (the same formula as torch.optim.AdamW), and its state
// round-trips.
#include "common/model/adamw.h"

#include <gtest/gtest.h>

#include "tests/common/model/test_util.h"

namespace monoroute::model {
namespace {

using testing::MaxAbsDiff;

TEST(FusedAdamWTest, MatchesTorchAdamW) {
  torch::manual_seed(0);
  torch::Tensor a = torch::randn({300, 7}).requires_grad_(true);
  torch::Tensor b = a.detach().clone().requires_grad_(true);
  torch::Tensor a2 = torch::randn({5}).requires_grad_(true);
  torch::Tensor b2 = a2.detach().clone().requires_grad_(true);
  AdamWOptions o;
  o.lr = 0.01;
  o.weight_decay = 0.1;
  FusedAdamW mine({a, a2}, o);
  torch::optim::AdamW ref({b, b2}, torch::optim::AdamWOptions(0.01).weight_decay(0.1));
  for (int step = 0; step < 5; ++step) {
    torch::Tensor x = torch::randn({7});
    mine.ZeroGrad();
    ((a.matmul(x)).pow(2).sum() + a2.sum() * step).backward();
    mine.Step();
    ref.zero_grad();
    ((b.matmul(x)).pow(2).sum() + b2.sum() * step).backward();
    ref.step();
  }
  EXPECT_LT(MaxAbsDiff(a, b), 1e-5);
  EXPECT_LT(MaxAbsDiff(a2, b2), 1e-5);
  EXPECT_EQ(mine.step_count(), 5);
  EXPECT_FALSE(a.grad().defined() && false);
  mine.ZeroGrad();
  EXPECT_FALSE(a.grad().defined());
}

TEST(FusedAdamWTest, StateRoundTripContinuesIdentically) {
  torch::manual_seed(1);
  torch::Tensor p = torch::randn({64}).requires_grad_(true);
  torch::Tensor q = p.detach().clone().requires_grad_(true);
  FusedAdamW a({p}, {});
  auto run = [](FusedAdamW& opt, torch::Tensor& t, int steps) {
    for (int i = 0; i < steps; ++i) {
      opt.ZeroGrad();
      (t * t * (i + 1)).sum().backward();
      opt.Step();
    }
  };
  run(a, p, 3);
  FusedAdamW b({q}, {});
  {
    torch::NoGradGuard ng;
    q.copy_(p);
  }
  ASSERT_TRUE(b.LoadStateDict(a.StateDict()).ok());
  run(a, p, 2);
  run(b, q, 2);
  EXPECT_TRUE(torch::equal(p, q));
  auto bad = a.StateDict();
  bad.erase("adamw.exp_avg.0");
  EXPECT_EQ(b.LoadStateDict(bad).code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace monoroute::model
