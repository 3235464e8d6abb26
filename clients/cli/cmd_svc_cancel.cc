// `monoroute cancel ID`: cancels a queued or running job.
#include <iostream>
#include <memory>

#include "clients/cli/command.h"
#include "clients/cli/trainer_cli_util.h"

namespace monoroute::cli {
namespace {

struct CancelOpts {
  TrainerFlags flags;
  std::string id;
};

absl::Status Cancel(const CancelOpts& o) {
  auto token = LoadToken(o.flags);
  if (!token.ok()) return token.status();
  auto stub = ConnectTrainer(o.flags.address, o.flags.tls);
  if (!stub.ok()) return stub.status();
  trainer::v1::CancelJobRequest req;
  req.set_id(o.id);
  trainer::v1::CancelJobResponse resp;
  grpc::ClientContext ctx;
  SetToken(&ctx, *token);
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  grpc::Status s = (*stub)->CancelJob(&ctx, req, &resp);
  if (!s.ok()) return RpcError(s, o.flags.address, o.flags.tls);
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
