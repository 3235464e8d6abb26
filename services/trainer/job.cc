// JobRecord <-> JSON, job state names.
#include "services/trainer/job.h"

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace monoroute::trainer {

using nlohmann::json;

const char* JobStateName(JobState s) {
  switch (s) {
    case JobState::kQueued:
      return "QUEUED";
    case JobState::kRunning:
      return "RUNNING";
    case JobState::kSucceeded:
      return "SUCCEEDED";
    case JobState::kFailed:
      return "FAILED";
    case JobState::kCancelled:
      return "CANCELLED";
  }
  return "UNKNOWN";
}

absl::StatusOr<JobState> ParseJobState(const std::string& name) {
  std::string up = absl::AsciiStrToUpper(name);
  for (JobState s : {JobState::kQueued, JobState::kRunning, JobState::kSucceeded, JobState::kFailed,
                     JobState::kCancelled}) {
    if (up == JobStateName(s)) return s;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "job state '", name, "': expected one of QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED"));
}

bool IsTerminal(JobState s) {
  return s == JobState::kSucceeded || s == JobState::kFailed || s == JobState::kCancelled;
}

std::string JobToJson(const JobRecord& j) {
  json balance = json::array();
  for (const auto& b : j.progress.balance) {
    balance.push_back({{"layer", b.layer},
                       {"load", b.load},
                       {"max_violation", b.max_violation},
                       {"load_entropy", b.load_entropy},
                       {"balance_loss", b.balance_loss}});
  }
  json evals = json::array();
  for (const auto& e : j.evals) {
    evals.push_back({{"step", e.step},
                     {"val_loss", e.val_loss},
                     {"perplexity", e.perplexity},
                     {"split", e.split}});
  }
  const JobProgress& p = j.progress;
  const JobEventStats& ev = j.events;
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
      {"progress",
       {{"step", p.step},
        {"total_steps", p.total_steps},
        {"lm_loss", p.lm_loss},
        {"balance_loss", p.balance_loss},
        {"total_loss", p.total_loss},
        {"lr", p.lr},
        {"tokens_per_s", p.tokens_per_s},
        {"eta_s", p.eta_s},
        {"tokens_seen", p.tokens_seen},
        {"balance", balance}}},
      {"evals", evals},
      {"events",
       {{"events_enqueued", ev.events_enqueued},
        {"events_acked", ev.events_acked},
        {"events_dropped", ev.events_dropped},
        {"batches_acked", ev.batches_acked},
        {"duplicate_acks", ev.duplicate_acks}}},
      {"recorder_run_id", j.recorder_run_id},
      {"resumes", j.resumes},
      {"final_val_loss", j.final_val_loss},
      {"checkpoint_dir", j.checkpoint_dir},
      {"cancel_requested", j.cancel_requested},
  };
  return out.dump(2);
}

absl::StatusOr<JobRecord> JobFromJson(const std::string& text, const std::string& source) {
  json in = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (in.is_discarded() || !in.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": not a JSON object"));
  }
  try {
    JobRecord j;
    j.id = in.at("id").get<std::string>();
    j.seq = in.at("seq").get<uint64_t>();
    j.name = in.value("name", "");
    auto state = ParseJobState(in.at("state").get<std::string>());
    if (!state.ok())
      return absl::InvalidArgumentError(absl::StrCat(source, ": ", state.status().message()));
    j.state = *state;
    j.failure_reason = in.value("failure_reason", "");
    j.spec_yaml = in.at("spec_yaml").get<std::string>();
    j.kind = in.value("kind", "");
    j.output_dir = in.at("output_dir").get<std::string>();
    j.device = in.value("device", "cpu");
    j.created_unix_ms = in.value("created_unix_ms", int64_t{0});
    j.started_unix_ms = in.value("started_unix_ms", int64_t{0});
    j.finished_unix_ms = in.value("finished_unix_ms", int64_t{0});
    if (in.contains("progress")) {
      const json& p = in["progress"];
      j.progress.step = p.value("step", int64_t{0});
      j.progress.total_steps = p.value("total_steps", int64_t{0});
      j.progress.lm_loss = p.value("lm_loss", 0.0);
      j.progress.balance_loss = p.value("balance_loss", 0.0);
      j.progress.total_loss = p.value("total_loss", 0.0);
      j.progress.lr = p.value("lr", 0.0);
      j.progress.tokens_per_s = p.value("tokens_per_s", 0.0);
      j.progress.eta_s = p.value("eta_s", 0.0);
      j.progress.tokens_seen = p.value("tokens_seen", int64_t{0});
      if (p.contains("balance")) {
        for (const json& b : p["balance"]) {
          LayerBalanceInfo lb;
          lb.layer = b.value("layer", 0);
          lb.load = b.value("load", std::vector<double>{});
          lb.max_violation = b.value("max_violation", 0.0);
          lb.load_entropy = b.value("load_entropy", 0.0);
          lb.balance_loss = b.value("balance_loss", 0.0);
          j.progress.balance.push_back(std::move(lb));
        }
      }
    }
    if (in.contains("evals")) {
      for (const json& e : in["evals"]) {
        j.evals.push_back({e.value("step", int64_t{0}), e.value("val_loss", 0.0),
                           e.value("perplexity", 0.0), e.value("split", "")});
      }
    }
    if (in.contains("events")) {
      const json& e = in["events"];
      j.events.events_enqueued = e.value("events_enqueued", uint64_t{0});
      j.events.events_acked = e.value("events_acked", uint64_t{0});
      j.events.events_dropped = e.value("events_dropped", uint64_t{0});
      j.events.batches_acked = e.value("batches_acked", uint64_t{0});
      j.events.duplicate_acks = e.value("duplicate_acks", uint64_t{0});
    }
    j.recorder_run_id = in.value("recorder_run_id", "");
    j.resumes = in.value("resumes", 0);
    j.final_val_loss = in.value("final_val_loss", 0.0);
    j.checkpoint_dir = in.value("checkpoint_dir", "");
    j.cancel_requested = in.value("cancel_requested", false);
    return j;
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": ", e.what()));
  }
}

}  // namespace monoroute::trainer
