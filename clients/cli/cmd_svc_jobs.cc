// `monoroute jobs [--state S]`: lists the trainer's jobs (a FAILED job with its reason, one that
// SUCCEEDED_WITH_WARNINGS with its warnings).
#include <iostream>
#include <memory>

#include "absl/strings/ascii.h"
#include "clients/cli/command.h"
#include "clients/cli/trainer_cli_util.h"
#include "common/base/status_macros.h"

namespace monoroute::cli {
namespace {

struct JobsOpts {
  TrainerFlags flags;
  std::string state;
};

absl::Status Jobs(const JobsOpts& o) {
  trainer::v1::ListJobsRequest req;
  if (!o.state.empty()) {
    trainer::v1::JobState st;
    if (!trainer::v1::JobState_Parse(absl::AsciiStrToUpper(o.state), &st) ||
        st == trainer::v1::JOB_STATE_UNSPECIFIED) {
      return UsageError(
          "--state: expected QUEUED, RUNNING, SUCCEEDED, SUCCEEDED_WITH_WARNINGS, FAILED or "
          "CANCELLED");
    }
    req.set_state(st);
  }
  absl::StatusOr<TrainerSession> session = OpenTrainer(o.flags);
  if (!session.ok()) return session.status();
  trainer::v1::ListJobsResponse resp;
  RETURN_IF_ERROR(session->Call(&trainer::v1::Trainer::Stub::ListJobs, req, &resp, 30));
  if (JsonOutput()) {
    PrintJsonLine(ToJsonLine(resp));
    return absl::OkStatus();
  }
  std::cout << absl::StrFormat("%-12s %-23s %-9s %-16s %s\n", "ID", "STATE", "KIND", "NAME",
                               "PROGRESS");
  for (const auto& j : resp.jobs()) {
    std::cout << absl::StrFormat("%-12s %-23s %-9s %-16s %s\n", j.id(), StateName(j.state()),
                                 j.kind(), j.name().empty() ? "-" : j.name(), JobDetail(j));
  }
  return absl::OkStatus();
}

void AddFlags(CLI::App* sub, JobsOpts* o) {
  sub->add_option("--state", o->state, "Only jobs in this state");
  AddTrainerFlags(sub, &o->flags);
}

MONOROUTE_REGISTER_COMMAND(jobs, Command<JobsOpts>("jobs", "List the trainer service's jobs",
                                                   AddFlags, Jobs));

}  // namespace
}  // namespace monoroute::cli
