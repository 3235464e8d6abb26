// gRPC adapter of the trainer (monoroute.trainer.v1.Trainer, callback API): checks the bearer
// token (common/service BearerAuth: SubmitJob/CancelJob, and reads with auth_reads), converts
// requests, calls JobManager, converts back. WatchJob streams updates with one reactor per call
// that never blocks; StreamJobLogs streams the job's log file (log_stream.h).
#ifndef MONOROUTE_SERVICES_TRAINER_TRAINER_SERVICE_H_
#define MONOROUTE_SERVICES_TRAINER_TRAINER_SERVICE_H_

#include <memory>
#include <string>
#include <utility>

#include "common/service/auth.h"
#include "monoroute/trainer/v1/trainer.grpc.pb.h"
#include "services/trainer/job_manager.h"

namespace monoroute::trainer {

// Converts a job record to its wire form.
void JobToProto(const JobRecord& job, v1::Job* out);

// Thread-safe. Does not own `manager`, which must outlive the service (and the server).
// `auth`: the token SubmitJob/CancelJob (and, with auth_reads, GetJob/ListJobs/WatchJob) need.
class TrainerServiceImpl final : public v1::Trainer::CallbackService {
 public:
  explicit TrainerServiceImpl(JobManager* manager, AuthOptions auth = {})
      : manager_(manager), auth_(std::move(auth)) {}

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
  grpc::ServerUnaryReactor* GetJobMetrics(grpc::CallbackServerContext* ctx,
                                          const v1::GetJobMetricsRequest* req,
                                          v1::JobMetrics* resp) override;
  grpc::ServerWriteReactor<v1::LogChunk>* StreamJobLogs(
      grpc::CallbackServerContext* ctx, const v1::StreamJobLogsRequest* req) override;

 private:
  JobManager* manager_;
  const BearerAuth auth_;
};

}  // namespace monoroute::trainer

#endif  // MONOROUTE_SERVICES_TRAINER_TRAINER_SERVICE_H_
