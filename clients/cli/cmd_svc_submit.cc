// `monoroute submit --config job.yaml [--set k=v]...`: submits a training job to the trainer
// service; the spec is given as for `monoroute train`. `monoroute submit job.yaml` (positional) is
// the deprecated spelling.
#include <iostream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "clients/cli/command.h"
#include "clients/cli/trainer_cli_util.h"
#include "common/base/status_macros.h"

namespace monoroute::cli {
namespace {

struct SubmitOpts {
  TrainerFlags flags;
  std::string config;       // --config
  std::string legacy_spec;  // positional (deprecated)
  std::vector<std::string> sets;
  std::string name;
};

absl::Status Submit(const SubmitOpts& o) {
  if (!o.config.empty() && !o.legacy_spec.empty()) {
    return UsageError("give the job spec once: --config FILE");
  }
  if (o.config.empty() && o.legacy_spec.empty()) return UsageError("--config FILE is required");
  if (!o.legacy_spec.empty()) Note("`submit FILE` is deprecated: use `submit --config FILE`");
  const std::string& spec_file = o.config.empty() ? o.legacy_spec : o.config;
  auto spec = ReadFile(spec_file);
  if (!spec.ok())
    return absl::InvalidArgumentError("job spec: " + std::string(spec.status().message()));
  absl::StatusOr<TrainerSession> session = OpenTrainer(o.flags);
  if (!session.ok()) return session.status();
  trainer::v1::SubmitJobRequest req;
  req.set_spec_yaml(*spec);
  for (const auto& s : o.sets) req.add_overrides(s);
  req.set_name(o.name);
  trainer::v1::SubmitJobResponse resp;
  RETURN_IF_ERROR(session->Call(&trainer::v1::Trainer::Stub::SubmitJob, req, &resp, 60));
  const trainer::v1::Job& j = resp.job();
  return PrintResultLine(ToJsonLine(j),
                         absl::StrCat(j.id(), " ", StateName(j.state()), " (", j.kind(),
                                      j.name().empty() ? "" : ", name " + j.name(), ", output ",
                                      j.output_dir(), ")\n"));
}

void AddFlags(CLI::App* sub, SubmitOpts* o) {
  sub->add_option("--config", o->config, "Job spec YAML (as for `monoroute train`)");
  sub->add_option("spec", o->legacy_spec, "Deprecated: the job spec YAML (use --config)");
  sub->add_option("--set", o->sets, "Override a spec key: a.b=v (repeatable)");
  sub->add_option("--name", o->name, "Display name of the job");
  AddTrainerFlags(sub, &o->flags);
}

MONOROUTE_REGISTER_COMMAND(submit,
                           Command<SubmitOpts>("submit",
                                               "Submit a training job to the trainer service",
                                               AddFlags, Submit));

}  // namespace
}  // namespace monoroute::cli
