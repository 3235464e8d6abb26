// JobRecord <-> JSON from one field list (VisitJobFields), job state names.
#include "services/trainer/job.h"

#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/base/enum_names.h"
#include "common/engine/progress_fields.h"
#include "services/trainer/json_object.h"

namespace monoroute::trainer {

using nlohmann::json;

const char* JobStateName(JobState s) { return NameOf(kJobStateNames, s, "UNKNOWN"); }

absl::StatusOr<JobState> ParseJobState(const std::string& name) {
  return ParseEnum(kJobStateNames, name, "job state", EnumCase::kIgnore);
}

nlohmann::json EventStatsToJson(const JobEventStats& s) { return engine::ProgressToJson(s); }

JobEventStats EventStatsFromJson(const nlohmann::json& j) {
  JobEventStats s;
  engine::ProgressFromJson(j, &s);
  return s;
}

bool IsTerminal(JobState s) {
  return s == JobState::kSucceeded || s == JobState::kFailed || s == JobState::kCancelled ||
         s == JobState::kSucceededWithWarnings;
}

namespace {

// The JSON value of a field: plain values as they are (a NaN as null), the state by its name,
// the progress types by their field list (common/engine/progress_fields.h).
template <typename T>
json ToJson(const T& value) {
  return value;
}
json ToJson(JobState s) { return JobStateName(s); }
json ToJson(const JobEventStats& s) { return EventStatsToJson(s); }
json ToJson(const engine::StepReport& p) { return engine::ProgressToJson(p); }
json ToJson(const engine::PhaseReport& p) { return engine::ProgressToJson(p); }
json ToJson(const std::vector<engine::EvalReport>& evals) {
  json out = json::array();
  for (const auto& e : evals) out.push_back(engine::ProgressToJson(e));
  return out;
}

// Writes every field into a JSON object.
struct JobWriter {
  json* out;
  template <typename T>
  void operator()(const char* key, const T& field) {
    (*out)[key] = ToJson(field);
  }
  template <typename T>
  void Required(const char* key, const T& field) {
    (*this)(key, field);
  }
};

// Reads the fields from a JSON object. A missing required key or a value of the wrong type throws
// json::exception; an unknown state name is kept in `status`.
struct JobReader {
  const json* in;
  absl::Status status;

  template <typename T>
  void operator()(const char* key, T& field) {
    auto it = in->find(key);
    if (it != in->end()) Read(*it, &field);
  }
  template <typename T>
  void Required(const char* key, T& field) {
    Read(in->at(key), &field);
  }

  template <typename T>
  void Read(const json& j, T* field) {
    *field = j.get<T>();
  }
  void Read(const json& j, JobState* s) {
    absl::StatusOr<JobState> state = ParseJobState(j.get<std::string>());
    if (state.ok()) {
      *s = *state;
    } else if (status.ok()) {
      status = state.status();
    }
  }
  // Null (how a NaN loss of a diverged job is stored) reads as NaN.
  void Read(const json& j, double* d) {
    *d = j.is_number() ? j.get<double>() : std::numeric_limits<double>::quiet_NaN();
  }
  void Read(const json& j, JobEventStats* s) { *s = EventStatsFromJson(j); }
  void Read(const json& j, engine::StepReport* p) { engine::ProgressFromJson(j, p); }
  void Read(const json& j, engine::PhaseReport* p) { engine::ProgressFromJson(j, p); }
  void Read(const json& j, std::vector<engine::EvalReport>* evals) {
    if (!j.is_array()) return;
    for (const json& e : j) {
      engine::EvalReport r;
      engine::ProgressFromJson(e, &r);
      evals->push_back(std::move(r));
    }
  }
};

// A job file's object as a record; throws json::exception on a missing key or a wrong type.
absl::StatusOr<JobRecord> ReadJob(const json& in, const std::string& source) {
  JobRecord j;
  j.device = "cpu";  // a job file without a device ran on the CPU
  JobReader r{&in, absl::OkStatus()};
  VisitJobFields(j, r);
  if (!r.status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": ", r.status.message()));
  }
  return j;
}

}  // namespace

std::string JobToJson(const JobRecord& j) {
  json out = json::object();
  JobWriter w{&out};
  VisitJobFields(j, w);
  return out.dump(2, ' ', false, json::error_handler_t::replace);
}

absl::StatusOr<JobRecord> JobFromJson(const std::string& text, const std::string& source) {
  return ReadJsonObject<JobRecord>(text, source,
                                   [&](const json& in) { return ReadJob(in, source); });
}

}  // namespace monoroute::trainer
