// record.eval_at_checkpoints: a tiny routed job records the evaluation split's routing after
// every checkpoint, one split "eval@step<N>" per checkpoint, over the final evaluation's
// sequences; without the flag (or for an observer that wants no events) nothing extra.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "common/engine/job_spec.h"
#include "common/engine/train.h"
#include "tests/common/engine/test_util.h"

namespace monoroute::engine {
namespace {

using testing::TempDir;

class EventsByStep : public TrainingObserver {
 public:
  bool WantsRoutingEvents() const override { return true; }
  void OnRoutingEvents(const events::RoutingEventBatch& b) override {
    tokens[b.header.split] += static_cast<int64_t>(b.token_id.size());
    steps[b.header.split].insert(b.header.step);
    for (uint64_t s : b.sequence_id) sequences[b.header.split].insert(s);
  }
  void OnCheckpoint(int64_t step, const std::string&, double) override { checkpoints.insert(step); }
  std::map<std::string, int64_t> tokens;
  std::map<std::string, std::set<int64_t>> steps;
  std::map<std::string, std::set<uint64_t>> sequences;
  std::set<int64_t> checkpoints;
};

TEST(CheckpointEval, OneSplitPerCheckpoint) {
  TempDir dir;
  JobSpec s = testing::TinyRoutedJob(dir, 6);
  s.checkpoint_every = 2;
  s.eval_every = 0;
  s.record.eval_at_checkpoints = true;
  s.record.controls = false;
  EventsByStep obs;
  auto r = RunTrainingJob(s, &obs);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(obs.checkpoints, (std::set<int64_t>{2, 4, 6}));
  ASSERT_GT(obs.tokens["valid"], 0);
  for (int64_t step : {2, 4, 6}) {
    const std::string split = "eval@step" + std::to_string(step);
    ASSERT_EQ(obs.tokens.count(split), 1u) << split;
    // The final evaluation's tokens and sequences, stamped with the checkpoint's step.
    EXPECT_EQ(obs.tokens[split], obs.tokens["valid"]) << split;
    EXPECT_EQ(obs.sequences[split], obs.sequences["valid"]) << split;
    EXPECT_EQ(obs.steps[split], (std::set<int64_t>{step})) << split;
  }
  // valid + three checkpoint evaluations, nothing else (no controls, no training events).
  EXPECT_EQ(obs.tokens.size(), 4u);

  // The flag round-trips through the YAML form; off by default.
  auto parsed = ParseJobSpecYaml(JobSpecToYaml(s));
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->record.eval_at_checkpoints);
  EXPECT_FALSE(JobSpec{}.record.eval_at_checkpoints);
}

TEST(CheckpointEval, OffByDefault) {
  TempDir dir;
  JobSpec s = testing::TinyRoutedJob(dir, 4);
  s.checkpoint_every = 2;
  s.record.controls = false;
  EventsByStep obs;
  ASSERT_TRUE(RunTrainingJob(s, &obs).ok());
  EXPECT_EQ(obs.tokens.size(), 1u);  // "valid" only
  EXPECT_EQ(obs.tokens.count("valid"), 1u);
}

}  // namespace
}  // namespace monoroute::engine
