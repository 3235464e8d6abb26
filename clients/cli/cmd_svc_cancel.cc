// `monoroute cancel ID`: cancels a queued or running job.
#include <iostream>
#include <memory>

#include "clients/cli/command.h"
#include "clients/cli/trainer_cli_util.h"
#include "common/base/status_macros.h"

namespace monoroute::cli {
namespace {

struct CancelOpts {
  TrainerFlags flags;
  std::string id;
};

absl::Status Cancel(const CancelOpts& o) {
  absl::StatusOr<TrainerSession> session = OpenTrainer(o.flags);
  if (!session.ok()) return session.status();
  trainer::v1::CancelJobRequest req;
  req.set_id(o.id);
  trainer::v1::CancelJobResponse resp;
  RETURN_IF_ERROR(session->Call(&trainer::v1::Trainer::Stub::CancelJob, req, &resp, 30));
  return PrintResultLine(ToJsonLine(resp.job()),
                         o.id + (resp.job().state() == trainer::v1::CANCELLED
                                     ? " CANCELLED\n"
                                     : " cancel requested (stops at its next step)\n"));
}

void AddFlags(CLI::App* sub, CancelOpts* o) {
  sub->add_option("id", o->id, "Job id")->required();
  AddTrainerFlags(sub, &o->flags);
}

MONOROUTE_REGISTER_COMMAND(cancel,
                           Command<CancelOpts>("cancel", "Cancel a queued or running training job",
                                               AddFlags, Cancel));

}  // namespace
}  // namespace monoroute::cli
