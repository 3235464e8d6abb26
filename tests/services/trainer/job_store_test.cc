// Tests of the one-JSON-file-per-job store.
#include "services/trainer/job_store.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "tests/testing/temp_files.h"

namespace monoroute::trainer {
namespace {

namespace fs = std::filesystem;

JobRecord Sample(const std::string& id, uint64_t seq) {
  JobRecord j;
  j.id = id;
  j.seq = seq;
  j.name = "n" + id;
  j.state = JobState::kRunning;
  j.spec_yaml = "kind: pretrain\n";
  j.kind = "pretrain";
  j.output_dir = "/tmp/out/" + id;
  j.device = "cpu";
  j.progress.step = 7;
  j.progress.total_steps = 10;
  j.progress.lm_loss = 3.25;
  j.progress.balance.push_back({2, {0.25, 0.75}, 0.5, 0.56, 0.02});
  j.evals.push_back({5, 3.5, 33.1, "valid"});
  j.events.events_enqueued = 100;
  j.events.events_dropped = 3;
  j.resumes = 2;
  j.cancel_requested = true;
  return j;
}

TEST(JobStoreTest, RoundTripsEveryFieldInSeqOrder) {
  ::monoroute::testing::TempDir tmp("trainer_store");
  const std::string dir = tmp.path();
  auto store = JobStore::Create({dir});
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->Put(Sample("job-000002", 2)).ok());
  ASSERT_TRUE((*store)->Put(Sample("job-000001", 1)).ok());
  JobRecord updated = Sample("job-000001", 1);
  updated.state = JobState::kSucceeded;
  ASSERT_TRUE((*store)->Put(updated).ok());

  auto reopened = JobStore::Create({dir});
  ASSERT_TRUE(reopened.ok());
  auto all = (*reopened)->LoadAll();
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 2u);
  const JobRecord& a = (*all)[0];
  EXPECT_EQ(a.id, "job-000001");
  EXPECT_EQ(a.state, JobState::kSucceeded);
  EXPECT_EQ(a.progress.step, 7);
  EXPECT_DOUBLE_EQ(a.progress.lm_loss, 3.25);
  ASSERT_EQ(a.progress.balance.size(), 1u);
  EXPECT_EQ(a.progress.balance[0].layer, 2);
  EXPECT_DOUBLE_EQ(a.progress.balance[0].load[1], 0.75);
  ASSERT_EQ(a.evals.size(), 1u);
  EXPECT_EQ(a.evals[0].split, "valid");
  EXPECT_EQ(a.events.events_dropped, 3u);
  EXPECT_EQ(a.resumes, 2);
  EXPECT_TRUE(a.cancel_requested);
  EXPECT_EQ((*all)[1].id, "job-000002");
  EXPECT_EQ((*all)[1].state, JobState::kRunning);
  fs::remove_all(dir);
}

TEST(JobStoreTest, IgnoresLeftoverTempFilesAndNamesMalformedFile) {
  ::monoroute::testing::TempDir tmp("trainer_store");
  const std::string dir = tmp.path();
  auto store = JobStore::Create({dir});
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->Put(Sample("job-000001", 1)).ok());
  std::ofstream(dir + "/job-000002.json.tmp.123") << "{ half";
  auto all = (*store)->LoadAll();
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->size(), 1u);
  EXPECT_FALSE(fs::exists(dir + "/job-000002.json.tmp.123"));

  std::ofstream(dir + "/job-000003.json") << "not json";
  auto bad = (*store)->LoadAll();
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("job-000003.json"), std::string::npos);
  fs::remove_all(dir);
}

TEST(JobStateTest, ParsesNamesCaseInsensitively) {
  EXPECT_EQ(*ParseJobState("running"), JobState::kRunning);
  EXPECT_EQ(*ParseJobState("CANCELLED"), JobState::kCancelled);
  EXPECT_EQ(ParseJobState("done").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(IsTerminal(JobState::kFailed));
  EXPECT_FALSE(IsTerminal(JobState::kQueued));
}

}  // namespace
}  // namespace monoroute::trainer
