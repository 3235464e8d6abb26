// Tests of controlled pathway ablation on a tiny routed checkpoint trained in the test (and copies
// of it with planted weights), and of the block bootstrap on synthetic sums with known truth.
#include "common/engine/ablation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "common/engine/eval_data.h"
#include "common/engine/train.h"
#include "common/model/checkpoint.h"
#include "common/model/routed_mlp.h"
#include "tests/common/engine/test_util.h"
#include "tests/testing/peak_rss.h"

namespace monoroute::engine {
namespace {

using ::testing::HasSubstr;

constexpr int kP = 8;  // pathways of the tiny model (TinyJob), top_k 2, layer 0 routed

class AblationTest : public testing::TinyCheckpointTest {
 protected:
  static AblationOptions Options() {
    AblationOptions o = EvalOn<AblationOptions>(8);
    o.layer = 0;
    o.pathway = 3;
    o.bootstrap = 400;
    o.seed = 7;
    o.threads = 1;
    return o;
  }
  // Loads the tiny checkpoint, applies `edit` (under NoGradGuard) and saves it as dir/name.
  static std::string Modified(const std::string& name,
                              const std::function<void(model::GPTNeoImpl&)>& edit) {
    absl::StatusOr<model::GPTNeo> m = model::LoadGPTNeo(*model_dir_);
    EXPECT_TRUE(m.ok()) << m.status();
    if (!m.ok()) return "";
    {
      torch::NoGradGuard no_grad;
      edit(**m);
    }
    absl::Status s = model::SaveGPTNeo(**m, dir_->Sub(name));
    EXPECT_TRUE(s.ok()) << s;
    return dir_->Sub(name);
  }
  // Per pathway of layer 0, the evaluation tokens whose intact top-k contains it.
  static std::vector<int64_t> Loads(const AblationOptions& o) {
    std::vector<int64_t> loads(kP, 0);
    absl::StatusOr<model::GPTNeo> m = model::LoadGPTNeo(o.model_dir);
    EXPECT_TRUE(m.ok()) << m.status();
    absl::StatusOr<std::unique_ptr<EvalData>> data = EvalData::Load(EvalDataOptionsFrom(o, 0));
    EXPECT_TRUE(data.ok()) << data.status();
    if (!m.ok() || !data.ok()) return loads;
    torch::NoGradGuard no_grad;
    (*m)->eval();
    for (const SequenceBatch& b : (*data)->batches()) {
      torch::Tensor t = torch::tensor(b.tokens).to(torch::kInt64).reshape({b.batch, b.seq_len + 1});
      model::ForwardOutput out = (*m)->forward(t.narrow(1, 0, b.seq_len).contiguous());
      torch::Tensor idx = out.routing.at(0).topk_indices.reshape({-1});
      for (int64_t i = 0; i < idx.numel(); ++i) ++loads[idx[i].item<int64_t>()];
    }
    return loads;
  }
};

TEST_F(AblationTest, ReportsTargetControlsTopTokensAndTheOldNumbers) {
  absl::StatusOr<AblationResult> r = RunPathwayAblation(Options());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->layer, 0);
  EXPECT_EQ(r->pathway, 3);
  EXPECT_GT(r->tokens, 0);
  EXPECT_EQ(r->tokens, r->sequences * 32);
  EXPECT_GT(r->selected_tokens, 0);
  EXPECT_LT(r->selected_tokens, r->tokens);
  // The mean increase over all tokens is the selection-weighted mix of selected and other.
  EXPECT_EQ(r->selected_increase, r->target_effect);
  double mix = (r->selected_increase * r->selected_tokens +
                r->other_increase * (r->tokens - r->selected_tokens)) /
               r->tokens;
  EXPECT_NEAR(mix, r->ablated_loss - r->base_loss, 1e-6);

  // Four distinct controls, other than the target, whose loads are the closest to the target's.
  ASSERT_EQ(r->controls.size(), 4u);
  std::set<int> chosen;
  int64_t worst = 0;
  double control_sum = 0;
  for (const AblationControl& c : r->controls) {
    EXPECT_NE(c.pathway, 3);
    EXPECT_GT(c.load, 0);
    EXPECT_TRUE(std::isfinite(c.effect));
    chosen.insert(c.pathway);
    worst = std::max(worst, std::abs(c.load - r->selected_tokens));
    control_sum += c.effect;
  }
  EXPECT_EQ(chosen.size(), 4u);
  EXPECT_NEAR(r->control_effect, control_sum / 4, 1e-12);
  // Loads counted independently (the intact model's top-k over the same windows): the target's is
  // |S_p|, the controls' are theirs, and every pathway left out is at least as far in load.
  std::vector<int64_t> loads = Loads(Options());
  EXPECT_EQ(r->selected_tokens, loads[3]);
  for (const AblationControl& c : r->controls) EXPECT_EQ(c.load, loads[c.pathway]);
  for (int q = 0; q < kP; ++q) {
    if (q == 3 || chosen.count(q)) continue;
    EXPECT_GE(std::abs(loads[q] - r->selected_tokens), worst) << "pathway " << q;
  }

