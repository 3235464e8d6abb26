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
  if (JsonOutput()) {
    PrintJsonLine(ToJsonLine(resp.job()));
  } else if (resp.job().state() == trainer::v1::CANCELLED) {
    std::cout << o.id << " CANCELLED\n";
  } else {
    std::cout << o.id << " cancel requested (stops at its next step)\n";
  }
  return absl::OkStatus();
}

MONOROUTE_REGISTER_COMMAND(cancel, [](CLI::App& app) {
  auto o = std::make_shared<CancelOpts>();
  CLI::App* sub = app.add_subcommand("cancel", "Cancel a queued or running training job");
  sub->add_option("id", o->id, "Job id")->required();
  AddTrainerFlags(sub, &o->flags);
  SetAction(sub, [o]() { return Cancel(*o); });
});

}  // namespace
}  // namespace monoroute::cli
