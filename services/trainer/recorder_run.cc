// FinishRun on a job's recorder run, over a plaintext or TLS channel.
#include "services/trainer/recorder_run.h"

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "common/service/grpc_status.h"
#include "monoroute/recorder/v1/recorder.grpc.pb.h"

namespace monoroute::trainer {

absl::StatusOr<uint64_t> FinishRecorderRun(const RecorderRunOptions& options,
                                           const std::string& run_id) {
  if (options.address.empty()) return absl::InvalidArgumentError("recorder: empty address");
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      CreateServiceChannel(options.address, options.tls);
  if (!channel.ok()) return channel.status();
  std::unique_ptr<recorder::v1::Recorder::Stub> stub = recorder::v1::Recorder::NewStub(*channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + options.timeout);
  if (!options.bearer_token.empty()) {
    ctx.AddMetadata("authorization", "Bearer " + options.bearer_token);
  }
  recorder::v1::FinishRunRequest req;
  req.set_run_id(run_id);
  recorder::v1::RunSummary summary;
  absl::Status s = FromGrpcStatus(stub->FinishRun(&ctx, req, &summary));
  if (!s.ok()) {
    return absl::Status(s.code(), absl::StrCat("recorder at ", options.address, ": FinishRun('",
                                               run_id, "'): ", s.message()));
  }
  return summary.events();
}

}  // namespace monoroute::trainer