  const BootstrapDifference& d = r->effect_difference;
  EXPECT_NEAR(d.estimate, r->target_effect - r->control_effect, 1e-12);
  EXPECT_EQ(d.replicates, 400);
  EXPECT_LT(d.low, d.high);
  EXPECT_GT(d.se, 0);

  // Top tokens: at most 10 ids, splitting the selected tokens.
  EXPECT_GE(r->top_token_ids.size(), 1u);
  EXPECT_LE(r->top_token_ids.size(), 10u);
  EXPECT_EQ(r->top_token_count + r->rest_token_count, r->selected_tokens);
  EXPECT_GT(r->top_token_count, 0);
  EXPECT_NEAR((r->top_increase * r->top_token_count + r->rest_increase * r->rest_token_count) /
                  r->selected_tokens,
              r->target_effect, 1e-9);
  EXPECT_NEAR(r->top_vs_rest.estimate, r->top_increase - r->rest_increase, 1e-12);
  EXPECT_LE(r->top_vs_rest.low, r->top_vs_rest.high);

  nlohmann::json j = nlohmann::json::parse(AblationResultToJson(*r));
  EXPECT_EQ(j["pathway"], 3);
  EXPECT_EQ(j["tokens"], r->tokens);
  EXPECT_FALSE(j.contains("ratio"));
  EXPECT_EQ(j["controls"].size(), 4u);
  EXPECT_EQ(j["controls"][0]["pathway"], r->controls[0].pathway);
  EXPECT_EQ(j["controls"][0]["load"], r->controls[0].load);
  EXPECT_DOUBLE_EQ(j["effect_difference"].get<double>(), d.estimate);
  EXPECT_DOUBLE_EQ(j["effect_difference_ci"][0].get<double>(), d.low);
  EXPECT_DOUBLE_EQ(j["effect_difference_ci"][1].get<double>(), d.high);
  EXPECT_EQ(j["interval"], "percentile");
  EXPECT_EQ(j["top_vs_rest_ci"].size(), 2u);
  EXPECT_EQ(j["other_increase"].get<double>(), r->other_increase);
}

TEST_F(AblationTest, TargetsShareTheIntactPassAndDoNotInfluenceEachOther) {
  AblationOptions o = Options();
  o.max_batches = 2;
  o.num_controls = 2;
  auto all = RunPathwayAblations(o, {{0, 0}, {0, 1}, {0, 7}});
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].tokens, 2 * 8 * 32);
  EXPECT_EQ((*all)[0].base_loss, (*all)[2].base_loss);
  o.pathway = 1;
  auto one = RunPathwayAblation(o);
  ASSERT_TRUE(one.ok()) << one.status();
  const AblationResult& a = (*all)[1];
  EXPECT_EQ(one->ablated_loss, a.ablated_loss);
  EXPECT_EQ(one->target_effect, a.target_effect);
  ASSERT_EQ(one->controls.size(), a.controls.size());
  for (size_t i = 0; i < a.controls.size(); ++i) {
    EXPECT_EQ(one->controls[i].pathway, a.controls[i].pathway);
    EXPECT_EQ(one->controls[i].effect, a.controls[i].effect);
  }
  EXPECT_EQ(one->effect_difference.low, a.effect_difference.low);
  EXPECT_EQ(one->effect_difference.high, a.effect_difference.high);
  EXPECT_EQ(one->top_vs_rest.se, a.top_vs_rest.se);
  // The same seed reproduces the intervals; another seed resamples differently.
  o.seed = 8;
  auto other_seed = RunPathwayAblation(o);
  ASSERT_TRUE(other_seed.ok());
  EXPECT_EQ(other_seed->effect_difference.estimate, a.effect_difference.estimate);
  EXPECT_NE(other_seed->effect_difference.low, a.effect_difference.low);
}

