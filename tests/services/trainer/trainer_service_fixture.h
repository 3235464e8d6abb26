// The trainer's gRPC adapter over a real in-process server on 127.0.0.1 with the fake backend
// and a job manager in a temporary directory: the one fixture of the service tests
// (trainer_service_test, trainer_auth_test).
#ifndef MONOROUTE_TESTS_SERVICES_TRAINER_TRAINER_SERVICE_FIXTURE_H_
#define MONOROUTE_TESTS_SERVICES_TRAINER_TRAINER_SERVICE_FIXTURE_H_

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "services/trainer/trainer_service.h"
#include "tests/services/trainer/fake_backend.h"
#include "tests/testing/temp_files.h"

namespace monoroute::trainer::testing {

class TrainerServiceFixture : public ::testing::Test {
 protected:
  // Starts the manager (data dir and allowed root: the temp dir) and the service with `auth`.
  void Start(const AuthOptions& auth) {
    JobManagerOptions o;
    o.data_dir = dir_;
    o.backend = std::make_shared<FakeBackend>();
    o.allowed_roots = {dir_};  // the service's BearerAuth is the one token check
    auto m = JobManager::Create(o);
    ASSERT_TRUE(m.ok()) << m.status();
    manager_ = std::move(*m);
    service_ = std::make_unique<TrainerServiceImpl>(manager_.get(), auth);
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
    if (server_) server_->Shutdown();
    if (manager_) manager_->Shutdown();
  }

  ::monoroute::testing::TempDir tmp_{"trainer_svc"};
  std::string dir_ = tmp_.path();
  std::unique_ptr<JobManager> manager_;
  std::unique_ptr<TrainerServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::Trainer::Stub> stub_;
};

}  // namespace monoroute::trainer::testing

#endif  // MONOROUTE_TESTS_SERVICES_TRAINER_TRAINER_SERVICE_FIXTURE_H_
