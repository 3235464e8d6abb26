// gRPC adapter of the trainer (monoroute.trainer.v1.Trainer, callback API): converts requests,
// calls JobManager, converts back. The bearer token comes from the "authorization: Bearer <t>"
// request metadata. WatchJob streams updates with one reactor per call that never blocks.
#ifndef MONOROUTE_SERVICES_TRAINER_TRAINER_SERVICE_H_
#define MONOROUTE_SERVICES_TRAINER_TRAINER_SERVICE_H_

#include <memory>
#include <string>

#include "monoroute/trainer/v1/trainer.grpc.pb.h"
#include "services/trainer/job_manager.h"

namespace monoroute::trainer {

// Converts a job record to its wire form.
void JobToProto(const JobRecord& job, v1::Job* out);

// Thread-safe. Does not own `manager`, which must outlive the service (and the server).
class TrainerServiceImpl final : public v1::Trainer::CallbackService {
 public:
  explicit TrainerServiceImpl(JobManager* manager) : manager_(manager) {}

  grpc::ServerUnaryReactor* SubmitJob(grpc::CallbackServerContext* ctx,
                                      const v1::SubmitJobRequest* req,
                                      v1::SubmitJobResponse* resp) override;
  grpc::ServerUnaryReactor* GetJob(grpc::CallbackServerContext* ctx, const v1::GetJobRequest* req,
                                   v1::Job* resp) override;
  grpc::ServerUnaryReactor* ListJobs(grpc::CallbackServerContext* ctx,
                                     const v1::ListJobsRequest* req,
                                     v1::ListJobsResponse* resp) override;
  grpc::ServerWriteReactor<v1::JobUpdate>* WatchJob(grpc::CallbackServerContext* ctx,
                                                    const v1::WatchJobRequest* req) override;
  grpc::ServerUnaryReactor* CancelJob(grpc::CallbackServerContext* ctx,
                                      const v1::CancelJobRequest* req,
                                      v1::CancelJobResponse* resp) override;

 private:
  JobManager* manager_;
};

}  // namespace monoroute::trainer

#endif  // MONOROUTE_SERVICES_TRAINER_TRAINER_SERVICE_H_
