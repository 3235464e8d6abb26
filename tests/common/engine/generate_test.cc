// Tests of Generate, its sampler and the steered forward, on a tiny routed checkpoint trained in
// the test: the sampler's fixed numbers (shared with monoroute_client.sampling), steering equal to
// the offline ablation's masks and acting only through the steered pathway, the model card.
#include "common/engine/generate.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/engine/generate_forward.h"
#include "common/engine/hf_extras.h"
#include "common/model/checkpoint.h"
#include "tests/common/engine/test_util.h"

namespace monoroute::engine {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(GenerateSamplerTest, SplitMix64MatchesTheReferenceStream) {
  // The first outputs of Vigna's splitmix64 seeded with 0 (state advanced before mixing).
  EXPECT_EQ(SplitMix64(0), 0xE220A8397B1DCDAFULL);
  EXPECT_EQ(SplitMix64(0x9E3779B97F4A7C15ULL), 0x6E789E6AA1B965F4ULL);
  const double u = SamplerUniform(42, 7);
  EXPECT_GE(u, 0.0);
  EXPECT_LT(u, 1.0);
  EXPECT_NE(SamplerUniform(42, 7), SamplerUniform(42, 8));
  EXPECT_NE(SamplerUniform(42, 7), SamplerUniform(43, 7));
}

TEST(GenerateSamplerTest, GreedyTakesTheLowestIdAmongTies) {
  const float logits[] = {0.f, 2.f, 1.f, 2.f};
  EXPECT_EQ(SampleNext(logits, 4, 0.0, 0, 1, 0), 1);
  // top_k 1 is greedy too, at any temperature and seed.
  for (uint64_t step = 0; step < 50; ++step) EXPECT_EQ(SampleNext(logits, 4, 3.0, 1, 9, step), 1);
}

TEST(GenerateSamplerTest, SamplesFollowTheSoftmax) {
  // p(1) = 3/4 with logits {0, log 3}; top_k 0 keeps both; top_k never picks outside its set.
  const float logits[] = {0.f, static_cast<float>(std::log(3.0)), -50.f};
  int ones = 0;
  const int n = 4000;
  for (int step = 0; step < n; ++step) {
    const int32_t t = SampleNext(logits, 3, 1.0, 2, 5, step);
    ASSERT_TRUE(t == 0 || t == 1);
    ones += t == 1;
  }
  EXPECT_NEAR(static_cast<double>(ones) / n, 0.75, 0.03);
  // Deterministic: the same (seed, step) gives the same token.
  EXPECT_EQ(SampleNext(logits, 3, 1.0, 0, 5, 17), SampleNext(logits, 3, 1.0, 0, 5, 17));
}

TEST(GenerateRoutingTest, PositionRoutingHasEveryPositionAndRoutedLayer) {
  // Two routed layers (1 and 3) of a [1, 2] forward, top-2.
  model::ForwardOutput out;
  for (int64_t layer : {1, 3}) {
    model::RoutingInfo info;
    info.layer = layer;
    info.topk_indices = torch::tensor({{4, 0}, {2, 1}}, torch::kInt64) + layer;
    info.topk_weights = torch::tensor({{0.75f, 0.25f}, {0.5f, 0.5f}});
    out.routing.push_back(info);
  }
  const std::vector<std::vector<TokenRouting>> p = PositionRouting(out);
  ASSERT_EQ(p.size(), 2u);
  ASSERT_EQ(p[1].size(), 2u);
  EXPECT_EQ(p[0][0].layer, 1);
  EXPECT_EQ(p[0][0].pathways, (std::vector<int>{5, 1}));
  EXPECT_EQ(p[0][0].weights, (std::vector<double>{0.75, 0.25}));
  EXPECT_EQ(p[1][1].layer, 3);
  EXPECT_EQ(p[1][1].pathways, (std::vector<int>{5, 4}));
  EXPECT_EQ(p[1][1].weights, (std::vector<double>{0.5, 0.5}));
}

TEST(GenerateParseTest, PathwayRefsAndScales) {
  auto ref = ParsePathwayRef("2:6", "--ablate");
  ASSERT_TRUE(ref.ok()) << ref.status();
  EXPECT_EQ(*ref, std::make_pair(2, 6));
  auto sc = ParsePathwayScale("0:3=1.5", "--scale");
  ASSERT_TRUE(sc.ok()) << sc.status();
  EXPECT_EQ(sc->layer, 0);
  EXPECT_EQ(sc->pathway, 3);
  EXPECT_DOUBLE_EQ(sc->factor, 1.5);
  EXPECT_THAT(ParsePathwayRef("2-6", "--ablate").status().message(), HasSubstr("--ablate"));
  EXPECT_THAT(ParsePathwayScale("2:6", "--scale").status().message(), HasSubstr("--scale"));
  EXPECT_FALSE(ParsePathwayScale("2:6=nan", "--scale").ok());
}

class GenerateTest : public testing::TinyCheckpointTest {
 protected:
  static GenerateOptions Options() {
    GenerateOptions o;
    o.model_dir = *model_dir_;
    o.prompt = "Once upon a time, Lily went to the";
    o.max_new_tokens = 8;
    return o;
  }
};

TEST_F(GenerateTest, CheckpointCarriesModelCardAndConfigs) {
  namespace fs = std::filesystem;
  for (const char* f : {"README.md", "tokenizer_config.json", "generation_config.json"}) {
    EXPECT_TRUE(fs::is_regular_file(fs::path(*model_dir_) / f)) << f;
  }
  std::ifstream in(fs::path(*model_dir_) / "README.md");
  std::stringstream card;
  card << in.rdbuf();
  EXPECT_THAT(card.str(), HasSubstr("pathway-routing"));
  EXPECT_THAT(card.str(), HasSubstr("trust_remote_code=True"));
  EXPECT_THAT(card.str(), HasSubstr("at step 6"));
  std::ifstream g(fs::path(*model_dir_) / "generation_config.json");
  nlohmann::json gen = nlohmann::json::parse(g);
  EXPECT_EQ(gen["eos_token_id"], 50256);
  std::ifstream t(fs::path(*model_dir_) / "tokenizer_config.json");
  EXPECT_EQ(nlohmann::json::parse(t)["tokenizer_class"], "GPT2Tokenizer");
  // A known headline is written into the card.
  HfExtrasOptions ho;
  ho.headline = "layer 0: KL excess 0.12 nats";
  auto mc = model::ReadModelConfig(*model_dir_);
  ASSERT_TRUE(mc.ok()) << mc.status();
  EXPECT_THAT(ModelCardMarkdown(mc->config, mc->routing, ho), HasSubstr(ho.headline));
  // `monoroute report --model-card` replaces the Report section only, and again on a rerun.
  const std::string with = WithReportSection(card.str(), "- layer 0: an answer\n");
  EXPECT_THAT(with, HasSubstr("## Report\n\n- layer 0: an answer\n"));
  EXPECT_THAT(with, Not(HasSubstr("Not computed")));
  EXPECT_THAT(with, HasSubstr("trust_remote_code=True"));
  const std::string again = WithReportSection(with, "- layer 0: a newer answer\n");
  EXPECT_THAT(again, Not(HasSubstr("an answer")));
  EXPECT_EQ(again.find("## Report"), again.rfind("## Report"));
  EXPECT_THAT(WithReportSection("# card\n", "x\n"),
              ::testing::EndsWith("# card\n\n## Report\n\nx\n"));
}

TEST_F(GenerateTest, GreedyIsDeterministicAndReportsRouting) {
  auto a = Generate(Options());
  ASSERT_TRUE(a.ok()) << a.status();
  auto b = Generate(Options());
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->ids, b->ids);
  ASSERT_EQ(a->ids.size(), 8u);
  ASSERT_EQ(a->tokens.size(), 8u);
  ASSERT_EQ(a->tokens[0].routing.size(), 1u);  // layer 0 routed (TinyJob)
  EXPECT_EQ(a->tokens[0].routing[0].layer, 0);
  EXPECT_EQ(a->tokens[0].routing[0].pathways.size(), 2u);
  double sum = 0;
  for (double w : a->tokens[0].routing[0].weights) sum += w;
  EXPECT_NEAR(sum, 1.0, 1e-5);
  nlohmann::json j = nlohmann::json::parse(GenerateResultToJson(*a));
  EXPECT_EQ(j["ids"].size(), 8u);
  EXPECT_TRUE(j["text"].is_string());
  EXPECT_EQ(j["tokens"][0]["routing"][0]["pathways"].size(), 2u);
  // Sampling with a seed is reproducible too.
  GenerateOptions s = Options();
  s.temperature = 0.9;
  s.top_k = 20;
  s.seed = 11;
  auto c = Generate(s), d = Generate(s);
  ASSERT_TRUE(c.ok() && d.ok());
  EXPECT_EQ(c->ids, d->ids);
}

