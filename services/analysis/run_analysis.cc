// AnalyzeLayers (a small thread pool over layers), StepRanges, AveragePurity.
#include "services/analysis/run_analysis.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace monoroute::analysis {

absl::StatusOr<std::vector<LayerResult>> AnalyzeLayers(const std::vector<LayerInput>& layers,
                                                       uint32_t top_k,
                                                       const CategoryMap* categories,
                                                       const TokenDecoder& decode,
                                                       const AnalysisOptions& options,
                                                       std::vector<uint32_t>* empty_layers) {
  std::vector<absl::StatusOr<LayerResult>> results(layers.size(),
                                                   absl::UnknownError("not computed"));
  std::atomic<size_t> next{0};
  auto work = [&]() {
    for (size_t i = next++; i < layers.size(); i = next++) {
      if (layers[i].counts.total() == 0) continue;
      LayerContext ctx;
      ctx.layer = layers[i].layer;
      ctx.top_k = top_k;
      ctx.categories = categories;
      ctx.decode = decode;
      results[i] = AnalyzeLayer(layers[i].counts, ctx, options);
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
  for (size_t i = 0; i < layers.size(); ++i) {
    if (layers[i].counts.total() == 0) {
      if (empty_layers) empty_layers->push_back(layers[i].layer);
      continue;
    }
    if (!results[i].ok()) return results[i].status();
    out.push_back(*std::move(results[i]));
  }
  if (out.empty()) {
    return absl::FailedPreconditionError("no routed layer has routings in the selection");
  }
  return out;
}

std::vector<std::pair<uint64_t, uint64_t>> StepRanges(uint64_t min_step, uint64_t max_step,
                                                      uint64_t bucket, int n) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  if (n <= 0 || max_step < min_step) return out;
  if (bucket == 0) bucket = 1;
  const uint64_t first = min_step / bucket;  // bucket indices covering the range
  const uint64_t last = max_step / bucket;
  const uint64_t buckets = last - first + 1;
  const uint64_t parts = std::min<uint64_t>(static_cast<uint64_t>(n), buckets);
  for (uint64_t i = 0; i < parts; ++i) {
    const uint64_t b0 = first + buckets * i / parts;
    const uint64_t b1 = first + buckets * (i + 1) / parts;  // exclusive
    const uint64_t lo = std::max(min_step, b0 * bucket);
    const uint64_t hi = std::min(max_step, b1 * bucket - 1);
    out.emplace_back(lo, hi);
  }
  return out;
}

double AveragePurity(const std::vector<LayerResult>& layers) {
  double sum = 0.0;
  uint64_t n = 0;
  for (const auto& L : layers) {
    for (const auto& p : L.pathways) {
      if (p.load > 0 && std::isfinite(p.purity)) {
        sum += p.purity;
        ++n;
      }
    }
  }
  return n ? sum / n : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace monoroute::analysis
