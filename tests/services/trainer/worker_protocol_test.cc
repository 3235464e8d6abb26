// WorkerRequest <-> JSON (services/trainer/worker_protocol.h), the request file a trainer writes
// for its worker: every field round-trips from its one field list, the file keeps its layout (the
// upload settings at the top level, TLS and the earlier attempts' counters as objects), absent
// optional fields keep their defaults, and a file without job_id or spec_yaml is refused naming
// the file.
#include "services/trainer/worker_protocol.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/testing/status_matchers.h"

namespace monoroute::trainer {
namespace {

using nlohmann::json;

// A request with every field set to something other than its default.
WorkerRequest Full() {
  WorkerRequest r;
  r.job_id = "job-000003";
  r.job_name = "tiny";
  r.spec_yaml = "kind: finetune\n";
  r.run_id = "run-3";
  r.upload.recorder_address = "127.0.0.1:7101";
  r.upload.recorder_tls.ca_file = "/pki/ca.pem";
  r.upload.recorder_tls.cert_file = "/pki/client.pem";
  r.upload.recorder_tls.key_file = "/pki/client.key";
  r.upload.recorder_tls.server_name = "recorder";
  r.upload.recorder_tls.use_tls = true;
  r.upload.recorder_tls.flag_prefix = "--recorder-tls";
  r.upload.max_queue_events = 12345;
  r.upload.max_block_ms = 17;
  r.upload.flush_timeout_ms = 1900;
  r.upload.stop_flush_timeout_ms = 23;
  r.threads = 3;
  r.tokenize_threads = 2;
  r.prior_events.events_enqueued = 100;
  r.prior_events.events_acked = 90;
  r.prior_events.events_dropped = 4;
  r.prior_events.batches_acked = 6;
  r.prior_events.duplicate_acks = 1;
  r.lock_path = "/var/lib/monoroute/jobs/job-000003/lock";
  return r;
}

TEST(WorkerProtocolTest, RequestRoundTripsEveryField) {
  const WorkerRequest in = Full();
  absl::StatusOr<WorkerRequest> out = WorkerRequestFromJson(WorkerRequestToJson(in), "req.json");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(WorkerRequestToJson(*out), WorkerRequestToJson(in));
  EXPECT_EQ(out->job_id, in.job_id);
  EXPECT_EQ(out->upload.recorder_tls.server_name, "recorder");
  EXPECT_TRUE(out->upload.recorder_tls.use_tls);
  EXPECT_EQ(out->upload.recorder_tls.flag_prefix, "--recorder-tls");
  EXPECT_EQ(out->upload.max_queue_events, 12345u);
  EXPECT_EQ(out->upload.stop_flush_timeout_ms, 23);
  EXPECT_EQ(out->tokenize_threads, 2);
  EXPECT_EQ(out->prior_events.events_dropped, 4u);
  EXPECT_EQ(out->prior_events.duplicate_acks, 1u);
  EXPECT_EQ(out->lock_path, in.lock_path);
}

TEST(WorkerProtocolTest, RequestFileKeepsItsLayout) {
  const json j = json::parse(WorkerRequestToJson(Full()));
  std::vector<std::string> keys;
  for (auto it = j.begin(); it != j.end(); ++it) keys.push_back(it.key());
  EXPECT_EQ(keys,
            (std::vector<std::string>{"flush_timeout_ms", "job_id", "job_name", "lock_path",
                                      "max_block_ms", "max_queue_events", "prior_events",
                                      "recorder_address", "recorder_tls", "run_id", "spec_yaml",
                                      "stop_flush_timeout_ms", "threads", "tokenize_threads"}));
  EXPECT_EQ(j["recorder_tls"]["ca_file"], "/pki/ca.pem");
  EXPECT_EQ(j["recorder_tls"]["use_tls"], true);
  EXPECT_EQ(j["recorder_tls"].size(), 6u);
  EXPECT_EQ(j["prior_events"]["events_acked"], 90);
  EXPECT_EQ(j["max_queue_events"], 12345);
}

TEST(WorkerProtocolTest, AbsentOptionalFieldsKeepTheirDefaults) {
  absl::StatusOr<WorkerRequest> r = WorkerRequestFromJson(
      R"({"job_id": "job-000001", "spec_yaml": "kind: pretrain\n"})", "req.json");
  ASSERT_TRUE(r.ok()) << r.status();
  const WorkerRequest d;
  EXPECT_EQ(r->threads, d.threads);
  EXPECT_EQ(r->upload.max_queue_events, d.upload.max_queue_events);
  EXPECT_EQ(r->upload.flush_timeout_ms, d.upload.flush_timeout_ms);
  EXPECT_EQ(r->upload.recorder_tls.flag_prefix, d.upload.recorder_tls.flag_prefix);
  EXPECT_FALSE(r->upload.recorder_tls.use_tls);
  EXPECT_EQ(r->prior_events.events_enqueued, 0u);
}

TEST(WorkerProtocolTest, RefusesARequestWithoutItsRequiredFieldsNamingTheFile) {
  for (const char* text : {R"({"spec_yaml": "kind: pretrain\n"})", R"({"job_id": "job-1"})",
                           R"({"job_id": 7, "spec_yaml": "x"})", "[1, 2]", "not json"}) {
    EXPECT_THAT(WorkerRequestFromJson(text, "/var/lib/monoroute/jobs/job-1/request.json"),
                testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                  ::testing::HasSubstr("/var/lib/monoroute/jobs/job-1/request.json")))
        << text;
  }
}

}  // namespace
}  // namespace monoroute::trainer
