// The trainer's gRPC adapter with the shared bearer-token check (in-process server on 127.0.0.1,
// fake backend): SubmitJob and CancelJob refuse missing, malformed, lowercase, trailing-space and
// wrong tokens and accept the right one (nothing is queued when refused); reads are open unless
// auth_reads (GetJob, ListJobs, WatchJob); an over-long job id is a short INVALID_ARGUMENT.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "services/trainer/trainer_service.h"
#include "tests/services/trainer/trainer_service_fixture.h"
#include "tests/testing/grpc_call.h"

namespace monoroute::trainer {
namespace {

namespace fs = std::filesystem;

constexpr char kToken[] = "trainer-token-0123";

class TrainerAuthTest : public testing::TrainerServiceFixture {
 protected:
  void Start(bool auth_reads) { TrainerServiceFixture::Start(AuthOptions{kToken, auth_reads}); }

  static void Authorize(grpc::ClientContext* ctx, const std::string& header) {
    if (!header.empty()) ctx->AddMetadata("authorization", header);
  }
  grpc::Status Submit(const std::string& header, std::string* id = nullptr) {
    v1::SubmitJobRequest req;
    req.set_spec_yaml("steps=1\nblock=1");
    v1::SubmitJobResponse resp;
    grpc::Status s = ::monoroute::testing::CallWithAuth(stub_.get(), &v1::Trainer::Stub::SubmitJob,
                                                        header, req, &resp);
    if (id != nullptr) *id = resp.job().id();
    return s;
  }
  grpc::Status Cancel(const std::string& id, const std::string& header) {
    v1::CancelJobRequest req;
    req.set_id(id);
    return ::monoroute::testing::CallWithAuth(stub_.get(), &v1::Trainer::Stub::CancelJob, header,
                                              req);
  }
  grpc::Status Get(const std::string& id, const std::string& header) {
    v1::GetJobRequest req;
    req.set_id(id);
    return ::monoroute::testing::CallWithAuth(stub_.get(), &v1::Trainer::Stub::GetJob, header, req);
  }
  grpc::Status List(const std::string& header) {
    return ::monoroute::testing::CallWithAuth(stub_.get(), &v1::Trainer::Stub::ListJobs, header,
                                              v1::ListJobsRequest());
  }
  grpc::Status Watch(const std::string& id, const std::string& header) {
    grpc::ClientContext ctx;
    Authorize(&ctx, header);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::WatchJobRequest req;
    req.set_id(id);
    auto reader = stub_->WatchJob(&ctx, req);
    v1::JobUpdate u;
    if (reader->Read(&u)) ctx.TryCancel();  // the snapshot arrived: the watch was accepted
    grpc::Status s = reader->Finish();
    return s.error_code() == grpc::StatusCode::CANCELLED ? grpc::Status::OK : s;
  }

  static std::vector<std::string> BadHeaders() {
    return {"",
            kToken,
            std::string("bearer ") + kToken,
            std::string("Bearer ") + kToken + " ",
            std::string("Bearer  ") + kToken,
            "Bearer ",
            "Bearer wrong"};
  }
  static std::string Right() { return std::string("Bearer ") + kToken; }
};

TEST_F(TrainerAuthTest, SubmitAndCancelNeedTheExactToken) {
  Start(/*auth_reads=*/false);
  for (const std::string& h : BadHeaders()) {
    grpc::Status s = Submit(h);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << "'" << h << "'";
    EXPECT_EQ(s.error_message().find(kToken), std::string::npos) << s.error_message();
  }
  EXPECT_TRUE(manager_->List(std::nullopt).empty()) << "a refused submit queued a job";
  std::string id;
  ASSERT_TRUE(Submit(Right(), &id).ok());
  for (const std::string& h : BadHeaders()) {
    EXPECT_EQ(Cancel(id, h).error_code(), grpc::StatusCode::UNAUTHENTICATED) << "'" << h << "'";
  }
  EXPECT_FALSE(manager_->Get(id)->cancel_requested);
  grpc::Status ok = Cancel(id, Right());
  EXPECT_TRUE(ok.ok()) << ok.error_message();
  // Reads are open without auth_reads.
  EXPECT_TRUE(Get(id, "").ok());
  EXPECT_TRUE(List("").ok());
  EXPECT_TRUE(Watch(id, "").ok());
}

TEST_F(TrainerAuthTest, AuthReadsCoversGetListAndWatch) {
  Start(/*auth_reads=*/true);
  std::string id;
  ASSERT_TRUE(Submit(Right(), &id).ok());
  for (const std::string& h : {std::string(), std::string("bearer ") + kToken}) {
    EXPECT_EQ(Get(id, h).error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(List(h).error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(Watch(id, h).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  }
  EXPECT_TRUE(Get(id, Right()).ok());
  EXPECT_TRUE(List(Right()).ok());
  grpc::Status w = Watch(id, Right());
  EXPECT_TRUE(w.ok()) << w.error_message();
  ASSERT_TRUE(Cancel(id, Right()).ok());
}

TEST_F(TrainerAuthTest, OverLongJobIdIsAShortInvalidArgument) {
  Start(/*auth_reads=*/false);
  const std::string huge(100000, 'j');
  for (const grpc::Status& s : {Get(huge, ""), Cancel(huge, Right()), Watch(huge, "")}) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message().size();
    EXPECT_LT(s.error_message().size(), 300u);
    EXPECT_NE(s.error_message().find("(100000 bytes)"), std::string::npos);
  }
}

}  // namespace
}  // namespace monoroute::trainer