// Pathway 3 of layer 0 matters by construction: the layer's c_proj bias gets a large vector v
// that pathway 3 cancels exactly (its neurons output a constant, its c_proj slice maps it to -v),
// and the router's scores are scaled down so that every selected pathway's gate k * w is ~1
// (same ranking, so the same top-k). Tokens routed to 3 see the trained model; disabling 3 adds v
// to their residual stream, which swamps it. Disabling a control only swaps one trained pathway for
// another (or lets 3 in, which repairs the token).
TEST_F(AblationTest, PlantedPathwayBeatsItsControls) {
  std::string planted = Modified("planted", [](model::GPTNeoImpl& m) {
    model::RoutedMLPImpl& mlp = *m.blocks[0]->routed_mlp;
    const int64_t n = mlp.c_fc->weight.size(0) / kP;
    const int64_t h = mlp.c_proj->weight.size(0);
    mlp.router->fc2->weight.mul_(1e-3);
    mlp.router->fc2->bias.mul_(1e-3);
    torch::Tensor v = torch::linspace(-1.0, 1.0, h) * 50.0;
    mlp.c_proj->bias.add_(v);
    mlp.c_fc->weight.narrow(0, 3 * n, n).zero_();
    mlp.c_fc->bias.narrow(0, 3 * n, n).fill_(3.0);
    const double g = model::GeluNew(torch::tensor(3.0)).item<double>();
    mlp.c_proj->weight.narrow(1, 3 * n, n).copy_((-v / (g * n)).unsqueeze(1).expand({h, n}));
  });
  AblationOptions o = Options();
  o.model_dir = planted;
  absl::StatusOr<AblationResult> r = RunPathwayAblation(o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_GT(r->effect_difference.low, 0) << AblationResultToJson(*r);
  EXPECT_GT(r->target_effect, r->control_effect);
}

// Every pathway of layer 0 is made a copy of pathway 0 (c_fc rows and c_proj columns), so they are
// interchangeable: disabling any one only moves float rounding, and target and controls agree.
TEST_F(AblationTest, InterchangeablePathwaysShowNoDifference) {
  std::string symmetric = Modified("symmetric", [](model::GPTNeoImpl& m) {
    model::RoutedMLPImpl& mlp = *m.blocks[0]->routed_mlp;
    const int64_t n = mlp.c_fc->weight.size(0) / kP;
    for (int q = 1; q < kP; ++q) {
      mlp.c_fc->weight.narrow(0, q * n, n).copy_(mlp.c_fc->weight.narrow(0, 0, n));
      mlp.c_fc->bias.narrow(0, q * n, n).copy_(mlp.c_fc->bias.narrow(0, 0, n));
      mlp.c_proj->weight.narrow(1, q * n, n).copy_(mlp.c_proj->weight.narrow(1, 0, n));
    }
  });
  AblationOptions o = Options();
  o.model_dir = symmetric;
  absl::StatusOr<AblationResult> r = RunPathwayAblation(o);
  ASSERT_TRUE(r.ok()) << r.status();
  // Effects are float rounding (~1e-8 nats); the interval covers 0 up to that rounding.
  constexpr double kRounding = 1e-6;
  EXPECT_LT(std::abs(r->target_effect), kRounding);
  for (const AblationControl& c : r->controls) EXPECT_LT(std::abs(c.effect), kRounding);
  const BootstrapDifference& d = r->effect_difference;
  EXPECT_LT(std::abs(d.estimate), kRounding);
  EXPECT_LE(d.low, kRounding) << AblationResultToJson(*r);
  EXPECT_GE(d.high, -kRounding) << AblationResultToJson(*r);
  EXPECT_LT(d.high - d.low, kRounding);
}

// Aux-loss-free balancing adds selection_bias to the probabilities for the top-k choice; a
// disabled pathway must stay unselected however large its bias.
TEST_F(AblationTest, DisabledPathwayIsNeverSelectedUnderAuxFreeBias) {
  absl::StatusOr<model::GPTNeo> m = model::LoadGPTNeo(*model_dir_);
  ASSERT_TRUE(m.ok()) << m.status();
  model::PathwayRouter router = (*m)->router(0);
  ASSERT_FALSE(router.is_empty());
  torch::NoGradGuard no_grad;
  router->selection_bias()[5] = 1e6;
  router->set_use_selection_bias(true);
  torch::Tensor x = torch::randint(0, 1000, {2, 16}, torch::kInt64);
  model::ForwardOutput on = (*m)->forward(x);
  ASSERT_EQ(on.routing.size(), 1u);
  EXPECT_TRUE((on.routing[0].topk_indices == 5).any(1).all().item<bool>())
      << "the bias makes every token select pathway 5";
  torch::Tensor enabled = torch::ones({kP}, torch::kBool);
  enabled[5] = false;
  ASSERT_TRUE((*m)->SetPathwayMask(0, enabled).ok());
  model::ForwardOutput off = (*m)->forward(x);
  EXPECT_FALSE((off.routing[0].topk_indices == 5).any().item<bool>());
  EXPECT_EQ(off.routing[0].topk_indices.size(1), 2);

  // The same through the engine: a checkpoint marked aux_free with that bias. Every token selects
  // 5 intact; the ablated pass (which checks that 5 is never selected) succeeds.
  std::string dir =
      Modified("aux_free", [](model::GPTNeoImpl& mm) { mm.router(0)->selection_bias()[5] = 1e6; });
  nlohmann::json config;
  std::ifstream(dir + "/config.json") >> config;
  config["routing"]["balancing"]["method"] = "aux_free";
  std::ofstream(dir + "/config.json", std::ios::trunc) << config.dump(2);
  AblationOptions o = Options();
  o.model_dir = dir;
  o.pathway = 5;
  o.bootstrap = 50;
  absl::StatusOr<AblationResult> r = RunPathwayAblation(o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->selected_tokens, r->tokens);
  EXPECT_TRUE(std::isnan(r->other_increase));
  EXPECT_TRUE(std::isfinite(r->target_effect));
}

TEST_F(AblationTest, BadInputIsInvalidArgumentNamingTheField) {
  struct Case {
    std::function<void(AblationOptions&)> edit;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](AblationOptions& o) { o.layer = 1; }, "layer: 1 is not a routed layer"},
      {[](AblationOptions& o) { o.pathway = 8; }, "pathway: 8 is outside [0, 8)"},
      {[](AblationOptions& o) { o.pathway = -1; }, "pathway: -1 is outside [0, 8)"},
      {[](AblationOptions& o) { o.num_controls = 8; },
       "num_controls: 8 is outside [1, num_pathways - 1 = 7]"},
      {[](AblationOptions& o) { o.num_controls = 0; }, "num_controls: 0"},
      {[](AblationOptions& o) { o.bootstrap = -1; }, "bootstrap: -1"},
      {[](AblationOptions& o) { o.top_tokens = 0; }, "top_tokens: 0"},
      {[](AblationOptions& o) { o.seq_len = 65; }, "seq_len: 65"},
  };
  for (const Case& c : cases) {
    AblationOptions o = Options();
    c.edit(o);
    absl::StatusOr<AblationResult> r = RunPathwayAblation(o);
    ASSERT_FALSE(r.ok()) << c.message;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
    EXPECT_THAT(r.status().message(), HasSubstr(c.message));
  }
  AblationOptions o = Options();
  o.data_path = dir_->Sub("none.txt");
  absl::StatusOr<AblationResult> r = RunPathwayAblation(o);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("none.txt"));
  o = Options();
  o.model_dir = dir_->Sub("nomodel");
  r = RunPathwayAblation(o);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("nomodel"));
}

