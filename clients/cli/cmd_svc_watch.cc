// `monoroute watch ID`: follows a job to its end with a live progress bar (plain lines when not a
// TTY, JSON lines with --output json). Exits 0 when the job SUCCEEDED, 1 otherwise (also for
// SUCCEEDED_WITH_WARNINGS: the training completed, but e.g. routing events were lost; the warnings
// are printed).
#include <iostream>
#include <memory>

#include "clients/cli/command.h"
#include "clients/cli/trainer_cli_util.h"

namespace monoroute::cli {
namespace {

struct WatchOpts {
  TrainerFlags flags;
  std::string id;
  double every_s = 5.0;
};

absl::Status Watch(const WatchOpts& o) {
  absl::StatusOr<TrainerSession> session = OpenTrainer(o.flags);
  if (!session.ok()) return session.status();
  auto job = WatchUntilDone(session->stub.get(), o.flags.address, o.id,
                            JsonOutput() ? "json" : "text", "", o.every_s, session->token);
  if (!job.ok()) return job.status();
  const bool completed = job->state() == trainer::v1::SUCCEEDED ||
                         job->state() == trainer::v1::SUCCEEDED_WITH_WARNINGS;
  if (completed && !JsonOutput()) {
    const std::string resumed = ResumedText(*job);
    std::cout << o.id << " finished: step " << job->progress().step()
              << (resumed.empty() ? "" : " (" + resumed + ")") << ", final val_loss "
              << absl::StrFormat("%.4f", job->final_val_loss()) << ", events recorded "
              << job->events().events_acked() << " (dropped " << job->events().events_dropped()
              << ")\n";
    for (const std::string& w : job->warnings()) std::cout << o.id << " warning: " << w << "\n";
  }
  if (job->state() == trainer::v1::SUCCEEDED_WITH_WARNINGS) {
    return absl::AbortedError(
        absl::StrCat("job ", o.id, " ended SUCCEEDED_WITH_WARNINGS: ", WarningsText(*job)));
  }
  if (job->state() == trainer::v1::SUCCEEDED) return absl::OkStatus();
  return absl::AbortedError(absl::StrCat("job ", o.id, " ended ", StateName(job->state()),
                                         job->failure_reason().empty() ? "" : ": ",
                                         job->failure_reason()));
}

void AddFlags(CLI::App* sub, WatchOpts* o) {
  sub->add_option("id", o->id, "Job id")->required();
  sub->add_option("--every", o->every_s, "Seconds between plain progress lines (not a TTY)")
      ->capture_default_str();
  AddTrainerFlags(sub, &o->flags);
}

MONOROUTE_REGISTER_COMMAND(watch,
                           Command<WatchOpts>("watch",
                                              "Follow a training job's progress until it ends",
                                              AddFlags, Watch));

}  // namespace
}  // namespace monoroute::cli
