// `monoroute bench analysis`: times a full analysis report (measures, closed-form null, JSON,
// PNG) over synthetic count matrices built from N events, next to a raw-event baseline (one pass
// aggregating the same number of events into counts, which an event-level design pays before
// computing any measure).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "clients/cli/command.h"
#include "services/analysis/report_json.h"
#include "services/analysis/report_png.h"
#include "services/analysis/run_analysis.h"
#include "services/analysis/synthetic_counts.h"

namespace monoroute::cli {
namespace {

struct BenchOpts {
  uint64_t events = 10000000;
  uint32_t layers = 8;
  uint32_t pathways = 16;
  uint32_t top_k = 4;
  uint32_t vocab = 50257;
  int repeats = 5;
  int threads = 0;
  bool json = false;
  bool baseline = true;
};

double Seconds(std::chrono::steady_clock::time_point a) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count();
}

// Columnar cells as the recorder streams them.
struct Columns {
  std::vector<uint32_t> pathway, token;
  std::vector<uint64_t> count;
};

absl::Status RunBench(const BenchOpts& o) {
  using namespace monoroute::analysis;
  if (o.layers == 0 || o.pathways == 0 || o.top_k == 0 || o.top_k > o.pathways || o.events == 0) {
    return UsageError("--layers, --pathways, --events must be > 0 and --top-k in [1, pathways]");
  }
  const uint64_t per_layer = std::max<uint64_t>(1, o.events / o.layers);
  std::vector<Columns> cols(o.layers);
  size_t cells = 0;
  for (uint32_t l = 0; l < o.layers; ++l) {
    SyntheticOptions so;
    so.events = per_layer;
    so.num_pathways = o.pathways;
    so.top_k = o.top_k;
    so.vocab = o.vocab;
    so.preference = 0.5 + 0.25 * l;
    so.seed = 1000 + l;
    for (const auto& c : SyntheticCounts(so)) {
      cols[l].pathway.push_back(c.pathway);
      cols[l].token.push_back(c.token);
      cols[l].count.push_back(c.count);
    }
    cells += cols[l].count.size();
  }
  AnalysisOptions opts;
  opts.threads = o.threads;
  auto decode = [](uint32_t t) { return absl::StrFormat("t%u", t); };
  std::vector<double> total_s, measures_s, render_s, cpu_s;
  uint64_t distinct = 0;
  for (int rep = 0; rep <= o.repeats; ++rep) {  // rep 0 warms up
    const auto t0 = std::chrono::steady_clock::now();
    const std::clock_t c0 = std::clock();
    std::vector<LayerInput> layers;
    for (uint32_t l = 0; l < o.layers; ++l) {
      auto m = CountMatrix::FromColumns(o.pathways, cols[l].pathway, cols[l].token, cols[l].count);
      if (!m.ok()) return m.status();
      layers.push_back({2 * l, *std::move(m)});
    }
    RunAnalysis run;
    run.info.run_id = "bench";
    run.info.num_pathways = o.pathways;
    run.info.top_k = o.top_k;
    run.info.events = o.events;
    for (uint32_t l = 0; l < o.layers; ++l) run.info.routed_layers.push_back(2 * l);
    auto r = AnalyzeLayers(layers, o.top_k, nullptr, decode, opts, &run.empty_layers);
    if (!r.ok()) return r.status();
    run.layers = *std::move(r);
    const double t_measures = Seconds(t0);
    const auto t1 = std::chrono::steady_clock::now();
    const std::string json = ReportToJson(run, nullptr, opts, 0);
    auto png = RenderReportPng(run, nullptr);
    if (!png.ok()) return png.status();
    const double t_render = Seconds(t1);
    distinct = 0;
    for (const auto& L : run.layers) distinct += L.distinct_tokens;
    if (rep == 0) continue;
    total_s.push_back(Seconds(t0));
    cpu_s.push_back(static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC);
    measures_s.push_back(t_measures);
    render_s.push_back(t_render);
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  // Baseline: one pass over the raw events (token + top-k pathways), aggregating counts.
  double baseline_s = std::nan("");
  if (o.baseline) {
    std::mt19937_64 rng(7);
    std::vector<uint32_t> tokens(per_layer);
    std::vector<uint8_t> paths(per_layer * o.top_k);
    double norm = 0;
    for (uint32_t t = 0; t < o.vocab; ++t) norm += std::pow(t + 1.0, -1.1);
    std::vector<double> cdf(o.vocab);
    double acc = 0;
    for (uint32_t t = 0; t < o.vocab; ++t) cdf[t] = (acc += std::pow(t + 1.0, -1.1) / norm);
    std::uniform_real_distribution<double> u(0, 1);
    std::vector<uint8_t> perm(o.pathways);
    for (uint64_t e = 0; e < per_layer; ++e) {
      tokens[e] = static_cast<uint32_t>(std::min<size_t>(
          o.vocab - 1, std::lower_bound(cdf.begin(), cdf.end(), u(rng)) - cdf.begin()));
      for (uint32_t p = 0; p < o.pathways; ++p) perm[p] = static_cast<uint8_t>(p);
      for (uint32_t k = 0; k < o.top_k; ++k) {
        std::swap(perm[k], perm[k + rng() % (o.pathways - k)]);
        paths[e * o.top_k + k] = perm[k];
      }
    }
    const auto t0 = std::chrono::steady_clock::now();
    uint64_t check = 0;
    for (uint32_t l = 0; l < o.layers; ++l) {  // the same per-layer events for every layer
      std::vector<uint64_t> dense(static_cast<size_t>(o.pathways) * o.vocab, 0);
      for (uint64_t e = 0; e < per_layer; ++e) {
        for (uint32_t k = 0; k < o.top_k; ++k) {
          ++dense[static_cast<size_t>(paths[e * o.top_k + k]) * o.vocab + tokens[e]];
        }
      }
      check += dense[0];
    }
    baseline_s = Seconds(t0);
    if (check == 42424242) std::cerr << "";  // keep the loop observable
  }
  const int threads =
      o.threads > 0 ? o.threads : static_cast<int>(std::thread::hardware_concurrency());
  const double best = *std::min_element(total_s.begin(), total_s.end());
  std::cout << absl::StrFormat(
      "analysis bench: %u layers x %u pathways, top-%u, %llu events (%llu per layer), vocab %u, "
      "%d threads\n",
      o.layers, o.pathways, o.top_k, static_cast<unsigned long long>(o.events),
      static_cast<unsigned long long>(per_layer), o.vocab, threads);
  std::cout << absl::StrFormat(
      "  count matrices: %zu non-zero cells, %.0f distinct tokens per layer\n", cells,
      static_cast<double>(distinct) / o.layers);
  std::cout << absl::StrFormat(
      "  full report, warm (counts -> measures + closed-form null -> JSON + PNG): median %.3f s, "
      "best %.3f s over %d runs (measures %.3f s, JSON+PNG %.3f s)\n",
      median(total_s), best, o.repeats, median(measures_s), median(render_s));
  std::cout << absl::StrFormat("  CPU time per report (all threads): median %.3f s\n",
                               median(cpu_s));
  if (o.baseline) {
    std::cout << absl::StrFormat(
        "  baseline, raw-event pass only (aggregate the %llu events into counts, no measures): "
        "%.3f s\n",
        static_cast<unsigned long long>(per_layer * o.layers), baseline_s);
  }
  if (o.json) {
    nlohmann::json j = {
        {"bench", "analysis"},
        {"events", o.events},
        {"layers", o.layers},
        {"pathways", o.pathways},
        {"threads", threads},
        {"seconds", median(total_s)},
        {"best_seconds", best},
        {"measures_seconds", median(measures_s)},
        {"render_seconds", median(render_s)},
        {"cpu_seconds", median(cpu_s)},
        {"baseline_raw_event_pass_seconds",
         std::isfinite(baseline_s) ? nlohmann::json(baseline_s) : nlohmann::json()}};
    std::cout << j.dump() << "\n";
  }
  return absl::OkStatus();
}

MONOROUTE_REGISTER_COMMAND(bench_analysis, [](CLI::App& app) {
  CLI::App* bench = GetOrAddGroup(app, "bench", "Benchmarks");
  CLI::App* sub =
      bench->add_subcommand("analysis", "Time a full analysis report on synthetic counts");
  auto o = std::make_shared<BenchOpts>();
  sub->add_option("--events", o->events, "events in total (split evenly over layers)");
  sub->add_option("--layers", o->layers, "routed layers");
  sub->add_option("--pathways", o->pathways, "pathways per layer");
  sub->add_option("--top-k", o->top_k, "pathways per event");
  sub->add_option("--vocab", o->vocab, "vocabulary size (Zipf 1.1 over token ids)");
  sub->add_option("--repeats", o->repeats, "timed runs after one warm-up");
  sub->add_option("--threads", o->threads, "analysis threads (0: all cores)");
  sub->add_flag("--json", o->json, "print a last-line JSON object with seconds and events");
  sub->add_flag("!--no-baseline", o->baseline, "skip the raw-event baseline");
  SetAction(sub, [o]() { return RunBench(*o); });
});

}  // namespace
}  // namespace monoroute::cli
