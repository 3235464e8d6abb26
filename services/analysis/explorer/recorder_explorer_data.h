// ExplorerData over a recorder: runs and raw events from RecorderEvents (cached per run, split
// and watermark), the report document from a caller-supplied function (the analysis service's
// own Report in monoroute-analysis, the ComputeReport RPC in `monoroute explore`), and "try"
// through a caller-supplied router with the checkpoint checked against the allowed roots (the logit
// tables likewise).
#ifndef MONOROUTE_SERVICES_ANALYSIS_EXPLORER_RECORDER_EXPLORER_DATA_H_
#define MONOROUTE_SERVICES_ANALYSIS_EXPLORER_RECORDER_EXPLORER_DATA_H_

#include <functional>
#include <list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "services/analysis/explorer/explorer_site.h"
#include "services/analysis/explorer/recorder_events.h"

namespace monoroute::analysis::explorer {

struct RecorderExplorerDataOptions {
  // Where the events come from.
  RecorderEventsOptions recorder;
  // The report document of (run, split); may be empty (then every report is "not available").
  std::function<absl::StatusOr<std::string>(const std::string& run, const std::string& split)>
      report;
  // Routes text through a checkpoint (RouteText); may be empty (then try is UNIMPLEMENTED).
  std::function<absl::StatusOr<TryResult>(const TryOptions&)> route;
  // Computes a pathway's logit tables (ComputePathwayLogits); may be empty (then UNIMPLEMENTED).
  std::function<absl::StatusOr<PathwayLogits>(const PathwayLogitsOptions&)> logits;
  // Directories "try" and the logit tables may read checkpoints from (--allowed-root); none:
  // both are refused.
  std::vector<std::string> allowed_roots;
  // GPT-2 tokenizer directory for "try" ("" = the build's default).
  std::string tokenizer_dir;
  // Runs whose events are kept in memory (least recently used evicted).
  size_t cached_runs = 4;
  // A run not finished and written to within this window is listed as still writing.
  int64_t still_writing_window_ms = 60000;
};

// Thread-safe: the cache is mutex-protected; concurrent misses of the same run may read it twice.
class RecorderExplorerData final : public ExplorerData {
 public:
  static absl::StatusOr<std::unique_ptr<RecorderExplorerData>> Create(
      RecorderExplorerDataOptions options);

  absl::StatusOr<std::vector<RunListing>> ListRuns() override;
  absl::StatusOr<std::shared_ptr<const RunEvents>> Events(const std::string& run_id,
                                                          const std::string& split) override;
  absl::StatusOr<std::string> ReportJson(const std::string& run_id,
                                         const std::string& split) override;
  absl::StatusOr<TryResult> Try(const std::string& run_id, const std::string& text,
                                const std::string& checkpoint) override;
  absl::StatusOr<PathwayLogits> Logits(const PathwayLogitsOptions& options) override;
  absl::StatusOr<std::string> AblationJson(const std::string& checkpoint, uint32_t layer,
                                           uint32_t pathway) override;

 private:
  RecorderExplorerData(RecorderExplorerDataOptions options, std::unique_ptr<RecorderEvents> rec);

  RecorderExplorerDataOptions options_;
  std::unique_ptr<RecorderEvents> recorder_;
  absl::Mutex mu_;
  std::list<std::pair<std::string, std::shared_ptr<const RunEvents>>> cache_ ABSL_GUARDED_BY(mu_);
};

}  // namespace monoroute::analysis::explorer

#endif  // MONOROUTE_SERVICES_ANALYSIS_EXPLORER_RECORDER_EXPLORER_DATA_H_
