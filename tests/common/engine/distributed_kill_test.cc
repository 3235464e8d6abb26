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
  KilledJob job;
  // Rank 1 SIGKILLs itself after 5 steps; the last checkpoint is step 4's.
  ASSERT_NO_FATAL_FAILURE(KillOneRank("killed", 1, 5, &job));
  EXPECT_THAT(job.result.failure, HasSubstr("killed by SIGKILL"));
  EXPECT_THAT(job.log, HasSubstr("rank 1 of WORLD_SIZE 2 is gone"));

  std::ostringstream log;
  LocalRanksResult r = RunWorkers(job.spec, dir().Sub("killed-2.jsonl"), 2, "", &log);
  ASSERT_TRUE(r.ok) << r.failure << "\n" << log.str();
  EXPECT_THAT(log.str(), HasSubstr("[rank 0] done: step 12"));
  ExpectCloseTo(Reference().final_weights, FinalModel(job.out), 1e-5);
}

TEST_F(DistributedJobTest, KilledMasterIsNamedAndOneRankResumesTheJob) {
  KilledJob job;
  // Rank 0 (the store's host) SIGKILLs itself after 6 steps; the last checkpoint is step 4's.
  ASSERT_NO_FATAL_FAILURE(KillOneRank("master", 0, 6, &job));
  EXPECT_THAT(job.log, HasSubstr("rank 0 (the rendezvous master at 127.0.0.1:"));

  // The same job on one rank (in-process, no environment) resumes at step 4.
  ScopedEnv no_ranks({{"WORLD_SIZE", nullptr}, {"RANK", nullptr}});
  StepRecorder rec;
  auto done = RunTrainingJob(GlblSpec(job.out), &rec);
  ASSERT_TRUE(done.ok()) << done.status();
  ASSERT_FALSE(rec.steps.empty());
  EXPECT_EQ(rec.steps.front().step, 5);
  EXPECT_EQ(rec.steps.front().world_size, 1);
  ExpectCloseTo(Reference().final_weights, FinalModel(job.out), 1e-5);
}

}  // namespace
}  // namespace monoroute::engine