TEST_F(GenerateTest, BadArgumentsNameTheField) {
  GenerateOptions o = Options();
  o.ablate = {{1, 0}};  // layer 1 is not routed
  EXPECT_THAT(Generate(o).status().message(), HasSubstr("ablate: layer 1 is not routed"));
  o = Options();
  o.scale = {{0, 8, 2.0}};
  EXPECT_THAT(Generate(o).status().message(), HasSubstr("scale: pathway 8"));
  o = Options();
  o.max_new_tokens = 1000;
  EXPECT_THAT(Generate(o).status().message(), HasSubstr("max_new_tokens"));
  o = Options();
  o.ablate = {{0, 0}, {0, 1}, {0, 2}, {0, 3}, {0, 4}, {0, 5}, {0, 6}};
  EXPECT_THAT(Generate(o).status().message(), HasSubstr("fewer than top_k"));
  o = Options();
  o.prompt = "";
  EXPECT_EQ(Generate(o).status().code(), absl::StatusCode::kInvalidArgument);
}

// The tiny model, kLength random ids drawn with `seed`, and the model's intact forward on them
// (made under the caller's NoGradGuard).
struct Probe {
  static constexpr int64_t kLength = 48;
  static absl::StatusOr<Probe> Make(const std::string& model_dir, uint64_t seed) {
    auto m = model::LoadGPTNeo(model_dir);
    if (!m.ok()) return m.status();
    Probe p{*m};
    torch::manual_seed(seed);
    p.ids = torch::randint(0, 50257, {1, kLength}, torch::kLong);
    p.intact = p.model->forward(p.ids);
    return p;
  }
  // The pathway of layer 0 used last for the first time along `ids` (intact routing), and that
  // position.
  std::pair<int, int64_t> LatestFirstUse() const {
    torch::Tensor idx = intact.routing[0].topk_indices.view({kLength, -1});
    std::pair<int, int64_t> best{-1, -1};
    for (int p = 0; p < idx.max().item<int>() + 1; ++p) {
      torch::Tensor hits = (idx == p).any(1).nonzero();
      if (hits.numel() == 0) continue;
      const int64_t first = hits[0][0].item<int64_t>();
      if (first > best.second) best = {p, first};
    }
    return best;
  }
  model::CausalLM model;
  torch::Tensor ids;
  model::ForwardOutput intact;
};

