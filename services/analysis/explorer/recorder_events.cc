// RecorderEvents: the runs, a run's summary and its events of one split (RecorderReader) into
// RunEvents.
#include "services/analysis/explorer/recorder_events.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace monoroute::analysis::explorer {

RecorderEvents::RecorderEvents(const RecorderEventsOptions& options,
                               std::unique_ptr<RecorderReader> reader)
    : options_(options), reader_(std::move(reader)) {}

absl::StatusOr<std::unique_ptr<RecorderEvents>> RecorderEvents::Create(
    const RecorderEventsOptions& options) {
  absl::StatusOr<std::unique_ptr<RecorderReader>> reader = RecorderReader::Create(options);
  if (!reader.ok()) return reader.status();
  return std::unique_ptr<RecorderEvents>(new RecorderEvents(options, std::move(*reader)));
}

absl::StatusOr<std::vector<RunListing>> RecorderEvents::ListRuns() const {
  absl::StatusOr<std::vector<recorder::v1::RunSummary>> runs = reader_->ListRuns();
  if (!runs.ok()) return runs.status();
  std::vector<RunListing> out;
  for (const recorder::v1::RunSummary& r : *runs) {
    RunListing l;
    l.run_id = r.spec().run_id();
    l.labels.insert(r.spec().labels().begin(), r.spec().labels().end());
    l.events = r.events();
    l.splits.assign(r.splits().begin(), r.splits().end());
    l.finished = r.finished();
    l.last_write_unix_ms = r.last_write_unix_ms();
    out.push_back(std::move(l));
  }
  std::stable_sort(out.begin(), out.end(), [](const RunListing& a, const RunListing& b) {
    return a.last_write_unix_ms > b.last_write_unix_ms;
  });
  return out;
}

absl::StatusOr<recorder::v1::RunSummary> RecorderEvents::GetRun(const std::string& run_id) const {
  return reader_->GetRun(run_id);
}

absl::StatusOr<std::string> RecorderEvents::ResolveSplit(const recorder::v1::RunSummary& summary,
                                                         const std::string& split) {
  const auto& splits = summary.splits();
  auto has = [&](const std::string& s) {
    return std::find(splits.begin(), splits.end(), s) != splits.end();
  };
  if (!split.empty()) {
    if (has(split)) return split;
    return absl::NotFoundError(absl::StrCat("split: run ", summary.spec().run_id(),
                                            " has no split '", split,
                                            "' (splits: ", absl::StrJoin(splits, ", "), ")"));
  }
  if (has("valid")) return std::string("valid");
  for (const std::string& s : splits) {
    if (s.find('/') == std::string::npos) return s;
  }
  return absl::FailedPreconditionError(
      absl::StrCat("run ", summary.spec().run_id(), " has no events yet"));
}

absl::Status RecorderEvents::ReadLayer(const std::string& run_id, const std::string& split,
                                       LayerEventsBuilder* builder) const {
  recorder::v1::EventQuery req;
  req.set_run_id(run_id);
  req.set_has_layer(true);
  req.set_layer(builder->layer());
  req.set_split(split);
  req.set_limit(options_.max_events_per_layer + 1);
  std::vector<uint64_t> steps;  // the builder takes a step per event
  return reader_->ForEachBatch(req, builder->top_k(), [&](const events::RoutingEventView& b) {
    steps.assign(b.num_events(), b.header.step);
    return builder->Add(b, steps);
  });
}

absl::StatusOr<RunEvents> RecorderEvents::ReadRun(const recorder::v1::RunSummary& summary,
                                                  const std::string& split) const {
  const auto& spec = summary.spec();
  if (!spec.store_raw_events()) {
    return absl::FailedPreconditionError(
        absl::StrCat("run ", spec.run_id(), " is counts-only (no raw events to explore)"));
  }
  absl::StatusOr<std::string> resolved = ResolveSplit(summary, split);
  if (!resolved.ok()) return resolved.status();
  RunEvents run;
  run.run_id = spec.run_id();
  run.split = *resolved;
  run.num_pathways = spec.num_pathways();
  run.top_k = spec.top_k();
  run.vocab_size = spec.vocab_size();
  run.labels.insert(spec.labels().begin(), spec.labels().end());
  run.watermark = summary.watermark();
  run.splits.assign(summary.splits().begin(), summary.splits().end());
  for (uint32_t layer : spec.routed_layers()) {
    absl::StatusOr<LayerEventsBuilder> b =
        LayerEventsBuilder::Create(layer, spec.num_pathways(), spec.top_k());
    if (!b.ok()) return b.status();
    b->set_max_events(options_.max_events_per_layer);
    if (absl::Status s = ReadLayer(run.run_id, run.split, &*b); !s.ok()) return s;
    run.layers.push_back(b->Build());
  }
  std::sort(run.layers.begin(), run.layers.end(),
            [](const LayerEvents& a, const LayerEvents& b) { return a.layer < b.layer; });
  return run;
}

}  // namespace monoroute::analysis::explorer