TEST_F(AblationTest, SeqLenFromTheCheckpointAndMaxTokens) {
  // The tiny checkpoint has 64 positions: the default sequence length (0) takes min(128, 64).
  AblationOptions o = Options();
  o.seq_len = 0;
  o.batch_size = 2;
  o.max_tokens = 256;  // ceil(256 / (64 * 2)) = 2 batches of 2 sequences
  o.bootstrap = 0;
  absl::StatusOr<AblationResult> r = RunPathwayAblation(o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->sequences, 4);
  EXPECT_EQ(r->tokens, 4 * 64);
  o.seq_len = -1;
  EXPECT_THAT(RunPathwayAblation(o).status().message(), HasSubstr("seq_len: -1 must be > 0"));
}

TEST_F(AblationTest, SparseTwoGiBTextIsReadOnlyAsFarAsMaxTokensNeeds) {
  // Stories, then a 2 GiB hole: Ablate reads the first MiB, not the file (issue: 12 GB and
  // growing). The peak RSS of the whole ablation (model, passes, bootstrap) stays small.
  const std::string path = dir_->Sub("sparse.txt");
  testing::WriteText(path, testing::StoryCorpus(100, /*seed=*/9));
  ASSERT_EQ(::truncate(path.c_str(), int64_t{2} << 30), 0);
  AblationOptions o = Options();
  o.data_path = path;
  o.seq_len = 0;
  o.max_tokens = 256;
  const bool reset = ::monoroute::testing::ResetPeakRss();
  const int64_t before = ::monoroute::testing::CurrentRssBytes();
  absl::StatusOr<AblationResult> r = RunPathwayAblation(o);
  const int64_t peak = ::monoroute::testing::PeakRssBytes();
  ::unlink(path.c_str());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->tokens, 8 * 64);  // one batch of 8 sequences of 64
  std::printf("[ Ablate, 2 GiB sparse text, max_tokens 256 ] peak RSS %.1f MiB (%.1f MiB before)\n",
              peak / 1048576.0, before / 1048576.0);
  if (reset) EXPECT_LT(peak - before, int64_t{128} << 20);
}

