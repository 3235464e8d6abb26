// RecorderExplorerData: recorder reads through an LRU of RunEvents, report and try delegated.
#include "services/analysis/explorer/recorder_explorer_data.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/base/file_util.h"
#include "common/base/path_policy.h"

namespace monoroute::analysis::explorer {

RecorderExplorerData::RecorderExplorerData(RecorderExplorerDataOptions options,
                                           std::unique_ptr<RecorderEvents> rec)
    : options_(std::move(options)), recorder_(std::move(rec)) {}

absl::StatusOr<std::unique_ptr<RecorderExplorerData>> RecorderExplorerData::Create(
    RecorderExplorerDataOptions options) {
  absl::StatusOr<std::unique_ptr<RecorderEvents>> rec = RecorderEvents::Create(options.recorder);
  if (!rec.ok()) return rec.status();
  return std::unique_ptr<RecorderExplorerData>(
      new RecorderExplorerData(std::move(options), *std::move(rec)));
}

absl::StatusOr<std::vector<RunListing>> RecorderExplorerData::ListRuns() {
  absl::StatusOr<std::vector<RunListing>> runs = recorder_->ListRuns();
  if (!runs.ok()) return runs.status();
  const int64_t now = absl::ToUnixMillis(absl::Now());
  for (RunListing& r : *runs) {
    r.still_writing = !r.finished && r.last_write_unix_ms > 0 &&
                      now - r.last_write_unix_ms < options_.still_writing_window_ms;
  }
  return runs;
}

absl::StatusOr<std::shared_ptr<const RunEvents>> RecorderExplorerData::Events(
    const std::string& run_id, const std::string& split) {
  if (run_id.empty() || run_id.size() > 128) {
    return absl::InvalidArgumentError("run: must be 1 to 128 characters");
  }
  absl::StatusOr<recorder::v1::RunSummary> summary = recorder_->GetRun(run_id);
  if (!summary.ok()) return summary.status();
  absl::StatusOr<std::string> resolved = RecorderEvents::ResolveSplit(*summary, split);
  if (!resolved.ok()) return resolved.status();
  const std::string key = absl::StrCat(run_id, "|", *resolved, "|", summary->watermark());
  {
    absl::MutexLock lock(&mu_);
    for (auto it = cache_.begin(); it != cache_.end(); ++it) {
      if (it->first == key) {
        cache_.splice(cache_.begin(), cache_, it);
        return cache_.front().second;
      }
    }
  }
  absl::StatusOr<RunEvents> run = recorder_->ReadRun(*summary, *resolved);
  if (!run.ok()) return run.status();
  auto value = std::make_shared<const RunEvents>(*std::move(run));
  absl::MutexLock lock(&mu_);
  cache_.remove_if(
      [&](const auto& e) { return e.first.rfind(run_id + "|" + *resolved + "|", 0) == 0; });
  cache_.emplace_front(key, value);
  while (cache_.size() > std::max<size_t>(1, options_.cached_runs)) cache_.pop_back();
  return value;
}

absl::StatusOr<std::string> RecorderExplorerData::ReportJson(const std::string& run_id,
                                                             const std::string& split) {
  if (!options_.report) return absl::UnimplementedError("report: not available here");
  return options_.report(run_id, split);
}

absl::StatusOr<TryResult> RecorderExplorerData::Try(const std::string& run_id,
                                                    const std::string& text,
                                                    const std::string& checkpoint) {
  if (!options_.route) return absl::UnimplementedError("try: not available here");
  std::string ckpt = checkpoint;
  if (ckpt.empty()) {
    absl::StatusOr<recorder::v1::RunSummary> summary = recorder_->GetRun(run_id);
    if (!summary.ok()) return summary.status();
    auto it = summary->spec().labels().find("checkpoint");
    if (it == summary->spec().labels().end()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "checkpoint: run ", run_id,
          " has no \"checkpoint\" label; give one with ?checkpoint=DIR (under --allowed-root)"));
    }
    ckpt = it->second;
  }
  if (options_.allowed_roots.empty()) {
    return absl::PermissionDeniedError(
        "try: this analysis server reads no files: start it with --allowed-root DIR");
  }
  if (absl::Status s = CheckPathAllowed("try: checkpoint", ckpt, options_.allowed_roots); !s.ok()) {
    return s;
  }
  TryOptions o;
  o.checkpoint = ckpt;
  o.tokenizer_dir = options_.tokenizer_dir;
  o.text = text;
  return options_.route(o);
}

absl::StatusOr<PathwayLogits> RecorderExplorerData::Logits(const PathwayLogitsOptions& options) {
  if (!options_.logits) return absl::UnimplementedError("logits: not available here");
  if (options_.allowed_roots.empty()) {
    return absl::PermissionDeniedError(
        "logits: this analysis server reads no files: start it with --allowed-root DIR");
  }
  if (absl::Status s =
          CheckPathAllowed("logits: checkpoint", options.checkpoint, options_.allowed_roots);
      !s.ok()) {
    return s;
  }
  return options_.logits(options);
}

absl::StatusOr<std::string> RecorderExplorerData::AblationJson(const std::string& checkpoint,
                                                               uint32_t layer, uint32_t pathway) {
  if (options_.allowed_roots.empty()) {
    return absl::PermissionDeniedError(
        "ablation: this analysis server reads no files: start it with --allowed-root DIR");
  }
  const std::string path = AblationResultPath(checkpoint, layer, pathway);
  if (absl::Status s = CheckPathAllowed("ablation: result", path, options_.allowed_roots);
      !s.ok()) {
    return s;
  }
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return absl::NotFoundError(absl::StrCat("no ablation result stored at ", path));
  }
  return ReadFile(path);
}

}  // namespace monoroute::analysis::explorer
