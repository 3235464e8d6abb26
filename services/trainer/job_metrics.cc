// metrics.jsonl -> JobMetricsPage.
#include "services/trainer/job_metrics.h"

#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/engine/progress_fields.h"

namespace monoroute::trainer {

absl::StatusOr<JobMetricsPage> ReadJobMetrics(const std::string& path, int64_t since_step,
                                              int max_points) {
  if (max_points < 0 || max_points > kMaxMetricsPoints) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_points: ", max_points, " is not in [0, ", kMaxMetricsPoints, "]"));
  }
  const size_t limit = static_cast<size_t>(max_points == 0 ? kDefaultMetricsPoints : max_points);
  JobMetricsPage page;
  std::ifstream in(path);
  if (!in) return page;  // nothing logged yet
  std::vector<engine::EvalReport> evals;
  std::string line;
  while (std::getline(in, line)) {
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) continue;  // a torn last line of a killed worker
    const int64_t step = j.value("step", int64_t{-1});
    if (step <= since_step) continue;
    const std::string type = j.value("type", "");
    if (type == "step") {
      if (page.steps.size() == limit) {
        page.truncated = true;
        break;
      }
      engine::StepReport r;
      engine::ProgressFromJson(j, &r);
      page.steps.push_back(std::move(r));
    } else if (type == "eval") {
      engine::EvalReport e;
      engine::ProgressFromJson(j, &e);
      evals.push_back(std::move(e));
    }
  }
  // A truncated page's evaluations stop at its last step (the next page has the rest).
  const int64_t last =
      page.truncated ? page.steps.back().step : std::numeric_limits<int64_t>::max();
  for (engine::EvalReport& e : evals) {
    if (e.step <= last) page.evals.push_back(std::move(e));
  }
  return page;
}

}  // namespace monoroute::trainer
