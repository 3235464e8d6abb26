// Tests of the trainer's gRPC adapter over a real in-process server on 127.0.0.1 (fake backend):
// status codes on the wire, bearer token from metadata, ListJobs filter, WatchJob streaming.
#include "services/trainer/trainer_service.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "tests/services/trainer/fake_backend.h"

namespace monoroute::trainer {
namespace {

namespace fs = std::filesystem;

class TrainerServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "trainer_svc_XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
    JobManagerOptions o;
    o.data_dir = dir_;
    o.backend = std::make_shared<testing::FakeBackend>();
    o.auth_token = "tok";
    o.allowed_roots = {dir_};
    auto m = JobManager::Create(o);
    ASSERT_TRUE(m.ok()) << m.status();
    manager_ = std::move(*m);
    service_ = std::make_unique<TrainerServiceImpl>(manager_.get());
    grpc::ServerBuilder b;
    int port = 0;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    b.RegisterService(service_.get());
    server_ = b.BuildAndStart();
    ASSERT_NE(port, 0);
    stub_ = v1::Trainer::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                                     grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    server_->Shutdown();
    manager_->Shutdown();
    fs::remove_all(dir_);
  }

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

  std::string dir_;
  std::unique_ptr<JobManager> manager_;
  std::unique_ptr<TrainerServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::Trainer::Stub> stub_;
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