// --- The block bootstrap on synthetic per-sequence sums ---

// `sequences` rows of `slots` slots: each slot's tokens per sequence ~ 1 + Poisson(4), each
// token's increase = slot mean + a per-sequence shift shared by all slots (clustering) + noise.
SequenceSums Synthetic(int64_t sequences, const std::vector<double>& slot_means, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::poisson_distribution<int> tokens(4.0);
  std::normal_distribution<double> normal(0.0, 1.0);
  SequenceSums s;
  s.sequences = sequences;
  s.slots = static_cast<int>(slot_means.size());
  for (int64_t i = 0; i < sequences; ++i) {
    const double shift = 0.5 * normal(rng);
    for (double mean : slot_means) {
      const int n = 1 + tokens(rng);
      double sum = 0;
      for (int t = 0; t < n; ++t) sum += mean + shift + 0.5 * normal(rng);
      s.sum.push_back(sum);
      s.count.push_back(n);
    }
  }
  return s;
}

TEST(BlockBootstrapTest, IntervalsCoverTheTrueDifferenceAboutNinetyFivePercent) {
  // Slot 0 is the target (true mean 0.3), slots 1-4 controls (0.1 each): true difference 0.2.
  // Slots 5 and 6 are exchangeable (0.1 each): true difference 0.
  const std::vector<double> means = {0.3, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1};
  const std::vector<SlotDifference> diffs = {{{0}, {1, 2, 3, 4}}, {{5}, {6}}};
  constexpr int kSims = 200;
  int cover_effect = 0, cover_null = 0, above_zero = 0;
  for (int sim = 0; sim < kSims; ++sim) {
    SequenceSums s = Synthetic(60, means, 1000 + sim);
    auto r = BlockBootstrapDifferences(s, diffs, 400, sim);
    ASSERT_TRUE(r.ok()) << r.status();
    const BootstrapDifference& e = (*r)[0];
    const BootstrapDifference& z = (*r)[1];
    EXPECT_EQ(e.replicates, 400);
    cover_effect += e.low <= 0.2 && 0.2 <= e.high;
    cover_null += z.low <= 0 && 0 <= z.high;
    above_zero += e.low > 0;
  }
  // Binomial(200, 0.95) lies in [180, 198] with probability > 0.99; the percentile interval is a
  // little narrow at 60 blocks, so the lower bound leaves room.
  EXPECT_GE(cover_effect, 176);
  EXPECT_LE(cover_effect, 199);
  EXPECT_GE(cover_null, 176);
  EXPECT_LE(cover_null, 199);
  EXPECT_GE(above_zero, 190) << "a 0.2 difference at SE ~0.05 is found";
}

TEST(BlockBootstrapTest, DeterministicAndValidated) {
  SequenceSums s = Synthetic(20, {0.2, 0.1}, 5);
  auto a = BlockBootstrapDifferences(s, {{{0}, {1}}}, 100, 3);
  auto b = BlockBootstrapDifferences(s, {{{0}, {1}}}, 100, 3);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ((*a)[0].low, (*b)[0].low);
  EXPECT_EQ((*a)[0].se, (*b)[0].se);
  // The estimate is the difference of token-weighted means over all sequences.
  double s0 = 0, s1 = 0;
  int64_t n0 = 0, n1 = 0;
  for (int64_t i = 0; i < s.sequences; ++i) {
    s0 += s.sum[2 * i];
    n0 += s.count[2 * i];
    s1 += s.sum[2 * i + 1];
    n1 += s.count[2 * i + 1];
  }
  EXPECT_NEAR((*a)[0].estimate, s0 / n0 - s1 / n1, 1e-12);
  auto none = BlockBootstrapDifferences(s, {{{0}, {1}}}, 0, 3);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ((*none)[0].replicates, 0);
  EXPECT_TRUE(std::isnan((*none)[0].low));
  EXPECT_TRUE(std::isnan((*none)[0].se));
  auto empty_side = BlockBootstrapDifferences(s, {{{0}, {}}}, 10, 3);
  ASSERT_TRUE(empty_side.ok());
  EXPECT_TRUE(std::isnan((*empty_side)[0].estimate));
  auto bad = BlockBootstrapDifferences(s, {{{0}, {2}}}, 10, 3);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("slot 2"));
  s.count.pop_back();
  EXPECT_FALSE(BlockBootstrapDifferences(s, {{{0}, {1}}}, 10, 3).ok());
}

}  // namespace
}  // namespace monoroute::engine
