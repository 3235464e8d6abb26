// Tests of the trainer's gRPC adapter over a real in-process server on 127.0.0.1 (fake backend):
// status codes on the wire, bearer token from metadata, ListJobs filter, WatchJob streaming.
#include "services/trainer/trainer_service.h"

#include <grpcpp/grpcpp.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <iterator>

#include "common/engine/progress_fields.h"
#include "common/service/proto_fields.h"
#include "tests/services/trainer/trainer_service_fixture.h"

namespace monoroute::trainer {
namespace {

namespace fs = std::filesystem;

class TrainerServiceTest : public testing::TrainerServiceFixture {
 protected:
  void SetUp() override { Start(AuthOptions{"tok", false}); }

  grpc::Status Submit(const std::string& spec, const std::string& token, v1::Job* out) {
    grpc::ClientContext ctx;
    if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
    v1::SubmitJobRequest req;
    req.set_spec_yaml(spec);
    v1::SubmitJobResponse resp;
    grpc::Status s = stub_->SubmitJob(&ctx, req, &resp);
    if (out) *out = resp.job();
    return s;
  }
};

TEST_F(TrainerServiceTest, BadInputGetsTheRightCodesAndNothingIsQueued) {
  EXPECT_EQ(Submit("steps=1", "", nullptr).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Submit("steps=1", "nope", nullptr).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  grpc::Status s = Submit("invalid=optim.lr: must be > 0", "tok", nullptr);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "optim.lr: must be > 0");
  s = Submit("path.data.train_path=/etc/passwd", "tok", nullptr);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(s.error_message().find("data.train_path"), std::string::npos);

  grpc::ClientContext ctx;
  v1::ListJobsResponse list;
  ASSERT_TRUE(stub_->ListJobs(&ctx, v1::ListJobsRequest(), &list).ok());
  EXPECT_EQ(list.jobs_size(), 0);

  grpc::ClientContext gctx;
  v1::GetJobRequest g;
  g.set_id("job-000042");
  v1::Job job;
  EXPECT_EQ(stub_->GetJob(&gctx, g, &job).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(TrainerServiceTest, WatchStreamsToSucceededAndListFilters) {
  v1::Job job;
  ASSERT_TRUE(Submit("steps=20\nsleep_ms=20", "tok", &job).ok());
  EXPECT_EQ(job.id(), "job-000001");

  grpc::ClientContext ctx;
  v1::WatchJobRequest w;
  w.set_id(job.id());
  auto reader = stub_->WatchJob(&ctx, w);
  v1::JobUpdate u;
  std::vector<v1::JobUpdate> updates;
  while (reader->Read(&u)) updates.push_back(u);
  ASSERT_TRUE(reader->Finish().ok());
  ASSERT_GE(updates.size(), 2u);
  EXPECT_EQ(updates.front().kind(), v1::JobUpdate::SNAPSHOT);
  EXPECT_EQ(updates.back().job().state(), v1::SUCCEEDED);
  EXPECT_EQ(updates.back().job().progress().step(), 20);
  EXPECT_EQ(updates.back().job().evals_size(), 1);
  EXPECT_EQ(updates.back().job().progress().balance_size(), 1);

  grpc::ClientContext lctx;
  v1::ListJobsRequest lr;
  lr.set_state(v1::SUCCEEDED);
  v1::ListJobsResponse list;
  ASSERT_TRUE(stub_->ListJobs(&lctx, lr, &list).ok());
  ASSERT_EQ(list.jobs_size(), 1);
  grpc::ClientContext qctx;
  lr.set_state(v1::QUEUED);
  ASSERT_TRUE(stub_->ListJobs(&qctx, lr, &list).ok());
  EXPECT_EQ(list.jobs_size(), 0);

  // A finished job's watch returns its snapshot and ends at once.
  grpc::ClientContext ctx2;
  auto r2 = stub_->WatchJob(&ctx2, w);
  int n = 0;
  while (r2->Read(&u)) ++n;
  EXPECT_TRUE(r2->Finish().ok());
  EXPECT_EQ(n, 1);
}

TEST_F(TrainerServiceTest, CancelNeedsTokenAndStopsARunningJob) {
  v1::Job job;
  ASSERT_TRUE(Submit("block=1", "tok", &job).ok());
  v1::CancelJobRequest c;
  c.set_id(job.id());
  v1::CancelJobResponse resp;
  grpc::ClientContext nctx;
  EXPECT_EQ(stub_->CancelJob(&nctx, c, &resp).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  grpc::ClientContext wctx;
  v1::WatchJobRequest w;
  w.set_id(job.id());
  auto reader = stub_->WatchJob(&wctx, w);
  grpc::ClientContext cctx;
  cctx.AddMetadata("authorization", "Bearer tok");
  ASSERT_TRUE(stub_->CancelJob(&cctx, c, &resp).ok());
  v1::JobUpdate u, last;
  while (reader->Read(&u)) last = u;
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_EQ(last.job().state(), v1::CANCELLED);
  EXPECT_TRUE(last.job().cancel_requested());
}

// Issue 23: a raw invalid-UTF-8 submission is INVALID_ARGUMENT with a message naming the field
// (it came back UNIMPLEMENTED without a message while the field was a proto `string`).
TEST_F(TrainerServiceTest, InvalidUtf8IsInvalidArgumentNamingTheField) {
  grpc::Status s = Submit(std::string("steps=1\nname=\xff\xfe"), "tok", nullptr);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_NE(s.error_message().find("spec_yaml: not valid UTF-8 (byte 0xff at offset 13)"),
            std::string::npos)
      << s.error_message();
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer tok");
  v1::SubmitJobRequest req;
  req.set_spec_yaml("steps=1");
  req.set_name(std::string("caf\xc3"));  // cut inside a character
  v1::SubmitJobResponse resp;
  s = stub_->SubmitJob(&ctx, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("name: not valid UTF-8"), std::string::npos)
      << s.error_message();
  grpc::ClientContext lctx;
  v1::ListJobsResponse list;
  ASSERT_TRUE(stub_->ListJobs(&lctx, v1::ListJobsRequest(), &list).ok());
  EXPECT_EQ(list.jobs_size(), 0);
}

// Issue 22: the step history (GetJobMetrics) and the job's log (StreamJobLogs, also followed).
TEST_F(TrainerServiceTest, MetricsHistoryAndFollowedLogs) {
  v1::Job job;
  ASSERT_TRUE(Submit("steps=30\nsleep_ms=10", "tok", &job).ok());
  grpc::ClientContext ctx;
  v1::StreamJobLogsRequest req;
  req.set_id(job.id());
  req.set_follow(true);
  auto reader = stub_->StreamJobLogs(&ctx, req);
  v1::LogChunk chunk;
  std::string text;
  int64_t next = 0;
  while (reader->Read(&chunk)) {
    EXPECT_EQ(chunk.offset(), next);
    next += static_cast<int64_t>(chunk.data().size());
    text += chunk.data();
  }
  ASSERT_TRUE(reader->Finish().ok());
  // Followed until the job ended: every step's line, in order, once.
  std::string want;
  for (int s = 1; s <= 30; ++s) want += "step " + std::to_string(s) + "\n";
  EXPECT_EQ(text, want);

  grpc::ClientContext tctx;
  req.set_follow(false);
  req.set_offset(-8);
  auto tail = stub_->StreamJobLogs(&tctx, req);
  std::string last;
  while (tail->Read(&chunk)) last += chunk.data();
  ASSERT_TRUE(tail->Finish().ok());
  EXPECT_EQ(last, "step 30\n");

  grpc::ClientContext mctx;
  v1::GetJobMetricsRequest mreq;
  mreq.set_id(job.id());
  v1::JobMetrics metrics;
  ASSERT_TRUE(stub_->GetJobMetrics(&mctx, mreq, &metrics).ok());
  ASSERT_EQ(metrics.steps_size(), 30);
  EXPECT_EQ(metrics.steps(29).step(), 30);
  EXPECT_NEAR(metrics.steps(1).lm_loss(), 2.5, 1e-12);

  grpc::ClientContext nctx;
  mreq.set_id("job-999999");
  EXPECT_EQ(stub_->GetJobMetrics(&nctx, mreq, &metrics).error_code(), grpc::StatusCode::NOT_FOUND);
  grpc::ClientContext lctx;
  req.set_id("job-999999");
  auto missing = stub_->StreamJobLogs(&lctx, req);
  while (missing->Read(&chunk)) {
  }
  EXPECT_EQ(missing->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
}

// Collects the visited field names a proto message lacks.
struct Names {
  const google::protobuf::Descriptor* d;
  std::vector<std::string> missing;
  template <typename T>
  void operator()(const char* name, const T&) {
    if (d->FindFieldByName(name) == nullptr) missing.push_back(d->name() + "." + name);
  }
  template <typename S>
  void List(const char* name, const std::vector<S>&) {
    const auto* f = d->FindFieldByName(name);
    if (f == nullptr) {
      missing.push_back(d->name() + "." + name);
      return;
    }
    Names inner{f->message_type(), {}};
    const S item{};
    engine::VisitFields(item, inner);
    missing.insert(missing.end(), inner.missing.begin(), inner.missing.end());
  }
};

// Every field of the one progress field list exists in the proto under its name.
TEST_F(TrainerServiceTest, ProtoHasEveryProgressField) {
  const engine::StepReport step_report;
  const engine::EvalReport eval_report;
  const engine::PhaseReport phase_report;
  Names step{v1::Progress::descriptor(), {}};
  engine::VisitFields(step_report, step);
  Names eval{v1::EvalResult::descriptor(), {}};
  engine::VisitFields(eval_report, eval);
  Names phase{v1::Phase::descriptor(), {}};
  engine::VisitFields(phase_report, phase);
  EXPECT_TRUE(step.missing.empty() && eval.missing.empty() && phase.missing.empty())
      << step.missing.size() << eval.missing.size() << phase.missing.size();
  // And the conversion carries the values.
  JobRecord j;
  j.progress.step = 7;
  j.progress.world_size = 2;
  j.progress.balance.push_back({4, {0.25, 0.75}, 0.5, 0.56, 0.01});
  j.evals.push_back({7, 2.0, 7.39, "valid", 64, {}});
  j.phase = {"final_eval", 3, 9};
  v1::Job out;
  JobToProto(j, &out);
  EXPECT_EQ(out.progress().step(), 7);
  EXPECT_EQ(out.progress().world_size(), 2);
  ASSERT_EQ(out.progress().balance_size(), 1);
  EXPECT_EQ(out.progress().balance(0).layer(), 4u);
  EXPECT_EQ(out.progress().balance(0).load(1), 0.75);
  EXPECT_EQ(out.evals(0).sequences(), 64);
  EXPECT_EQ(out.phase().phase(), "final_eval");
  EXPECT_EQ(out.phase().total(), 9);
}

// Every upload counter exists in the proto's EventStats under its name and carries its value.
TEST_F(TrainerServiceTest, ProtoHasEveryUploadCounter) {
  JobRecord j;
  uint64_t value = 11;
  for (const recorder::UploadCounterField& f : recorder::kUploadCounterFields) {
    j.events.*f.member = value++;
  }
  v1::Job out;
  JobToProto(j, &out);
  const google::protobuf::Reflection* r = out.events().GetReflection();
  value = 11;
  for (const recorder::UploadCounterField& f : recorder::kUploadCounterFields) {
    const google::protobuf::FieldDescriptor* fd =
        v1::EventStats::descriptor()->FindFieldByName(f.name);
    ASSERT_NE(fd, nullptr) << f.name;
    EXPECT_EQ(r->GetUInt64(out.events(), fd), value++) << f.name;
  }
  EXPECT_EQ(v1::EventStats::descriptor()->field_count(), std::size(recorder::kUploadCounterFields));
}

// JobToProto writes the job's one field list (VisitJobFields): every field but the store's own
// `seq` and `stopped_by_shutdown` is in the proto, with its value.
TEST_F(TrainerServiceTest, JobToProtoWritesTheJobFieldList) {
  JobRecord j;
  j.id = "job-000007";
  j.seq = 7;
  j.state = JobState::kSucceededWithWarnings;
  j.resumes = 2;
  j.final_val_loss = 1.5;
  j.evals.push_back({7, 2.0, 7.39, "valid", 64, {}});
  j.warnings = {"events dropped"};
  j.attempt_failures = {"worker killed"};
  j.events.events_acked = 99;
  v1::Job out;
  std::vector<std::string> missing;
  ProtoFieldWriter w(&out, &missing);
  VisitJobFields(j, w);
  EXPECT_THAT(missing, ::testing::ElementsAre("Job.seq", "Job.stopped_by_shutdown"));
  v1::Job converted;
  JobToProto(j, &converted);
  EXPECT_EQ(converted.SerializeAsString(), out.SerializeAsString());
  EXPECT_EQ(out.id(), "job-000007");
  EXPECT_EQ(out.state(), v1::SUCCEEDED_WITH_WARNINGS);
  EXPECT_EQ(out.resumes(), 2);
  EXPECT_EQ(out.final_val_loss(), 1.5);
  ASSERT_EQ(out.evals_size(), 1);
  EXPECT_EQ(out.evals(0).sequences(), 64);
  EXPECT_THAT(out.warnings(), ::testing::ElementsAre("events dropped"));
  EXPECT_THAT(out.attempt_failures(), ::testing::ElementsAre("worker killed"));
  EXPECT_EQ(out.events().events_acked(), 99u);
}

TEST_F(TrainerServiceTest, WatchUnknownJobIsNotFound) {
  grpc::ClientContext ctx;
  v1::WatchJobRequest w;
  w.set_id("job-404");
  auto reader = stub_->WatchJob(&ctx, w);
  v1::JobUpdate u;
  EXPECT_FALSE(reader->Read(&u));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace monoroute::trainer
