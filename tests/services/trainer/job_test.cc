// JobRecord <-> JSON (services/trainer/job.h), the job store's file form: every field is written
// and read back, what the reader defaults (a missing device is "cpu", a null final_val_loss is NaN)
// and what it refuses, naming the file: not an object, a missing required key, a value of the
// wrong type, an unknown state.
#include "services/trainer/job.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

namespace monoroute::trainer {
namespace {

using nlohmann::json;

// A record with every field set to something other than its default.
JobRecord Full() {
  JobRecord j;
  j.id = "job-000007";
  j.seq = 7;
  j.name = "tiny";
  j.state = JobState::kSucceededWithWarnings;
  j.failure_reason = "none";
  j.spec_yaml = "kind: pretrain\n";
  j.kind = "pretrain";
  j.output_dir = "/out/job-000007";
  j.device = "cuda:1";
  j.created_unix_ms = 11;
  j.started_unix_ms = 12;
  j.finished_unix_ms = 13;
  j.progress.step = 9;
  j.progress.balance.push_back({2, {0.25, 0.75}, 0.5, 0.56, 0.02});
  j.evals.push_back({5, 3.5, 33.1, "valid"});
  j.evals.push_back({9, 3.25, 25.8, "valid"});
  j.phase.phase = "training";
  j.resumed_from_step = 4;
  j.events = {100, 90, 3, 9, 1};
  j.recorder_run_id = "abc-job-000007";
  j.resumes = 2;
  j.trainer_crashes = 1;
  j.stopped_by_shutdown = true;
  j.warnings = {"3 routing events dropped"};
  j.worker_pid = 4242;
  j.worker_retries = 1;
  j.attempt_failures = {"attempt 1: killed"};
  j.final_val_loss = 3.25;
  j.checkpoint_dir = "/out/job-000007/ckpt";
  j.cancel_requested = true;
  return j;
}

TEST(JobJsonTest, EveryFieldRoundTrips) {
  const JobRecord in = Full();
  const std::string text = JobToJson(in);
  const json doc = json::parse(text);
  EXPECT_EQ(doc.size(), 28u) << text;
  EXPECT_EQ(doc["state"], "SUCCEEDED_WITH_WARNINGS");
  EXPECT_EQ(doc["events"]["events_dropped"], 3);
  EXPECT_EQ(doc["evals"].size(), 2u);
  absl::StatusOr<JobRecord> out = JobFromJson(text, "job.json");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(JobToJson(*out), text);
  EXPECT_EQ(out->state, JobState::kSucceededWithWarnings);
  EXPECT_EQ(out->device, "cuda:1");
  EXPECT_EQ(out->events.duplicate_acks, 1u);
  EXPECT_EQ(out->evals[1].step, 9);
  EXPECT_EQ(out->attempt_failures, in.attempt_failures);
  EXPECT_TRUE(out->stopped_by_shutdown);
}

TEST(JobJsonTest, ReaderDefaults) {
  json doc = json::parse(JobToJson(Full()));
  doc.erase("device");
  doc.erase("warnings");
  doc["final_val_loss"] = nullptr;
  absl::StatusOr<JobRecord> out = JobFromJson(doc.dump(), "job.json");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->device, "cpu");
  EXPECT_TRUE(out->warnings.empty());
  EXPECT_TRUE(std::isnan(out->final_val_loss));
  doc.erase("final_val_loss");
  EXPECT_EQ(JobFromJson(doc.dump(), "job.json")->final_val_loss, 0.0);
}

TEST(JobJsonTest, BadFilesAreRefusedNamingTheFile) {
  const json good = json::parse(JobToJson(Full()));
  auto refused = [](const json& doc) {
    absl::StatusOr<JobRecord> r = JobFromJson(doc.dump(), "/store/job-000007.json");
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << doc.dump();
    return std::string(r.status().message());
  };
  EXPECT_NE(refused(json::array()).find("/store/job-000007.json: not a JSON object"),
            std::string::npos);
  for (const char* key : {"id", "seq", "state", "spec_yaml", "output_dir"}) {
    json doc = good;
    doc.erase(key);
    EXPECT_NE(refused(doc).find("/store/job-000007.json: "), std::string::npos) << key;
  }
  json wrong = good;
  wrong["resumes"] = "two";
  refused(wrong);
  json state = good;
  state["state"] = "DONE";
  EXPECT_NE(refused(state).find("job state"), std::string::npos);
}

}  // namespace
}  // namespace monoroute::trainer
