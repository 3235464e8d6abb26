// ComputePathwayLogits on a checkpoint whose weights make the answer known: the tiny GPT-Neo
// fixture routed (P = 16, k = 4, layers 0 and 2), layer 2 pathway 6's up-projection rows zeroed
// with bias 2 (so its activation is gelu_new(2) on every token), its down-projection columns
// writing 1 into hidden dimension 0 only, ln_f's scale 2 there, and the (tied) unembedding's
// column 0 zero except tokens 7 (+3), 5 (+1) and 3 (-2): the pathway raises 7 then 5 and lowers 3,
// by exactly 3 * 2 * (gate * k * 16 * gelu_new(2)). Bad requests name their field.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "common/model/checkpoint.h"
#include "services/analysis/explorer/pathway_logits.h"
#include "tests/testing/temp_files.h"

namespace monoroute::analysis::explorer {
namespace {

using ::testing::HasSubstr;

constexpr uint32_t kLayer = 2, kPathway = 6;
constexpr int64_t kWidth = 256 / 16;  // neurons per pathway

double GeluNew2() {
  const double x = 2.0;
  return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
}

class PathwayLogitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string fixture =
        std::string(MONOROUTE_SOURCE_DIR) + "/tests/fixtures/gptneo_tiny_bin";
    model::LoadOptions lo;
    lo.routing = model::RoutingConfig{};  // P = 16, k = 4, layers 0 and 2
    auto m = model::LoadModel(fixture, lo);
    ASSERT_TRUE(m.ok()) << m.status();
    {
      torch::NoGradGuard ng;
      model::RoutedMLPImpl& mlp = *(*m)->blocks[kLayer]->routed_mlp;
      const int64_t lo_n = kPathway * kWidth;
      mlp.c_fc->weight.slice(0, lo_n, lo_n + kWidth).zero_();
      mlp.c_fc->bias.slice(0, lo_n, lo_n + kWidth).fill_(2.0);
      mlp.c_proj->weight.slice(1, lo_n, lo_n + kWidth).zero_();
      mlp.c_proj->weight.slice(1, lo_n, lo_n + kWidth)[0].fill_(1.0);
      (*m)->ln_f->weight[0].fill_(2.0);
      torch::Tensor col = (*m)->wte->weight.select(1, 0);
      col.zero_();
      col[7].fill_(3.0);
      col[5].fill_(1.0);
      col[3].fill_(-2.0);
    }
    ASSERT_TRUE(model::SaveModel(**m, dir_.Sub("ckpt")).ok());
  }

  PathwayLogitsOptions Options() const {
    PathwayLogitsOptions o;
    o.checkpoint = dir_.Sub("ckpt");
    o.layer = kLayer;
    o.pathway = kPathway;
    o.top_n = 3;
    o.contexts = {{{10, 11, 12}, 0.5f}, {{20, 21}, 0.5f}, {{30}, 0.5f}};
    return o;
  }

  testing::TempDir dir_{"explorer_logits"};
};

TEST_F(PathwayLogitsTest, RaisesAndLowersTheTokensTheUnembeddingImplies) {
  absl::StatusOr<PathwayLogits> r = ComputePathwayLogits(Options());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->computed);
  EXPECT_EQ(r->contexts, 3u);
  ASSERT_EQ(r->raised.size(), 3u);
  ASSERT_EQ(r->lowered.size(), 3u);
  const double d0 = 0.5 * 4 * kWidth * GeluNew2();  // gate * k * sum of the slice's activations
  EXPECT_EQ(r->raised[0].token_id, 7u);
  EXPECT_NEAR(r->raised[0].value, 3.0 * 2.0 * d0, 1e-3 * d0);
  EXPECT_EQ(r->raised[1].token_id, 5u);
  EXPECT_NEAR(r->raised[1].value, 1.0 * 2.0 * d0, 1e-3 * d0);
  EXPECT_NEAR(r->raised[2].value, 0.0, 1e-4);
  EXPECT_EQ(r->lowered[0].token_id, 3u);
  EXPECT_NEAR(r->lowered[0].value, -2.0 * 2.0 * d0, 1e-3 * d0);
  EXPECT_NEAR(r->lowered[1].value, 0.0, 1e-4);
}

TEST_F(PathwayLogitsTest, TheGateScalesTheDirection) {
  PathwayLogitsOptions o = Options();
  for (LogitContext& c : o.contexts) c.gate = 0.25f;
  absl::StatusOr<PathwayLogits> r = ComputePathwayLogits(o);
  ASSERT_TRUE(r.ok()) << r.status();
  const double d0 = 0.25 * 4 * kWidth * GeluNew2();
  EXPECT_NEAR(r->raised[0].value, 6.0 * d0, 1e-3 * d0);
}

TEST_F(PathwayLogitsTest, BadRequestsNameTheField) {
  auto expect_invalid = [&](PathwayLogitsOptions o, const char* field) {
    absl::StatusOr<PathwayLogits> r = ComputePathwayLogits(o);
    ASSERT_FALSE(r.ok()) << field;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(field));
  };
  PathwayLogitsOptions o = Options();
  o.layer = 1;  // not routed
  expect_invalid(o, "layer");
  o = Options();
  o.pathway = 16;
  expect_invalid(o, "pathway");
  o = Options();
  o.contexts.clear();
  expect_invalid(o, "contexts");
  o = Options();
  o.contexts[1].token_ids = {1000};  // vocab_size 1000
  expect_invalid(o, "contexts[1].token_ids");
  o = Options();
  o.contexts[0].token_ids.assign(65, 1);  // max_position_embeddings 64
  expect_invalid(o, "contexts[0].token_ids");
  o = Options();
  o.top_n = 0;
  expect_invalid(o, "top_n");
  o = Options();
  o.checkpoint = dir_.Sub("absent");
  EXPECT_FALSE(ComputePathwayLogits(o).ok());
}

}  // namespace
}  // namespace monoroute::analysis::explorer
