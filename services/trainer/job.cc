// JobRecord <-> JSON, job state names.
#include "services/trainer/job.h"

#include <limits>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/base/enum_names.h"
#include "common/engine/progress_fields.h"
#include "services/trainer/json_object.h"

namespace monoroute::trainer {

using nlohmann::json;

namespace {

// A floating-point field; null (how a NaN loss of a diverged job is stored) reads as NaN.
double Dbl(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return 0.0;
  if (!it->is_number()) return std::numeric_limits<double>::quiet_NaN();
  return it->get<double>();
}

}  // namespace

const char* JobStateName(JobState s) { return NameOf(kJobStateNames, s, "UNKNOWN"); }

absl::StatusOr<JobState> ParseJobState(const std::string& name) {
  return ParseEnum(kJobStateNames, name, "job state", EnumCase::kIgnore);
}

nlohmann::json EventStatsToJson(const JobEventStats& s) {
  return {{"events_enqueued", s.events_enqueued},
          {"events_acked", s.events_acked},
          {"events_dropped", s.events_dropped},
          {"batches_acked", s.batches_acked},
          {"duplicate_acks", s.duplicate_acks}};
}

JobEventStats EventStatsFromJson(const nlohmann::json& j) {
  JobEventStats s;
  s.events_enqueued = j.value("events_enqueued", uint64_t{0});
  s.events_acked = j.value("events_acked", uint64_t{0});
  s.events_dropped = j.value("events_dropped", uint64_t{0});
  s.batches_acked = j.value("batches_acked", uint64_t{0});
  s.duplicate_acks = j.value("duplicate_acks", uint64_t{0});
  return s;
}

bool IsTerminal(JobState s) {
  return s == JobState::kSucceeded || s == JobState::kFailed || s == JobState::kCancelled ||
         s == JobState::kSucceededWithWarnings;
}

std::string JobToJson(const JobRecord& j) {
  json evals = json::array();
  for (const auto& e : j.evals) evals.push_back(engine::ProgressToJson(e));
  json out = {
      {"id", j.id},
      {"seq", j.seq},
      {"name", j.name},
      {"state", JobStateName(j.state)},
      {"failure_reason", j.failure_reason},
      {"spec_yaml", j.spec_yaml},
      {"kind", j.kind},
      {"output_dir", j.output_dir},
      {"device", j.device},
      {"created_unix_ms", j.created_unix_ms},
      {"started_unix_ms", j.started_unix_ms},
      {"finished_unix_ms", j.finished_unix_ms},
      {"progress", engine::ProgressToJson(j.progress)},
      {"evals", evals},
      {"phase", engine::ProgressToJson(j.phase)},
      {"resumed_from_step", j.resumed_from_step},
      {"events", EventStatsToJson(j.events)},
      {"recorder_run_id", j.recorder_run_id},
      {"resumes", j.resumes},
      {"trainer_crashes", j.trainer_crashes},
      {"stopped_by_shutdown", j.stopped_by_shutdown},
      {"warnings", j.warnings},
      {"worker_pid", j.worker_pid},
      {"worker_retries", j.worker_retries},
      {"attempt_failures", j.attempt_failures},
      {"final_val_loss", j.final_val_loss},
      {"checkpoint_dir", j.checkpoint_dir},
      {"cancel_requested", j.cancel_requested},
  };
  return out.dump(2, ' ', false, json::error_handler_t::replace);
}

namespace {

// The fields of a job file's object (JobToJson's); throws json::exception on a wrong type.
absl::StatusOr<JobRecord> ReadJob(const json& in, const std::string& source) {
  JobRecord j;
  j.id = in.at("id").get<std::string>();
  j.seq = in.at("seq").get<uint64_t>();
  j.name = in.value("name", "");
  auto state = ParseJobState(in.at("state").get<std::string>());
  if (!state.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": ", state.status().message()));
  }
  j.state = *state;
  j.failure_reason = in.value("failure_reason", "");
  j.spec_yaml = in.at("spec_yaml").get<std::string>();
  j.kind = in.value("kind", "");
  j.output_dir = in.at("output_dir").get<std::string>();
  j.device = in.value("device", "cpu");
  j.created_unix_ms = in.value("created_unix_ms", int64_t{0});
  j.started_unix_ms = in.value("started_unix_ms", int64_t{0});
  j.finished_unix_ms = in.value("finished_unix_ms", int64_t{0});
  if (in.contains("progress")) engine::ProgressFromJson(in["progress"], &j.progress);
  if (in.contains("evals") && in["evals"].is_array()) {
    for (const json& e : in["evals"]) {
      engine::EvalReport r;
      engine::ProgressFromJson(e, &r);
      j.evals.push_back(std::move(r));
    }
  }
  if (in.contains("phase")) engine::ProgressFromJson(in["phase"], &j.phase);
  j.resumed_from_step = in.value("resumed_from_step", int64_t{0});
  if (in.contains("events")) j.events = EventStatsFromJson(in["events"]);
  j.recorder_run_id = in.value("recorder_run_id", "");
  j.resumes = in.value("resumes", 0);
  j.trainer_crashes = in.value("trainer_crashes", 0);
  j.stopped_by_shutdown = in.value("stopped_by_shutdown", false);
  j.warnings = in.value("warnings", std::vector<std::string>{});
  j.worker_pid = in.value("worker_pid", 0);
  j.worker_retries = in.value("worker_retries", 0);
  j.attempt_failures = in.value("attempt_failures", std::vector<std::string>{});
  j.final_val_loss = Dbl(in, "final_val_loss");
  j.checkpoint_dir = in.value("checkpoint_dir", "");
  j.cancel_requested = in.value("cancel_requested", false);
  return j;
}

}  // namespace

absl::StatusOr<JobRecord> JobFromJson(const std::string& text, const std::string& source) {
  return ReadJsonObject<JobRecord>(text, source,
                                   [&](const json& in) { return ReadJob(in, source); });
}

}  // namespace monoroute::trainer
