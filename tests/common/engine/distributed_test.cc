// Tests of data-parallel training (Gloo on 127.0.0.1, CPU, tiny model): a 2-rank job trains the
// 1-rank job's model on the same global batch (weights within 1e-5, identical per-step GLBL
// loads), launched through the environment (engine::RunLocalRanks of a test worker) and by
// `monoroute train --nproc-per-node 2`; the torchrun environment's errors; the rendezvous naming a
// missing peer; the launcher itself (environment, prefixes, a failing rank stops the others).
#include "common/engine/distributed.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/engine/checkpoint_dir.h"
#include "common/engine/rank_launcher.h"
#include "common/model/checkpoint.h"
#include "nlohmann/json.hpp"
#include "tests/common/engine/distributed_test_util.h"

namespace monoroute::engine {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

TEST_F(DistributedJobTest, TwoRanksTrainTheOneRankModel) {
  const std::string out = dir().Sub("two");
  const std::string spec = WriteSpec(GlblSpec(out), "two.yaml");
  const std::string report = dir().Sub("two-report.jsonl");
  std::ostringstream log;
  LocalRanksResult r = RunWorkers(spec, report, 2, "", &log);
  ASSERT_TRUE(r.ok) << r.failure << "\n" << log.str();
  EXPECT_THAT(log.str(), HasSubstr("[rank 1] done: step 12"));

  ExpectCloseTo(Reference().final_weights, FinalModel(out), 1e-5);
  std::vector<nlohmann::json> steps = ReadJsonLines(report);
  ASSERT_EQ(steps.size(), Reference().steps.size());
  for (size_t i = 0; i < steps.size(); ++i) {
    const StepReport& ref = Reference().steps[i];
    EXPECT_EQ(steps[i]["step"].get<int64_t>(), ref.step);
    EXPECT_EQ(steps[i]["world_size"].get<int>(), 2);
    EXPECT_NEAR(steps[i]["lm_loss"].get<double>(), ref.lm_loss, 1e-5) << "step " << ref.step;
    ASSERT_EQ(steps[i]["layers"].size(), ref.balance.size());
    for (size_t l = 0; l < ref.balance.size(); ++l) {
      // Loads are count fractions: the same routing decisions give the same numbers.
      EXPECT_EQ(steps[i]["layers"][l]["load"].get<std::vector<double>>(), ref.balance[l].load)
          << "step " << ref.step << " layer " << ref.balance[l].layer;
    }
  }
  // Rank 0 alone writes metrics.jsonl; every step line carries the world size.
  int step_lines = 0;
  for (const nlohmann::json& j : ReadJsonLines(out + "/metrics.jsonl")) {
    if (j["type"] == "step") {
      EXPECT_EQ(j["world_size"].get<int>(), 2);
      ++step_lines;
    }
  }
  EXPECT_EQ(step_lines, 12);
}

TEST_F(DistributedJobTest, CliNprocPerNodeTrainsTheOneRankModel) {
  const std::string out = dir().Sub("cli");
  const std::string spec = WriteSpec(GlblSpec(out), "cli.yaml");
  std::string output;
  int code = RunCommand({MONOROUTE_BIN_DIR "/monoroute", "train", "--config", spec,
                         "--nproc-per-node", "2", "--quiet"},
                        &output);
  ASSERT_EQ(code, 0) << output;
  EXPECT_THAT(output, HasSubstr("[rank 0] done: step 12"));
  EXPECT_THAT(output, HasSubstr("[rank 1] done: step 12"));
  EXPECT_THAT(output, HasSubstr("all 2 ranks done"));
  ExpectCloseTo(Reference().final_weights, FinalModel(out), 1e-5);
}

TEST_F(DistributedJobTest, CliRefusesAGlobalBatchThatDoesNotSplit) {
  JobSpec s = GlblSpec(dir().Sub("odd"));
  s.optim.batch_size = 3;
  std::string output;
  int code = RunCommand({MONOROUTE_BIN_DIR "/monoroute", "train", "--config",
                         WriteSpec(s, "odd.yaml"), "--nproc-per-node", "2"},
                        &output);
  EXPECT_NE(code, 0);
  EXPECT_THAT(output, HasSubstr("optim.batch_size: 3"));
  EXPECT_THAT(output, HasSubstr("2 ranks"));
}

// The engine's own check, for a launcher that is not ours (environment set by hand).
TEST(DistributedEnvTest, GlobalBatchMustSplitEvenly) {
  TempDir dir;
  testing::WriteText(dir.Sub("train.txt"), testing::StoryCorpus(40));
  JobSpec s = testing::TinyJob(dir.Sub("train.txt"), dir.Sub("job"));
  s.optim.batch_size = 4;
  ScopedEnv env(
      {{"WORLD_SIZE", "3"}, {"RANK", "0"}, {"MASTER_ADDR", "127.0.0.1"}, {"MASTER_PORT", "1"}});
  auto r = RunTrainingJob(s, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("optim.batch_size: 4"));
  EXPECT_THAT(r.status().message(), HasSubstr("3 ranks (WORLD_SIZE)"));
}

TEST(DistributedEnvTest, ReadsTheTorchrunEnvironment) {
  {
    ScopedEnv env({{"WORLD_SIZE", nullptr}, {"RANK", nullptr}});
    auto e = DistributedEnvFromEnvironment();
    ASSERT_TRUE(e.ok()) << e.status();
    EXPECT_FALSE(e->has_value());
  }
  {
    ScopedEnv env({{"WORLD_SIZE", "4"},
                   {"RANK", "3"},
                   {"LOCAL_RANK", "1"},
                   {"LOCAL_WORLD_SIZE", "2"},
                   {"MASTER_ADDR", "node-0"},
                   {"MASTER_PORT", "29501"}});
    auto e = DistributedEnvFromEnvironment();
    ASSERT_TRUE(e.ok()) << e.status();
    ASSERT_TRUE(e->has_value());
    EXPECT_EQ((*e)->world_size, 4);
    EXPECT_EQ((*e)->rank, 3);
    EXPECT_EQ((*e)->local_rank, 1);
    EXPECT_EQ((*e)->local_world_size, 2);
    EXPECT_EQ((*e)->master_addr, "node-0");
    EXPECT_EQ((*e)->master_port, 29501);
    EXPECT_THAT(DistributedEnvironment(**e), ::testing::Contains("RANK=3"));
  }
  struct Bad {
    std::vector<std::pair<const char*, const char*>> vars;
    const char* names;
  };
  for (const Bad& b : std::vector<Bad>{
           {{{"WORLD_SIZE", "2"}, {"RANK", nullptr}}, "RANK: not set"},
           {{{"WORLD_SIZE", "two"}, {"RANK", "0"}}, "WORLD_SIZE: expected an integer"},
           {{{"WORLD_SIZE", "2"}, {"RANK", "2"}}, "RANK: 2 is outside"},
           {{{"WORLD_SIZE", "2"}, {"RANK", "0"}, {"MASTER_ADDR", nullptr}}, "MASTER_ADDR: not set"},
           {{{"WORLD_SIZE", "2"}, {"RANK", "0"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "70000"}},
            "MASTER_PORT: 70000"},
       }) {
    ScopedEnv env(b.vars);
    auto e = DistributedEnvFromEnvironment();
    ASSERT_FALSE(e.ok()) << b.names;
    EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(e.status().message(), HasSubstr(b.names));
  }
}

// Creating rank `rank` of a world of two on a free 127.0.0.1 port where no other rank runs
// (1 s timeout): the failure.
absl::Status LoneRankOfTwo(int rank) {
  auto port = PickFreePort("127.0.0.1");
  if (!port.ok()) return port.status();
  DistributedEnv env;
  env.world_size = 2;
  env.rank = rank;
  env.master_port = *port;
  DistributedOptions o;
  o.timeout = std::chrono::seconds(1);
  auto ctx = DistributedContext::Create(env, o);
  return ctx.ok() ? absl::OkStatus() : ctx.status();
}

TEST(DistributedContextTest, RendezvousNamesTheRankThatNeverArrived) {
  const absl::Status s = LoneRankOfTwo(0);
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;
  EXPECT_THAT(s.message(), HasSubstr("rank 1 of WORLD_SIZE 2 never arrived"));
}

TEST(DistributedContextTest, UnreachableMasterIsNamed) {
  const absl::Status s = LoneRankOfTwo(1);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_THAT(s.message(), HasSubstr("cannot reach the master (rank 0) at 127.0.0.1:"));
}

TEST(DistributedContextTest, WorldOfOneIsANoOp) {
  std::unique_ptr<DistributedContext> one = DistributedContext::Single();
  EXPECT_FALSE(one->is_distributed());
  EXPECT_TRUE(one->is_primary());
  std::vector<torch::Tensor> t = {torch::ones({3})};
  ASSERT_TRUE(one->AllReduceSum(t, "x").ok());
  EXPECT_TRUE(torch::equal(t[0], torch::ones({3})));
  auto any = one->Any(true, "x");
  ASSERT_TRUE(any.ok());
  EXPECT_TRUE(*any);
  EXPECT_EQ(one->Agree(absl::NotFoundError("mine"), "x").code(), absl::StatusCode::kNotFound);
}

TEST(RankLauncherTest, EachRankGetsItsEnvironmentAndPrefixedOutput) {
  LocalRanksOptions o;
  o.argv = {"/bin/sh", "-c",
            "echo $RANK/$WORLD_SIZE/$LOCAL_RANK/$LOCAL_WORLD_SIZE/$MASTER_ADDR:$MASTER_PORT; "
            "echo second line >&2"};
  o.nproc = 2;
  o.forward_signals = false;
  std::ostringstream out;
  o.out = &out;
  auto r = RunLocalRanks(o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->ok);
  EXPECT_GT(r->master_port, 0);
  const std::string port = std::to_string(r->master_port);
  EXPECT_THAT(out.str(), HasSubstr("[rank 0] 0/2/0/2/127.0.0.1:" + port + "\n"));
  EXPECT_THAT(out.str(), HasSubstr("[rank 1] 1/2/1/2/127.0.0.1:" + port + "\n"));
  EXPECT_THAT(out.str(), HasSubstr("[rank 1] second line\n"));
  EXPECT_EQ(r->exits, (std::vector<std::string>{"exit code 0", "exit code 0"}));
}

TEST(RankLauncherTest, AFailingRankStopsTheOthers) {
  LocalRanksOptions o;
  o.argv = {"/bin/sh", "-c", "if [ $RANK = 1 ]; then exit 3; fi; exec sleep 60"};
  o.nproc = 3;
  o.forward_signals = false;
  o.stop_grace = std::chrono::seconds(5);
  auto r = RunLocalRanks(o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(r->failed_rank, 1);
  EXPECT_THAT(r->failure, HasSubstr("rank 1 (pid "));
  EXPECT_THAT(r->failure, HasSubstr("exit code 3"));
  EXPECT_EQ(r->exits[0], "killed by SIGTERM");
  EXPECT_EQ(r->exits[2], "killed by SIGTERM");
}

TEST(RankLauncherTest, StopRequestReachesEveryRank) {
  LocalRanksOptions o;
  o.argv = {"/bin/sh", "-c", "trap 'echo stopping; exit 0' TERM; while true; do sleep 0.1; done"};
  o.nproc = 2;
  o.forward_signals = false;
  std::atomic<int> polls{0};
  o.should_stop = [&] { return ++polls > 10; };
  std::ostringstream out;
  o.out = &out;
  auto r = RunLocalRanks(o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->ok) << r->failure;
  EXPECT_THAT(out.str(), HasSubstr("[rank 0] stopping"));
  EXPECT_THAT(out.str(), HasSubstr("[rank 1] stopping"));
}

TEST(RankLauncherTest, BadOptions) {
  LocalRanksOptions o;
  EXPECT_EQ(RunLocalRanks(o).status().code(), absl::StatusCode::kInvalidArgument);
  o.argv = {"/bin/true"};
  o.nproc = 0;
  auto r = RunLocalRanks(o);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("--nproc-per-node"));
}

}  // namespace
}  // namespace monoroute::engine
