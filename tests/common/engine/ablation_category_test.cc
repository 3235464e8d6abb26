// Tests of the ablation's per-category breakdown (AblationOptions::lexicon) on a copy of the tiny
// routed checkpoint whose pathway 3 of layer 0 matters, by construction, only on the tokens of one
// lexicon category; and of its bad input.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "common/corpus/category_source.h"
#include "common/engine/ablation.h"
#include "common/model/checkpoint.h"
#include "common/model/routed_mlp.h"
#include "common/tokenizer/gpt2_tokenizer.h"
#include "tests/common/engine/test_util.h"

namespace monoroute::engine {
namespace {

using ::testing::HasSubstr;

constexpr int kP = 8;        // pathways of the tiny model (top_k 2, layer 0 routed)
constexpr double kK = 40.0;  // size of the planted "thing" flag in the residual stream
// Float rounding of an effect that is 0 by construction (the logits reach ~1e2, so ~1e-5 nats).
constexpr double kRounding = 1e-3;

// Parameter `key` (HF name) of `m`; undefined when absent.
torch::Tensor Param(model::GPTNeoImpl& m, const std::string& key) {
  for (const auto& kv : m.named_parameters()) {
    if (kv.key() == key) return kv.value();
  }
  ADD_FAILURE() << "no parameter " << key;
  return torch::Tensor();
}

// Plants the construction on `m`. Two residual dimensions (0, 1) are reserved: zero in every
// token and position embedding and in the attention outputs, except that the tokens of category
// "thing" (`flagged`) carry K u, u = (e0 - e1) / sqrt(2). Layer 0's ln_2 becomes the plain
// normalisation, so its output's projection on u is exactly 0 on every other token and ~sqrt(H)
// on a flagged one. Every pathway is a copy of pathway 0 with neuron 0 silenced, except that
// pathway 3's neuron 0 fires only past that projection's threshold and writes -K u: on a flagged
// token it cancels the flag, on any other it outputs exactly 0. The router selects pathway 3 for
// every token (the trained scores scaled by 1e-3, 3 first by 1). Layer 1's attention is silenced,
// so nothing written by layer 0's MLP reaches another position. Disabling pathway 3 therefore
// leaves K u in the residual of exactly the flagged tokens (their loss rises by tens of nats) and
// swaps an identical copy in on all others (0 up to rounding); disabling a control swaps copies (0
// up to rounding; on a flagged token it moves pathway 3's gate by ~1e-3, so the cancellation by
// ~1e-3 K).
void Plant(model::GPTNeoImpl& m, const std::vector<int32_t>& flagged) {
  model::RoutedMLPImpl& mlp = *m.blocks[0]->routed_mlp;
  const int64_t h = mlp.c_proj->weight.size(0);
  const int64_t n = mlp.c_fc->weight.size(0) / kP;
  torch::Tensor u = torch::zeros({h});
  u[0] = 1.0 / std::sqrt(2.0);
  u[1] = -1.0 / std::sqrt(2.0);
  Param(m, "transformer.wte.weight").narrow(1, 0, 2).zero_();
  Param(m, "transformer.wpe.weight").narrow(1, 0, 2).zero_();
  Param(m, "transformer.h.0.attn.attention.out_proj.weight").narrow(0, 0, 2).zero_();
  Param(m, "transformer.h.0.attn.attention.out_proj.bias").narrow(0, 0, 2).zero_();
  Param(m, "transformer.h.1.attn.attention.out_proj.weight").zero_();
  Param(m, "transformer.h.1.attn.attention.out_proj.bias").zero_();
  torch::Tensor wte = Param(m, "transformer.wte.weight");
  for (int32_t id : flagged) wte[id].narrow(0, 0, 2).copy_(kK * u.narrow(0, 0, 2));
  m.blocks[0]->ln_2->weight.fill_(1.0);
  m.blocks[0]->ln_2->bias.zero_();
  for (int q = 0; q < kP; ++q) {
    mlp.c_fc->weight.narrow(0, q * n, n).copy_(mlp.c_fc->weight.narrow(0, 0, n));
    mlp.c_fc->bias.narrow(0, q * n, n).copy_(mlp.c_fc->bias.narrow(0, 0, n));
    mlp.c_proj->weight.narrow(1, q * n, n).copy_(mlp.c_proj->weight.narrow(1, 0, n));
  }
  for (int q = 0; q < kP; ++q) {
    mlp.c_fc->weight[q * n].zero_();
    mlp.c_fc->bias[q * n].zero_();
    mlp.c_proj->weight.select(1, q * n).zero_();
  }
  mlp.router->fc2->weight.mul_(1e-3);
  mlp.router->fc2->bias.zero_();
  mlp.router->fc2->bias[3] = 1.0;
  // Pathway 3's gate (k times its renormalised weight; the same for every token up to ~1e-3).
  model::RoutingInfo ri = mlp.router->forward(torch::zeros({1, h}));
  ASSERT_EQ(ri.topk_indices[0][0].item<int64_t>(), 3);
  const double gate = 2.0 * ri.topk_weights[0][0].item<double>();
  // Neuron 0 of pathway 3: pre-activation s (<u, ln_2 x> - theta): sqrt(H) - theta = 2 on a
  // flagged token (times s = 10: 20, the linear part of gelu), -theta * s = -20 elsewhere (0).
  const double s = 10.0, theta = std::sqrt(static_cast<double>(h)) - 2.0;
  mlp.c_fc->weight[3 * n].copy_(s * u);
  mlp.c_fc->bias[3 * n] = -s * theta;
  const double act = model::GeluNew(torch::tensor(s * 2.0)).item<double>();
  mlp.c_proj->weight.select(1, 3 * n).copy_(-kK * u / (gate * act));
}

// The tiny checkpoint of TinyCheckpointTest with a planted "thing" pathway (model_dir_ then names
// the planted copy), evaluation text and a word lexicon in dir_.
class AblationCategoryTest : public testing::TinyCheckpointTest {
 protected:
  static void SetUpTestSuite() {
    TinyCheckpointTest::SetUpTestSuite();
    const std::string trained = *model_dir_;
    ASSERT_FALSE(trained.empty()) << "training the tiny routed checkpoint failed";
    // A word lexicon in the data/lexicon layout: one file per category.
    std::filesystem::create_directories(dir_->Sub("lexicon"));
    testing::WriteText(dir_->Sub("lexicon/thing.tsv"),
                       "ball\tthing\ncat\tthing\ndog\tthing\ntoy\tthing\ntree\tthing\n"
                       "cake\tthing\nbook\tthing\ncar\tthing\n");
    testing::WriteText(dir_->Sub("lexicon/name.tsv"),
                       "Lily\tname\nTom\tname\nBen\tname\nMia\tname\nSam\tname\nAnna\tname\n"
                       "Max\tname\nSue\tname\n");
    testing::WriteText(dir_->Sub("lexicon/feeling.tsv"),
                       "happy\tfeeling\nsad\tfeeling\nexcited\tfeeling\nscared\tfeeling\n"
                       "tired\tfeeling\nproud\tfeeling\n");
    // Once per story: fewer tokens than the minimum below.
    testing::WriteText(dir_->Sub("lexicon/start.tsv"), "Once\tstart\n");
    absl::StatusOr<model::GPTNeo> m = model::LoadGPTNeo(trained);
    ASSERT_TRUE(m.ok()) << m.status();
    Gpt2TokenizerOptions topts;
    topts.dir = MONOROUTE_TOKENIZER_DIR;
    auto tok = Gpt2Tokenizer::Create(topts);
    ASSERT_TRUE(tok.ok()) << tok.status();
    auto cats = LoadCategorySource(dir_->Sub("lexicon"), tok->get(),
                                   static_cast<int32_t>((*m)->config().vocab_size));
    ASSERT_TRUE(cats.ok()) << cats.status();
    std::vector<int32_t> things;
    const int32_t thing = cats->labels.Find("thing");
    for (size_t id = 0; id < cats->label_by_id.size(); ++id) {
      if (cats->label_by_id[id] == thing) things.push_back(static_cast<int32_t>(id));
    }
    ASSERT_GE(things.size(), 8u);
    {
      torch::NoGradGuard no_grad;
      Plant(**m, things);
    }
    absl::Status saved = model::SaveGPTNeo(**m, dir_->Sub("planted"));
    ASSERT_TRUE(saved.ok()) << saved;
    *model_dir_ = dir_->Sub("planted");
  }
  static AblationOptions Options() {
    AblationOptions o = EvalOn<AblationOptions>(8);
    o.tokenizer_dir = MONOROUTE_TOKENIZER_DIR;
    o.layer = 0;
    o.pathway = 3;
    o.num_controls = 3;
    o.bootstrap = 400;
    o.seed = 11;
    o.threads = 1;
    o.lexicon = dir_->Sub("lexicon");
    o.min_category_tokens = 30;
    return o;
  }
};

TEST_F(AblationCategoryTest, OnlyThePlantedCategoryShowsAnEffect) {
  absl::StatusOr<AblationResult> r = RunPathwayAblation(Options());
  ASSERT_TRUE(r.ok()) << r.status();
  const std::string json = AblationResultToJson(*r);
  EXPECT_EQ(r->selected_tokens, r->tokens) << "pathway 3 is selected for every token";
  EXPECT_EQ(r->category_source, Options().lexicon);
  EXPECT_EQ(r->min_category_tokens, 30);
  std::map<std::string, const AblationCategoryEffect*> by;
  int64_t total = 0;
  for (const AblationCategoryEffect& c : r->categories) {
    by[c.category] = &c;
    total += c.tokens;
  }
  // Every label in lexicon (file name) order, then the two sentinels; the counts split S_p.
  ASSERT_EQ(r->categories.size(), 6u) << json;
  EXPECT_EQ(r->categories[4].category, "mixed");
  EXPECT_EQ(r->categories[5].category, "none");
  EXPECT_EQ(total, r->selected_tokens);

  const AblationCategoryEffect& thing = *by.at("thing");
  EXPECT_EQ(thing.status, "ok");
  EXPECT_GE(thing.tokens, 30);
  // Every flagged token has the same router input (the flag dominates ln_2), hence the same
  // second pathway: only the control that is that pathway has "thing" tokens.
  EXPECT_GE(thing.controls_used.size(), 1u);
  EXPECT_GT(thing.control_tokens, 0);
  std::printf("[ planted category ] %s\n", json.c_str());
  EXPECT_GT(thing.target_increase, 10.0) << json;
  EXPECT_LT(std::abs(thing.control_increase), 1.0) << json;
  EXPECT_NEAR(thing.difference.estimate, thing.target_increase - thing.control_increase, 1e-9);
  EXPECT_GT(thing.difference.low, 10.0) << json;
  EXPECT_EQ(thing.difference.replicates, 400);
  for (const char* other : {"name", "feeling", "none"}) {
    const AblationCategoryEffect& c = *by.at(other);
    EXPECT_EQ(c.status, "ok") << other;
    EXPECT_GE(c.tokens, 30) << other;
    // Pooled controls: every resample has control tokens of the category.
    EXPECT_EQ(c.difference.replicates, 400) << other;
    EXPECT_LT(std::abs(c.target_increase), kRounding) << other << " " << json;
    EXPECT_LE(c.difference.low, kRounding) << other << " " << json;
    EXPECT_GE(c.difference.high, -kRounding) << other << " " << json;
  }
  const AblationCategoryEffect& start = *by.at("start");
  EXPECT_EQ(start.status, "too few tokens");
  EXPECT_GT(start.tokens, 0);
  EXPECT_LT(start.tokens, 30);
  EXPECT_TRUE(std::isnan(start.difference.estimate));
  EXPECT_EQ(by.at("mixed")->tokens, 0);
  EXPECT_EQ(by.at("mixed")->status, "too few tokens");

  // The saved document: version 2, the table with each entry's null, chance level and interval.
  nlohmann::json j = nlohmann::json::parse(json);
  EXPECT_EQ(j["version"], kAblationJsonVersion);
  EXPECT_EQ(j["category_of"], "current token");
  EXPECT_EQ(j["min_category_tokens"], 30);
  ASSERT_EQ(j["categories"].size(), 6u);
  const nlohmann::json& jt = j["categories"][0];
  EXPECT_EQ(jt["category"], r->categories[0].category);
  EXPECT_EQ(jt["chance_level"], 0.0);
  EXPECT_THAT(jt["null"].get<std::string>(), HasSubstr("load-matched control"));
  EXPECT_EQ(jt["difference_ci"].size(), 2u);
  for (const nlohmann::json& e : j["categories"]) {
    if (e["category"] == "thing") {
      EXPECT_DOUBLE_EQ(e["difference_ci"][0].get<double>(), thing.difference.low);
    }
    if (e["category"] == "start") EXPECT_TRUE(e["difference"].is_null());
  }
}

TEST_F(AblationCategoryTest, WithoutALexiconNoTableAndTheRestUnchanged) {
  AblationOptions o = Options();
  o.max_batches = 1;
  absl::StatusOr<AblationResult> with = RunPathwayAblation(o);
  o.lexicon.clear();
  absl::StatusOr<AblationResult> without = RunPathwayAblation(o);
  ASSERT_TRUE(with.ok() && without.ok()) << with.status() << without.status();
  EXPECT_TRUE(without->categories.empty());
  EXPECT_TRUE(without->category_source.empty());
  nlohmann::json j = nlohmann::json::parse(AblationResultToJson(*without));
  EXPECT_FALSE(j.contains("categories"));
  EXPECT_EQ(j["version"], kAblationJsonVersion);
  // The breakdown adds differences after the others: their resamples, hence intervals, agree.
  EXPECT_EQ(with->effect_difference.low, without->effect_difference.low);
  EXPECT_EQ(with->top_vs_rest.high, without->top_vs_rest.high);
}

TEST_F(AblationCategoryTest, BadLexiconOrMinimumNamesTheField) {
  AblationOptions o = Options();
  o.lexicon = dir_->Sub("no_such_lexicon");
  absl::StatusOr<AblationResult> r = RunPathwayAblation(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("lexicon: " + dir_->Sub("no_such_lexicon")));
  testing::WriteText(dir_->Sub("bad_lexicon.tsv"), "two words\tthing\n");
  o.lexicon = dir_->Sub("bad_lexicon.tsv");
  r = RunPathwayAblation(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("lexicon: "));
  EXPECT_THAT(r.status().message(), HasSubstr("bad_lexicon.tsv:1"));
  o = Options();
  o.min_category_tokens = 0;
  r = RunPathwayAblation(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("min_category_tokens: 0"));
}

}  // namespace
}  // namespace monoroute::engine
