// Trainer <-> job worker messages (JSON).
#include "services/trainer/worker_protocol.h"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/engine/progress_fields.h"
#include "services/trainer/json_object.h"

namespace monoroute::trainer {
namespace {

using nlohmann::json;

// Never throws on invalid UTF-8 (engine messages may quote file names byte for byte).
std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// A number, or NaN for null (JSON has no NaN).
double Num(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return std::numeric_limits<double>::quiet_NaN();
  return it->get<double>();
}

json NumOrNull(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

}  // namespace

std::string WorkerRequestToJson(const WorkerRequest& r) {
  return engine::ProgressToJson(r).dump(2, ' ', false, json::error_handler_t::replace);
}

namespace {

// The fields of a request file's object (WorkerRequestToJson's); throws json::exception on a
// missing or non-string job_id or spec_yaml. Other fields keep their defaults when absent.
WorkerRequest ReadRequest(const json& j) {
  (void)j.at("job_id").get<std::string>();
  (void)j.at("spec_yaml").get<std::string>();
  WorkerRequest r;
  engine::ProgressFromJson(j, &r);
  return r;
}

}  // namespace

absl::StatusOr<WorkerRequest> WorkerRequestFromJson(const std::string& text,
                                                    const std::string& source) {
  return ReadJsonObject<WorkerRequest>(text, source, ReadRequest);
}

std::string StartLine(int64_t start_step, int64_t total_steps) {
  return Dump({{"type", "start"}, {"start_step", start_step}, {"total_steps", total_steps}});
}

// A report line: {"type": type} and the fields of `value` (progress_fields.h).
template <typename T>
std::string TypedLine(const char* type, const T& value) {
  json j = {{"type", type}};
  j.update(engine::ProgressToJson(value));
  return Dump(j);
}

std::string ProgressLine(const engine::StepReport& p) { return TypedLine("progress", p); }

std::string EvalLine(const engine::EvalReport& e) { return TypedLine("eval", e); }

std::string PhaseLine(const engine::PhaseReport& p) { return TypedLine("phase", p); }

std::string CheckpointLine(int64_t step, const std::string& dir, double seconds) {
  return Dump({{"type", "checkpoint"}, {"step", step}, {"dir", dir}, {"seconds", seconds}});
}

std::string EventStatsLine(const JobEventStats& s) {
  json j = EventStatsToJson(s);
  j["type"] = "events";
  return Dump(j);
}

std::string WarningLine(const std::string& message) {
  return Dump({{"type", "warning"}, {"message", message.substr(0, 2048)}});
}

std::string ResultLine(const absl::StatusOr<RunOutcome>& result) {
  if (!result.ok()) {
    return Dump({{"type", "result"},
                 {"ok", false},
                 {"code", static_cast<int>(result.status().code())},
                 {"message", std::string(result.status().message()).substr(0, 8192)}});
  }
  return Dump({{"type", "result"},
               {"ok", true},
               {"stopped_early", result->stopped_early},
               {"final_step", result->final_step},
               {"final_val_loss", NumOrNull(result->final_val_loss)},
               {"checkpoint_dir", result->checkpoint_dir}});
}

absl::Status HandleReportLine(const std::string& line, JobContext* ctx, WorkerResult* result) {
  json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("type") || !j["type"].is_string()) {
    return absl::InvalidArgumentError("worker report: not a JSON object with a type");
  }
  try {
    const std::string type = j["type"].get<std::string>();
    if (type == "start") {
      ctx->OnStart(j.value("start_step", int64_t{0}), j.value("total_steps", int64_t{0}));
    } else if (type == "progress") {
      engine::StepReport p;
      engine::ProgressFromJson(j, &p);
      ctx->OnProgress(p);
    } else if (type == "eval") {
      engine::EvalReport e;
      engine::ProgressFromJson(j, &e);
      ctx->OnEval(e);
    } else if (type == "phase") {
      engine::PhaseReport p;
      engine::ProgressFromJson(j, &p);
      ctx->OnPhase(p);
    } else if (type == "checkpoint") {
      ctx->OnCheckpoint(j.value("step", int64_t{0}), j.value("dir", ""), Num(j, "seconds"));
    } else if (type == "events") {
      ctx->OnEventStats(EventStatsFromJson(j));
    } else if (type == "warning") {
      ctx->OnWarning(j.value("message", ""));
    } else if (type == "result") {
      result->received = true;
      if (j.value("ok", false)) {
        result->status = absl::OkStatus();
        result->outcome.stopped_early = j.value("stopped_early", false);
        result->outcome.final_step = j.value("final_step", int64_t{0});
        result->outcome.final_val_loss = Num(j, "final_val_loss");
        result->outcome.checkpoint_dir = j.value("checkpoint_dir", "");
      } else {
        int code = j.value("code", static_cast<int>(absl::StatusCode::kInternal));
        if (code <= 0 || code > 16) code = static_cast<int>(absl::StatusCode::kInternal);
        result->status =
            absl::Status(static_cast<absl::StatusCode>(code), j.value("message", "job failed"));
      }
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("worker report: unknown type '", type.substr(0, 32), "'"));
    }
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("worker report: ", e.what()));
  }
  return absl::OkStatus();
}

}  // namespace monoroute::trainer
