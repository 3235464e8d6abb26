// `monoroute logs JOB [--follow] [--tail BYTES]`: prints a training job's log (what its worker
// wrote: a line per logged step, evaluation, checkpoint and phase, warnings and errors), streamed
// by the trainer's StreamJobLogs; with --follow, new output as it comes until the job ends.
// --output json: one {"offset", "text"} object per chunk.
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "clients/cli/command.h"
#include "clients/cli/trainer_cli_util.h"

namespace monoroute::cli {
namespace {

struct LogsOpts {
  TrainerFlags flags;
  std::string id;
  bool follow = false;
  int64_t tail = 0;
};

absl::Status Logs(const LogsOpts& o) {
  if (o.tail < 0) return UsageError("--tail: must be >= 0 (bytes)");
  absl::StatusOr<TrainerSession> session = OpenTrainer(o.flags);
  if (!session.ok()) return session.status();
  grpc::ClientContext ctx;
  session->Authorize(&ctx);
  trainer::v1::StreamJobLogsRequest req;
  req.set_id(o.id);
  req.set_follow(o.follow);
  req.set_offset(-o.tail);
  auto reader = session->stub->StreamJobLogs(&ctx, req);
  trainer::v1::LogChunk chunk;
  while (reader->Read(&chunk)) {
    if (JsonOutput()) {
      PrintJson({{"offset", chunk.offset()}, {"text", chunk.data()}});
    } else {
      std::cout << chunk.data() << std::flush;
    }
  }
  grpc::Status s = reader->Finish();
  if (!s.ok()) return RpcError(s, o.flags.address, o.flags.tls);
  return absl::OkStatus();
}

void AddFlags(CLI::App* sub, LogsOpts* o) {
  sub->add_option("id", o->id, "Job id")->required();
  sub->add_flag("--follow,-f", o->follow, "Keep printing new output until the job ends");
  sub->add_option("--tail", o->tail, "Start this many bytes before the end (0: the whole log)");
  AddTrainerFlags(sub, &o->flags);
}

MONOROUTE_REGISTER_COMMAND(logs,
                           Command<LogsOpts>("logs",
                                             "Print a training job's log (its worker's output)",
                                             AddFlags, Logs));

}  // namespace
}  // namespace monoroute::cli
