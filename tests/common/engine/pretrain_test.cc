// Pretraining a small GPT-Neo on the shared TinyStories text for a few hundred steps lowers the
// validation loss clearly.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "common/engine/train.h"
#include "tests/common/engine/test_util.h"

namespace monoroute::engine {
namespace {

class EvalObserver : public TrainingObserver {
 public:
  void OnEval(const EvalReport& r) override { evals.push_back(r); }
  std::vector<EvalReport> evals;
};

TEST(PretrainTest, ValidationLossDropsOnTinyStories) {
  std::string data = std::string(MONOROUTE_SOURCE_DIR) + "/../shared/data/tinystories/train.txt";
  std::string valid = std::string(MONOROUTE_SOURCE_DIR) + "/../shared/data/tinystories/valid.txt";
  if (!std::filesystem::exists(data) || !std::filesystem::exists(valid)) {
    GTEST_SKIP() << "needs ../shared/data/tinystories/{train,valid}.txt: absent";
  }
  testing::TempDir dir;
  JobSpec s;
  s.kind = "pretrain";
  s.model.num_layers = 2;  // TinyStories-1M width (64) and vocabulary, fewer layers
  s.data.train_path = data;
  s.data.valid_path = valid;
  s.data.seq_len = 64;
  s.optim.lr = 3e-3;
  s.optim.warmup_steps = 20;
  s.optim.max_steps = 300;
  s.optim.batch_size = 16;
  s.optim.weight_decay = 0.1;
  s.eval_every = 20;
  s.eval_batches = 10;
  s.checkpoint_every = 0;
  s.log_every = 50;
  s.threads = 2;
  s.output_dir = dir.Sub("job");
  EvalObserver obs;
  auto r = RunTrainingJob(s, &obs);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_GE(obs.evals.size(), 2u);
  std::cout << "val loss: step " << obs.evals.front().step << " " << obs.evals.front().val_loss
            << " -> step " << r->final_step << " " << r->final_val_loss
            << " (ln V = " << std::log(50257.0) << ")\n";
  // Random init is ~ln(50257) = 10.8 nats; a few hundred steps must get far below.
  EXPECT_LT(r->final_val_loss, obs.evals.front().val_loss - 1.0);
  EXPECT_LT(r->final_val_loss, 6.5);
}

}  // namespace
}  // namespace monoroute::engine