TEST_F(GenerateTest, AblationEqualsTheOfflineMaskAndActsOnlyThroughThePathway) {
  torch::NoGradGuard no_grad;
  auto probe = Probe::Make(*model_dir_, 3);
  ASSERT_TRUE(probe.ok()) << probe.status();
  auto& [m, ids, intact] = *probe;
  auto [p, first] = probe->LatestFirstUse();
  ASSERT_GT(first, 0) << "every pathway is used at position 0";
  auto steering = MakeSteering(*m, {{0, p}}, {});
  ASSERT_TRUE(steering.ok()) << steering.status();
  ASSERT_TRUE(ApplyPathwayMasks(*m, *steering).ok());
  model::ForwardOutput steered = SteeredForward(*m, ids, *steering);
  // The offline ablation (ablation.cc) disables the pathway with SetPathwayMask: same logits.
  ASSERT_TRUE(m->SetPathwayMask(0, steering->enabled.at(0)).ok());
  model::ForwardOutput offline = m->forward(ids);
  EXPECT_TRUE(torch::equal(steered.logits, offline.logits));
  // Only through the pathway: before its first use nothing changes (up to the rounding of the
  // masked softmax, whose renormalised top-k weights are the same ratios), from there on the
  // logits move by far more.
  const double before = (steered.logits.narrow(1, 0, first) - intact.logits.narrow(1, 0, first))
                            .abs()
                            .max()
                            .item<double>();
  const double at = (steered.logits.narrow(1, first, 1) - intact.logits.narrow(1, first, 1))
                        .abs()
                        .max()
                        .item<double>();
  EXPECT_LT(before, 1e-5);
  EXPECT_GT(at, 1e-3);
  EXPECT_FALSE((steered.routing[0].topk_indices == p).any().item<bool>());
  ASSERT_TRUE(ApplyPathwayMasks(*m, Steering{}).ok());
  EXPECT_TRUE(torch::equal(m->forward(ids).logits, intact.logits));
}

TEST_F(GenerateTest, ScalingActsOnlyThroughThePathway) {
  torch::NoGradGuard no_grad;
  auto probe = Probe::Make(*model_dir_, 4);
  ASSERT_TRUE(probe.ok()) << probe.status();
  auto& [m, ids, intact] = *probe;
  // Factor 1 on every pathway: the hand-written block loop equals GPTNeoImpl::forward.
  auto ones = MakeSteering(*m, {}, {{0, 0, 1.0}});
  ASSERT_TRUE(ones.ok());
  EXPECT_TRUE(torch::allclose(SteeredForward(*m, ids, *ones).logits, intact.logits, 0, 1e-6));
  auto [p, first] = probe->LatestFirstUse();
  ASSERT_GT(first, 0);
  auto boost = MakeSteering(*m, {}, {{0, p, 3.0}});
  ASSERT_TRUE(boost.ok());
  model::ForwardOutput steered = SteeredForward(*m, ids, *boost);
  EXPECT_TRUE(torch::allclose(steered.logits.narrow(1, 0, first), intact.logits.narrow(1, 0, first),
                              0, 1e-6));
  EXPECT_FALSE(torch::allclose(steered.logits.narrow(1, first, 1),
                               intact.logits.narrow(1, first, 1), 0, 1e-4));
  // Routing is unchanged at the scaled layer itself.
  EXPECT_TRUE(torch::equal(steered.routing[0].topk_indices, intact.routing[0].topk_indices));
}

}  // namespace
}  // namespace monoroute::engine
