// `monoroute bench analysis`: times a full analysis report (measures, routing-null replicates,
// category tests, JSON, PNG) over synthetic routing events, without and with the block bootstrap,
// next to a baseline (one pass aggregating the same events into counts, the least any analysis
// of the events pays). With --output json the figures are one JSON object on stdout.
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
#include "common/base/status_macros.h"
#include "services/analysis/report_json.h"
#include "services/analysis/report_png.h"
#include "services/analysis/routing_counts.h"
#include "services/analysis/run_analysis.h"
#include "services/analysis/synthetic_routing.h"

namespace monoroute::cli {
namespace {

analysis::AnalysisOptions AnalysisOptionsDefaults() { return {}; }

struct BenchOpts {
  uint64_t events = 10000000;
  uint32_t layers = 8;
  uint32_t pathways = 16;
  uint32_t top_k = 4;
  uint32_t vocab = 50257;
  int repeats = 5;
  int threads = 0;
  int null_replicates = AnalysisOptionsDefaults().null_replicates;
  int bootstrap = 200;
  bool baseline = true;
};

double Seconds(std::chrono::steady_clock::time_point a) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count();
}

absl::Status RunBench(const BenchOpts& o) {
  using namespace monoroute::analysis;
  if (o.layers == 0 || o.pathways == 0 || o.top_k == 0 || o.top_k > o.pathways || o.events == 0 ||
      o.repeats < 1) {
    return UsageError(
        "--layers, --pathways, --events, --repeats must be > 0 and --top-k in [1, pathways]");
  }
  const uint64_t per_layer = std::max<uint64_t>(1, o.events / o.layers);
  std::vector<LayerInput> layers;
  for (uint32_t l = 0; l < o.layers; ++l) {
    SyntheticRoutingOptions so;
    so.events = per_layer;
    so.num_pathways = o.pathways;
    so.top_k = o.top_k;
    so.vocab = o.vocab;
    so.token_preference = std::min(0.9, 0.2 + 0.1 * l);
    so.pathway_skew = 1.0;
    so.seed = 1000 + l;
    so.model_seed = 2000 + l;
    ASSIGN_OR_RETURN(RoutingTable t, SyntheticRoutingTable(so));
    layers.push_back({2 * l, std::move(t), {}});
  }
  AnalysisOptions opts;
  opts.threads = o.threads;
  opts.null_replicates = o.null_replicates;
  opts.bootstrap = 0;
  auto decode = [](uint32_t t) { return absl::StrFormat("t%u", t); };
  RunContext rc;
  rc.vocab_size = o.vocab;
  rc.decode = decode;
  auto analyse = [&](const AnalysisOptions& ao, double* measures_s,
                     double* render_s) -> absl::Status {
    const auto t0 = std::chrono::steady_clock::now();
    RunAnalysis run;
    run.info.run_id = "bench";
    run.info.num_pathways = o.pathways;
    run.info.top_k = o.top_k;
    run.info.events = o.events;
    for (uint32_t l = 0; l < o.layers; ++l) run.info.routed_layers.push_back(2 * l);
    ASSIGN_OR_RETURN(run.layers, AnalyzeLayers(layers, rc, ao, &run.empty_layers, nullptr));
    *measures_s = Seconds(t0);
    const auto t1 = std::chrono::steady_clock::now();
    const std::string json = ReportToJson(run, nullptr, ao, 0);
    ASSIGN_OR_RETURN(std::string png, RenderReportPng(run, nullptr, &ao));
    *render_s = Seconds(t1);
    return absl::OkStatus();
  };
  std::vector<double> total_s, measures_s, render_s, cpu_s;
  for (int rep = 0; rep <= o.repeats; ++rep) {  // rep 0 warms up
    const auto t0 = std::chrono::steady_clock::now();
    const std::clock_t c0 = std::clock();
    double m = 0, r = 0;
    RETURN_IF_ERROR(analyse(opts, &m, &r));
    if (rep == 0) continue;
    total_s.push_back(Seconds(t0));
    cpu_s.push_back(static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC);
    measures_s.push_back(m);
    render_s.push_back(r);
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  // The bootstrap's cost: the same analysis with B replicates (2 counting passes each).
  double boot_s = std::nan("");
  if (o.bootstrap > 0) {
    AnalysisOptions bo = opts;
    bo.bootstrap = o.bootstrap;
    const auto t0 = std::chrono::steady_clock::now();
    double m = 0, r = 0;
    RETURN_IF_ERROR(analyse(bo, &m, &r));
    boot_s = Seconds(t0);
  }
  // Baseline: one pass over the events aggregating them into counts, every layer.
  double baseline_s = std::nan("");
  if (o.baseline) {
    RoutingCounts counts;
    const auto t0 = std::chrono::steady_clock::now();
    uint64_t check = 0;
    for (const LayerInput& in : layers) {
      CountRoutings(in.table, nullptr, &counts);
      check += counts.total;
    }
    baseline_s = Seconds(t0);
    if (check == 42424242) std::cerr << "";  // keep the loop observable
  }
  const int threads =
      o.threads > 0 ? o.threads : static_cast<int>(std::thread::hardware_concurrency());
  const double best = *std::min_element(total_s.begin(), total_s.end());
  uint64_t distinct = 0;
  for (const auto& in : layers) distinct += in.table.columns();
  std::cout << absl::StrFormat(
      "analysis bench: %u layers x %u pathways, top-%u, %llu events (%llu per layer), vocab %u "
      "(%.0f distinct tokens per layer), %d threads\n",
      o.layers, o.pathways, o.top_k, static_cast<unsigned long long>(o.events),
      static_cast<unsigned long long>(per_layer), o.vocab, static_cast<double>(distinct) / o.layers,
      threads);
  std::cout << absl::StrFormat(
      "  report without the bootstrap (events -> measures + %d null replicates -> JSON + PNG), "
      "warm: median %.3f s, best %.3f s over %d runs (measures %.3f s, JSON+PNG %.3f s)\n",
      o.null_replicates, median(total_s), best, o.repeats, median(measures_s), median(render_s));
  std::cout << absl::StrFormat("  CPU time per report (all threads): median %.3f s\n",
                               median(cpu_s));
  if (o.bootstrap > 0) {
    std::cout << absl::StrFormat(
        "  with the block bootstrap (%d replicates): %.3f s, i.e. %.2f ms per replicate\n",
        o.bootstrap, boot_s, 1000.0 * (boot_s - median(total_s)) / o.bootstrap);
  }
  if (o.baseline) {
    std::cout << absl::StrFormat(
        "  baseline, one counting pass over the %llu events (no measures, 1 thread): %.3f s\n",
        static_cast<unsigned long long>(per_layer * o.layers), baseline_s);
  }
  if (JsonOutput()) {
    nlohmann::json j = {
        {"bench", "analysis"},
        {"events", o.events},
        {"layers", o.layers},
        {"pathways", o.pathways},
        {"threads", threads},
        {"null_replicates", o.null_replicates},
        {"seconds", median(total_s)},
        {"best_seconds", best},
        {"measures_seconds", median(measures_s)},
        {"render_seconds", median(render_s)},
        {"cpu_seconds", median(cpu_s)},
        {"bootstrap", o.bootstrap},
        {"bootstrap_seconds", std::isfinite(boot_s) ? nlohmann::json(boot_s) : nlohmann::json()},
        {"baseline_counting_pass_seconds",
         std::isfinite(baseline_s) ? nlohmann::json(baseline_s) : nlohmann::json()}};
    PrintJson(j);
  }
  return absl::OkStatus();
}

MONOROUTE_REGISTER_COMMAND(bench_analysis, [](CLI::App& app) {
  CLI::App* bench = GetOrAddGroup(app, "bench", "Benchmarks");
  CLI::App* sub =
      bench->add_subcommand("analysis", "Time a full analysis report on synthetic routing events");
  auto o = std::make_shared<BenchOpts>();
  sub->add_option("--events", o->events, "events in total (split evenly over layers)");
  sub->add_option("--layers", o->layers, "routed layers");
  sub->add_option("--pathways", o->pathways, "pathways per layer");
  sub->add_option("--top-k", o->top_k, "pathways per event");
  sub->add_option("--vocab", o->vocab, "vocabulary size (Zipf 1.1 over token ids)");
  sub->add_option("--repeats", o->repeats, "timed runs after one warm-up");
  sub->add_option("--threads", o->threads, "analysis threads (0: all cores)");
  sub->add_option("--null-replicates", o->null_replicates, "routing-null replicates");
  sub->add_option("--bootstrap", o->bootstrap,
                  "bootstrap replicates of the extra timed run (0: skip it)");
  sub->add_flag("!--no-baseline", o->baseline, "skip the counting-pass baseline");
  SetAction(sub, [o]() { return RunBench(*o); });
});

}  // namespace
}  // namespace monoroute::cli
