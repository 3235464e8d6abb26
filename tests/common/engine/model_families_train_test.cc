// Training through the one model interface for every family: a routed pretrain of a tiny
// GPT-NeoX (Pythia-shaped) and GPT-2 model stopped and resumed ends bit-equal to an uninterrupted
// run, writes its family's HF checkpoint, and BuildModel takes a family's HF directory as a
// fine-tune start (model_type chooses; no per-family code outside the model library).
#include <gtest/gtest.h>

#include <string>

#include "common/engine/checkpoint_dir.h"
#include "common/engine/model_factory.h"
#include "common/engine/train.h"
#include "common/model/checkpoint.h"
#include "common/tensor_io/safetensors.h"
#include "tests/common/engine/test_util.h"

namespace monoroute::engine {
namespace {

using testing::TempDir;

// Stops after `stop_after` steps.
class StopAfter : public TrainingObserver {
 public:
  explicit StopAfter(int64_t n) : n_(n) {}
  void OnStep(const StepReport& r) override { last_ = r.step; }
  bool ShouldStop() override { return n_ >= 0 && last_ >= n_; }

 private:
  int64_t n_;
  int64_t last_ = 0;
};

class FamilyTrainTest : public ::testing::TestWithParam<model::ModelFamily> {
 protected:
  void SetUp() override {
    train_path_ = dir_.Sub("train.txt");
    testing::WriteText(train_path_, testing::StoryCorpus(120));
  }
  JobSpec Spec(const std::string& out) {
    JobSpec s = testing::TinyJob(train_path_, dir_.Sub(out));
    s.model.family = GetParam();
    s.routing.enabled = true;
    s.checkpoint_every = 2;
    s.keep_checkpoints = 2;
    return s;
  }
  TempDir dir_;
  std::string train_path_;
};

TEST_P(FamilyTrainTest, RoutedPretrainResumesBitForBitAndSavesTheFamilyLayout) {
  auto full = RunTrainingJob(Spec("full"), nullptr);
  ASSERT_TRUE(full.ok()) << full.status();
  EXPECT_EQ(full->final_step, 8);
  JobSpec part = Spec("part");
  StopAfter stop(3);
  auto first = RunTrainingJob(part, &stop);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->final_step, 3);
  auto second = RunTrainingJob(part, nullptr);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->final_step, 8);
  EXPECT_EQ(second->final_val_loss, full->final_val_loss);

  auto a = ReadSafetensors(full->checkpoint_dir + "/model.safetensors");
  auto b = ReadSafetensors(second->checkpoint_dir + "/model.safetensors");
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_EQ(a->tensors.size(), b->tensors.size());
  for (const auto& [name, t] : a->tensors) {
    ASSERT_EQ(b->tensors.count(name), 1u) << name;
    EXPECT_TRUE(torch::equal(t, b->tensors.at(name))) << name;
  }
  const bool neox = GetParam() == model::ModelFamily::kGPTNeoX;
  EXPECT_EQ(a->tensors.count(neox ? "embed_out.weight" : "transformer.h.1.attn.c_attn.weight"), 1u);
  EXPECT_EQ(a->tensors.count("routing.layers.0.router.0.weight"), 1u);
  auto loaded = model::LoadModel(full->checkpoint_dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->config().family, GetParam());
  EXPECT_EQ((*loaded)->routed_layers(), (std::vector<int64_t>{0}));
}

INSTANTIATE_TEST_SUITE_P(Families, FamilyTrainTest,
                         ::testing::Values(model::ModelFamily::kGPTNeoX, model::ModelFamily::kGPT2),
                         [](const ::testing::TestParamInfo<model::ModelFamily>& i) {
                           return std::string(model::ModelFamilyName(i.param));
                         });

TEST(ModelFactoryFamiliesTest, FinetuneStartsFromEachFamilysCheckpoint) {
  for (const char* name : {"neox_rot25_parallel_padded", "gpt2_bare_bin_buffers"}) {
    const std::string dir = std::string(MONOROUTE_SOURCE_DIR) + "/tests/fixtures/models/" + name;
    JobSpec s;
    s.kind = "finetune";
    s.model_dir = dir;
    s.routing.num_pathways = 8;
    s.routing.top_k = 2;
    s.routing.router_hidden = 16;
    s.data.seq_len = 16;
    auto m = BuildModel(s, torch::kCPU);
    ASSERT_TRUE(m.ok()) << name << ": " << m.status();
    EXPECT_EQ((*m)->routed_layers(), (std::vector<int64_t>{0})) << name;
    s.data.seq_len = 1000;
    EXPECT_EQ(BuildModel(s, torch::kCPU).status().code(), absl::StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace monoroute::engine
