// Failure tests of data-parallel training (Gloo on 127.0.0.1, CPU, tiny model): a killed rank
// ends every other rank with an error naming it (no hang), and the job resumes from its last
// checkpoint with the same world size and with another one, training the 1-rank job's model.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "tests/common/engine/distributed_test_util.h"

namespace monoroute::engine {
namespace {

using ::testing::HasSubstr;

TEST_F(DistributedJobTest, KilledRankEndsTheJobNamingItAndTheJobResumes) {
  const std::string out = dir().Sub("killed");
  const std::string spec = WriteSpec(GlblSpec(out), "killed.yaml");
  std::ostringstream log;
  // Rank 1 SIGKILLs itself after 5 steps; the last checkpoint is step 4's.
  LocalRanksResult r = RunWorkers(spec, dir().Sub("killed-1.jsonl"), 2, "kill:1:5", &log);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.failed_rank, 1);
  EXPECT_THAT(r.failure, HasSubstr("killed by SIGKILL"));
  ASSERT_EQ(r.exits.size(), 2u);
  EXPECT_EQ(r.exits[0], "exit code 1") << log.str();
  EXPECT_THAT(log.str(), HasSubstr("[rank 0] error:"));
  EXPECT_THAT(log.str(), HasSubstr("rank 1 of WORLD_SIZE 2 is gone"));
  auto latest = LatestCheckpoint(out);
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->first, 4);

  std::ostringstream log2;
  r = RunWorkers(spec, dir().Sub("killed-2.jsonl"), 2, "", &log2);
  ASSERT_TRUE(r.ok) << r.failure << "\n" << log2.str();
  EXPECT_THAT(log2.str(), HasSubstr("[rank 0] done: step 12"));
  ExpectCloseTo(Reference().final_weights, FinalModel(out), 1e-5);
}

TEST_F(DistributedJobTest, KilledMasterIsNamedAndOneRankResumesTheJob) {
  const std::string out = dir().Sub("master");
  const std::string spec = WriteSpec(GlblSpec(out), "master.yaml");
  std::ostringstream log;
  // Rank 0 (the store's host) SIGKILLs itself after 6 steps; the last checkpoint is step 4's.
  LocalRanksResult r = RunWorkers(spec, dir().Sub("master-1.jsonl"), 2, "kill:0:6", &log);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.failed_rank, 0);
  ASSERT_EQ(r.exits.size(), 2u);
  EXPECT_EQ(r.exits[1], "exit code 1") << log.str();
  EXPECT_THAT(log.str(), HasSubstr("[rank 1] error:"));
  EXPECT_THAT(log.str(), HasSubstr("rank 0 (the rendezvous master at 127.0.0.1:"));
  ASSERT_EQ(LatestCheckpoint(out)->first, 4);

  // The same job on one rank (in-process, no environment) resumes at step 4.
  ScopedEnv no_ranks({{"WORLD_SIZE", nullptr}, {"RANK", nullptr}});
  StepRecorder rec;
  auto done = RunTrainingJob(GlblSpec(out), &rec);
  ASSERT_TRUE(done.ok()) << done.status();
  ASSERT_FALSE(rec.steps.empty());
  EXPECT_EQ(rec.steps.front().step, 5);
  EXPECT_EQ(rec.steps.front().world_size, 1);
  ExpectCloseTo(Reference().final_weights, FinalModel(out), 1e-5);
}

}  // namespace
}  // namespace monoroute::engine
