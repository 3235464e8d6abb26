// JSONL metrics log.
#include "common/engine/metrics_log.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/base/file_util.h"
#include "common/base/status_macros.h"
#include "common/engine/progress_fields.h"

namespace monoroute::engine {

absl::StatusOr<std::unique_ptr<MetricsLog>> MetricsLog::Open(const std::string& path,
                                                             int64_t keep_up_to_step) {
  std::string kept;
  if (keep_up_to_step >= 0) {
    absl::StatusOr<std::string> old = ReadFile(path);
    if (old.ok()) {
      std::istringstream in(*old);
      std::string line;
      while (std::getline(in, line)) {
        nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.is_object()) continue;  // torn last line of a killed run
        if (j.value("step", int64_t{0}) > keep_up_to_step) continue;
        absl::StrAppend(&kept, line, "\n");
      }
    }
  }
  RETURN_IF_ERROR(WriteFileAtomic(path, kept));
  std::unique_ptr<MetricsLog> log(new MetricsLog());
  log->path_ = path;
  log->out_.open(path, std::ios::app);
  if (!log->out_) return absl::InternalError(absl::StrCat("cannot open metrics log ", path));
  return log;
}

void MetricsLog::WriteLine(const std::string& line) { out_ << line << "\n" << std::flush; }

void MetricsLog::WriteStep(const StepReport& r) {
  nlohmann::json j = {{"type", "step"}};
  j.update(ProgressToJson(r));
  WriteLine(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void MetricsLog::WriteEval(const EvalReport& r) {
  nlohmann::json j = {{"type", "eval"}};
  j.update(ProgressToJson(r));
  WriteLine(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace monoroute::engine
