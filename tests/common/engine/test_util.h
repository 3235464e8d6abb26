// Shared helpers of the engine tests: temporary directories, a small deterministic story corpus,
// a tiny (fast) job spec, and a fixture sharing a tiny trained routed checkpoint.
#ifndef MONOROUTE_TESTS_COMMON_ENGINE_TEST_UTIL_H_
#define MONOROUTE_TESTS_COMMON_ENGINE_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/engine/job_spec.h"
#include "common/engine/train.h"
#include "tests/testing/temp_files.h"

namespace monoroute::engine::testing {

// The one temp-dir and file helpers (tests/testing/temp_files.h).
using ::monoroute::testing::TempDir;
using ::monoroute::testing::WriteText;

// `n` short stories in TinyStories layout (each followed by an <|endoftext|> line), deterministic.
inline std::string StoryCorpus(int n, int seed = 0) {
  static const char* kNames[] = {"Lily", "Tom", "Ben", "Mia", "Sam", "Anna", "Max", "Sue"};
  static const char* kPlaces[] = {"park", "forest", "house", "river", "garden", "school"};
  static const char* kThings[] = {"ball", "cat", "dog", "toy", "tree", "cake", "book", "car"};
  static const char* kFeel[] = {"happy", "sad", "excited", "scared", "tired", "proud"};
  std::string s;
  uint64_t x = 0x12345 + static_cast<uint64_t>(seed) * 7919;
  auto pick = [&](int m) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<int>((x >> 33) % m);
  };
  for (int i = 0; i < n; ++i) {
    std::string name = kNames[pick(8)], place = kPlaces[pick(6)], thing = kThings[pick(8)];
    s += "Once upon a time, " + name + " went to the " + place + ". " + name + " saw a " + thing +
         ". The " + thing + " was big and " + kFeel[pick(6)] + ". " + name +
         " said, \"I like the " + thing + "!\" Then " + name + " went home and felt " +
         kFeel[pick(6)] + ".\n<|endoftext|>\n";
  }
  return s;
}

// A tiny routed-or-dense pretrain job (hidden 16, 2 layers) that trains in well under a second
// per step on the CPU.
inline JobSpec TinyJob(const std::string& train_path, const std::string& output_dir) {
  JobSpec s;
  s.kind = "pretrain";
  s.model.hidden_size = 16;
  s.model.num_layers = 2;
  s.model.num_heads = 2;
  s.model.intermediate_size = 64;
  s.model.max_position_embeddings = 64;
  s.model.window_size = 8;
  s.routing.num_pathways = 8;
  s.routing.top_k = 2;
  s.routing.router_hidden = 16;
  s.data.train_path = train_path;
  s.data.valid_fraction = 0.1;
  s.data.seq_len = 32;
  s.data.tokenizer_dir = MONOROUTE_TOKENIZER_DIR;
  s.optim.lr = 3e-3;
  s.optim.warmup_steps = 2;
  s.optim.max_steps = 8;
  s.optim.batch_size = 4;
  s.eval_every = 4;
  s.eval_batches = 2;
  s.checkpoint_every = 0;
  s.log_every = 1;
  s.output_dir = output_dir;
  s.threads = 1;
  return s;
}

// Writes StoryCorpus(120) to dir/train.txt and returns TinyJob on it, routed, for `max_steps`
// steps, into dir/job.
inline JobSpec TinyRoutedJob(const TempDir& dir, int64_t max_steps) {
  WriteText(dir.Sub("train.txt"), StoryCorpus(120));
  JobSpec s = TinyJob(dir.Sub("train.txt"), dir.Sub("job"));
  s.routing.enabled = true;
  s.optim.max_steps = max_steps;
  return s;
}

// Trains TinyRoutedJob(dir, 6) and returns the final checkpoint directory ("" if training
// failed: check it).
inline std::string TrainTinyRoutedCheckpoint(const TempDir& dir) {
  auto r = RunTrainingJob(TinyRoutedJob(dir, 6), nullptr);
  return r.ok() ? r->checkpoint_dir : "";
}

// Fixture base of the suites that share one TrainTinyRoutedCheckpoint, trained once per suite in
// dir_ (model_dir_ "" when training failed, which fails every test), with an evaluation text
// dir_/eval.txt (StoryCorpus(24, seed 3); training read seed 0's) and EvalOn to evaluate on it.
// A suite that adds files hides SetUpTestSuite, calling this one first.
class TinyCheckpointTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    model_dir_ = new std::string(TrainTinyRoutedCheckpoint(*dir_));
    WriteText(dir_->Sub("eval.txt"), StoryCorpus(24, /*seed=*/3));
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete model_dir_;
    dir_ = nullptr;
    model_dir_ = nullptr;
  }
  void SetUp() override {
    ASSERT_FALSE(model_dir_->empty()) << "training the tiny routed checkpoint failed";
  }
  // `Input` (an EvalInput: EvaluateOptions, AblationOptions) evaluating model_dir_ on
  // dir_/eval.txt in batches of `batch_size` sequences of 32 tokens; its other fields default.
  template <typename Input>
  static Input EvalOn(int batch_size) {
    Input in;
    in.model_dir = *model_dir_;
    in.data_path = dir_->Sub("eval.txt");
    in.seq_len = 32;
    in.batch_size = batch_size;
    return in;
  }
  static inline TempDir* dir_ = nullptr;
  static inline std::string* model_dir_ = nullptr;
};

}  // namespace monoroute::engine::testing

#endif  // MONOROUTE_TESTS_COMMON_ENGINE_TEST_UTIL_H_
