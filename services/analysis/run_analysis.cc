// AnalyzeLayers (a small thread pool over layers), CompareRuns, StepRanges.
#include "services/analysis/run_analysis.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"

namespace monoroute::analysis {

std::string ControlSplit(const std::string& split, const std::string& control) {
  return absl::StrCat(split, "/", control);
}

bool IsControlSplit(const std::string& split) { return absl::StrContains(split, "/"); }

absl::StatusOr<std::vector<LayerResult>> AnalyzeLayers(const std::vector<LayerInput>& layers,
                                                       const RunContext& rc,
                                                       const AnalysisOptions& options,
                                                       std::vector<uint32_t>* empty_layers,
                                                       std::vector<LayerReplicates>* replicates) {
  std::vector<absl::StatusOr<LayerResult>> results(layers.size(),
                                                   absl::UnknownError("not computed"));
  std::vector<LayerReplicates> reps(layers.size());
  std::atomic<size_t> next{0};
  auto work = [&]() {
    for (size_t i = next++; i < layers.size(); i = next++) {
      if (layers[i].table.events() == 0) continue;
      LayerContext ctx;
      ctx.layer = layers[i].layer;
      ctx.vocab_size = rc.vocab_size;
      ctx.categories = rc.categories;
      ctx.decode = rc.decode;
      ctx.summary_only = rc.summary_only;
      results[i] = AnalyzeLayer(layers[i].table, ctx, options, &reps[i]);
      if (!results[i].ok()) continue;
      for (const ControlInput& c : layers[i].controls) {
        if (c.table.events() == 0) continue;
        LayerContext cctx = ctx;
        cctx.summary_only = true;
        LayerReplicates crep;
        absl::StatusOr<LayerResult> cr = AnalyzeLayer(c.table, cctx, options, &crep);
        if (!cr.ok()) {
          results[i] = cr.status();
          break;
        }
        CompareWithControl(c.name, c.split, *cr, crep, reps[i], options, &*results[i]);
      }
    }
  };
  int threads =
      options.threads > 0 ? options.threads : static_cast<int>(std::thread::hardware_concurrency());
  threads = std::clamp<int>(threads, 1, std::max<int>(1, static_cast<int>(layers.size())));
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  std::vector<LayerResult> out;
  if (empty_layers) empty_layers->clear();
  if (replicates) replicates->clear();
  for (size_t i = 0; i < layers.size(); ++i) {
    if (layers[i].table.events() == 0) {
      if (empty_layers) empty_layers->push_back(layers[i].layer);
      continue;
    }
    if (!results[i].ok()) return results[i].status();
    out.push_back(*std::move(results[i]));
    if (replicates) replicates->push_back(std::move(reps[i]));
  }
  if (out.empty()) {
    return absl::FailedPreconditionError("no routed layer has routings in the selection");
  }
  return out;
}

std::vector<std::pair<uint32_t, ControlComparison>> CompareRuns(const RunAnalysis& run,
                                                                const RunAnalysis& baseline,
                                                                const AnalysisOptions& options) {
  std::vector<std::pair<uint32_t, ControlComparison>> out;
  static const LayerReplicates kNone;
  for (size_t i = 0; i < run.layers.size(); ++i) {
    for (size_t j = 0; j < baseline.layers.size(); ++j) {
      if (baseline.layers[j].layer != run.layers[i].layer) continue;
      LayerResult copy = run.layers[i];
      copy.controls.clear();
      CompareWithControl("baseline", baseline.info.run_id, baseline.layers[j],
                         j < baseline.replicates.size() ? baseline.replicates[j] : kNone,
                         i < run.replicates.size() ? run.replicates[i] : kNone, options, &copy);
      out.emplace_back(run.layers[i].layer, copy.controls.front());
    }
  }
  return out;
}

std::vector<std::pair<uint64_t, uint64_t>> StepRanges(uint64_t min_step, uint64_t max_step,
                                                      int n) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  if (n <= 0 || max_step < min_step) return out;
  const uint64_t span = max_step - min_step + 1;
  const uint64_t parts = std::min<uint64_t>(static_cast<uint64_t>(n), span);
  for (uint64_t i = 0; i < parts; ++i) {
    const uint64_t lo = min_step + span * i / parts;
    const uint64_t hi = min_step + span * (i + 1) / parts - 1;
    out.emplace_back(lo, hi);
  }
  return out;
}

}  // namespace monoroute::analysis
