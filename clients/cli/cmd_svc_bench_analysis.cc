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
#include "clients/cli/bench_timing.h"
#include "clients/cli/command.h"
#include "clients/cli/synthetic_bench.h"
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
  SyntheticBenchShape shape = {10000000, 8, 16, 4, 5};  // --events, --layers, ... --repeats
  uint32_t vocab = 50257;
  int threads = 0;
  int null_replicates = AnalysisOptionsDefaults().null_replicates;
  int bootstrap = 200;
  bool baseline = true;
  bool phases = true;
};

// Median measures time of the analysis phases, each timed as the difference between two
// configurations: counts (token measures and their nulls only), sources (the sources and
// conditional nulls added), synthetic controls (the two hash controls added).
struct PhaseTimes {
  double counts_s = std::nan("");
  double sources_s = std::nan("");
  double controls_s = std::nan("");
};

// Every figure the bench reports.
struct BenchFigures {
  std::vector<double> total_s, measures_s, render_s, cpu_s;
  PhaseTimes phases;
  double boot_s = std::nan("");
  double baseline_s = std::nan("");
  double distinct_per_layer = 0;
};

nlohmann::json FiniteOrNull(double x) {
  return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json();
}

// The synthetic layers: Zipf tokens, token preference rising with the layer, skewed loads.
absl::StatusOr<std::vector<analysis::LayerInput>> MakeLayers(const BenchOpts& o) {
  using namespace monoroute::analysis;
  std::vector<LayerInput> layers;
  for (uint32_t l = 0; l < o.shape.layers; ++l) {
    SyntheticRoutingOptions so = o.shape.LayerOptions();
    so.vocab = o.vocab;
    so.token_preference = std::min(0.9, 0.2 + 0.1 * l);
    so.pathway_skew = 1.0;
    so.seed = 1000 + l;
    so.model_seed = 2000 + l;
    ASSIGN_OR_RETURN(RoutingTable t, SyntheticRoutingTable(so));
    layers.push_back({2 * l, std::move(t), {}});
  }
  return layers;
}

// Runs the report (events -> measures -> JSON + PNG) the way the service does.
class ReportRunner {
 public:
  ReportRunner(const BenchOpts& o, const std::vector<analysis::LayerInput>& layers)
      : o_(o), layers_(layers) {
    rc_.vocab_size = o.vocab;
    rc_.decode = [](uint32_t t) { return absl::StrFormat("t%u", t); };
  }

  // One report with options `ao`: its measures and JSON + PNG times.
  absl::Status Run(const analysis::AnalysisOptions& ao, double* measures_s, double* render_s) {
    using namespace monoroute::analysis;
    const auto t0 = std::chrono::steady_clock::now();
    RunAnalysis run;
    run.info.run_id = "bench";
    run.info.num_pathways = o_.shape.pathways;
    run.info.top_k = o_.shape.top_k;
    run.info.events = o_.shape.events;
    for (uint32_t l = 0; l < o_.shape.layers; ++l) run.info.routed_layers.push_back(2 * l);
    ASSIGN_OR_RETURN(run.layers, AnalyzeLayers(layers_, rc_, ao, &run.empty_layers, nullptr));
    *measures_s = SecondsSince(t0);
    const auto t1 = std::chrono::steady_clock::now();
    const std::string json = ReportToJson(run, nullptr, ao, 0);
    ASSIGN_OR_RETURN(std::string png, RenderReportPng(run, nullptr, &ao));
    *render_s = SecondsSince(t1);
    return absl::OkStatus();
  }

  // Median measures time of `runs` reports with options `ao`.
  absl::StatusOr<double> MedianMeasures(const analysis::AnalysisOptions& ao, int runs) {
    std::vector<double> m;
    for (int i = 0; i < runs; ++i) {
      double mi = 0, ri = 0;
      RETURN_IF_ERROR(Run(ao, &mi, &ri));
      m.push_back(mi);
    }
    return Median(m);
  }

 private:
  const BenchOpts& o_;
  const std::vector<analysis::LayerInput>& layers_;
  analysis::RunContext rc_;
};

// The timed reports (after one warm-up), the phases and the bootstrap run.
absl::Status TimeReports(const BenchOpts& o, const analysis::AnalysisOptions& opts,
                         ReportRunner* runner, BenchFigures* f) {
  for (int rep = 0; rep <= o.shape.repeats; ++rep) {  // rep 0 warms up
    const auto t0 = std::chrono::steady_clock::now();
    const std::clock_t c0 = std::clock();
    double m = 0, r = 0;
    RETURN_IF_ERROR(runner->Run(opts, &m, &r));
    if (rep == 0) continue;
    f->total_s.push_back(SecondsSince(t0));
    f->cpu_s.push_back(static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC);
    f->measures_s.push_back(m);
    f->render_s.push_back(r);
  }
  if (o.phases) {
    analysis::AnalysisOptions counts_only = opts, with_sources = opts;
    counts_only.sources = false;
    counts_only.synthetic_controls = false;
    with_sources.synthetic_controls = false;
    const int runs = std::min(o.shape.repeats, 3);
    ASSIGN_OR_RETURN(const double a, runner->MedianMeasures(counts_only, runs));
    ASSIGN_OR_RETURN(const double b, runner->MedianMeasures(with_sources, runs));
    f->phases = {a, b - a, Median(f->measures_s) - b};
  }
  // The bootstrap's cost: the same analysis with B replicates (2 counting passes each).
  if (o.bootstrap > 0) {
    analysis::AnalysisOptions bo = opts;
    bo.bootstrap = o.bootstrap;
    const auto t0 = std::chrono::steady_clock::now();
    double m = 0, r = 0;
    RETURN_IF_ERROR(runner->Run(bo, &m, &r));
    f->boot_s = SecondsSince(t0);
  }
  return absl::OkStatus();
}

// Baseline: one pass over the events aggregating them into counts, every layer.
double BaselineSeconds(const std::vector<analysis::LayerInput>& layers) {
  analysis::RoutingCounts counts;
  const auto t0 = std::chrono::steady_clock::now();
  uint64_t check = 0;
  for (const analysis::LayerInput& in : layers) {
    analysis::CountRoutings(in.table, nullptr, &counts);
    check += counts.total;
  }
  const double s = SecondsSince(t0);
  if (check == 42424242) std::cerr << "";  // keep the loop observable
  return s;
}

void PrintText(const BenchOpts& o, int threads, const BenchFigures& f) {
  const uint64_t per_layer = o.shape.events_per_layer();
  std::cout << absl::StrFormat(
      "analysis bench: %u layers x %u pathways, top-%u, %llu events (%llu per layer), vocab %u "
      "(%.0f distinct tokens per layer), %d threads\n",
      o.shape.layers, o.shape.pathways, o.shape.top_k,
      static_cast<unsigned long long>(o.shape.events), static_cast<unsigned long long>(per_layer),
      o.vocab, f.distinct_per_layer, threads);
  std::cout << absl::StrFormat(
      "  report without the bootstrap (events -> measures + %d null replicates -> JSON + PNG), "
      "warm: median %.3f s, best %.3f s over %d runs (measures %.3f s, JSON+PNG %.3f s)\n",
      o.null_replicates, Median(f.total_s), *std::min_element(f.total_s.begin(), f.total_s.end()),
      o.shape.repeats, Median(f.measures_s), Median(f.render_s));
  std::cout << absl::StrFormat("  CPU time per report (all threads): median %.3f s\n",
                               Median(f.cpu_s));
  if (o.phases) {
    std::cout << absl::StrFormat(
        "  phases of the measures (medians, by difference of configurations): counts and token "
        "nulls %.3f s, sources and conditional nulls %.3f s, synthetic controls %.3f s\n",
        f.phases.counts_s, f.phases.sources_s, f.phases.controls_s);
  }
  if (o.bootstrap > 0) {
    std::cout << absl::StrFormat(
        "  with the block bootstrap (%d replicates): %.3f s, i.e. %.2f ms per replicate\n",
        o.bootstrap, f.boot_s, 1000.0 * (f.boot_s - Median(f.total_s)) / o.bootstrap);
  }
  if (o.baseline) {
    std::cout << absl::StrFormat(
        "  baseline, one counting pass over the %llu events (no measures, 1 thread): %.3f s\n",
        static_cast<unsigned long long>(per_layer * o.shape.layers), f.baseline_s);
  }
}

void PrintJsonFigures(const BenchOpts& o, int threads, const BenchFigures& f) {
  nlohmann::json j = {{"bench", "analysis"},
                      {"events", o.shape.events},
                      {"layers", o.shape.layers},
                      {"pathways", o.shape.pathways},
                      {"threads", threads},
                      {"null_replicates", o.null_replicates},
                      {"seconds", Median(f.total_s)},
                      {"best_seconds", *std::min_element(f.total_s.begin(), f.total_s.end())},
                      {"measures_seconds", Median(f.measures_s)},
                      {"render_seconds", Median(f.render_s)},
                      {"cpu_seconds", Median(f.cpu_s)},
                      {"phases",
                       {{"counts_seconds", FiniteOrNull(f.phases.counts_s)},
                        {"sources_seconds", FiniteOrNull(f.phases.sources_s)},
                        {"synthetic_controls_seconds", FiniteOrNull(f.phases.controls_s)},
                        {"render_seconds", Median(f.render_s)},
                        {"bootstrap_seconds", FiniteOrNull(f.boot_s)}}},
                      {"bootstrap", o.bootstrap},
                      {"bootstrap_seconds", FiniteOrNull(f.boot_s)},
                      {"baseline_counting_pass_seconds", FiniteOrNull(f.baseline_s)}};
  PrintJson(j);
}

absl::Status RunBench(const BenchOpts& o) {
  if (!o.shape.Valid()) {
    return UsageError(
        "--layers, --pathways, --events, --repeats must be > 0 and --top-k in [1, pathways]");
  }
  ASSIGN_OR_RETURN(const std::vector<analysis::LayerInput> layers, MakeLayers(o));
  analysis::AnalysisOptions opts;
  opts.threads = o.threads;
  opts.null_replicates = o.null_replicates;
  opts.bootstrap = 0;
  ReportRunner runner(o, layers);
  BenchFigures f;
  RETURN_IF_ERROR(TimeReports(o, opts, &runner, &f));
  if (o.baseline) f.baseline_s = BaselineSeconds(layers);
  for (const auto& in : layers) f.distinct_per_layer += in.table.columns();
  f.distinct_per_layer /= o.shape.layers;
  const int threads =
      o.threads > 0 ? o.threads : static_cast<int>(std::thread::hardware_concurrency());
  PrintText(o, threads, f);
  if (JsonOutput()) PrintJsonFigures(o, threads, f);
  return absl::OkStatus();
}

void AddFlags(CLI::App* sub, BenchOpts* o) {
  AddSyntheticShapeFlags(sub, &o->shape, "timed runs after one warm-up");
  sub->add_option("--vocab", o->vocab, "vocabulary size (Zipf 1.1 over token ids)");
  sub->add_option("--threads", o->threads, "analysis threads (0: all cores)");
  sub->add_option("--null-replicates", o->null_replicates, "routing-null replicates");
  sub->add_option("--bootstrap", o->bootstrap,
                  "bootstrap replicates of the extra timed run (0: skip it)");
  sub->add_flag("!--no-baseline", o->baseline, "skip the counting-pass baseline");
  sub->add_flag("!--no-phases", o->phases,
                "skip the phase timings (counts / sources / synthetic controls)");
}

MONOROUTE_REGISTER_COMMAND(
    bench_analysis,
    Command<BenchOpts>("bench analysis", "Time a full analysis report on synthetic routing events",
                       AddFlags, RunBench));

}  // namespace
}  // namespace monoroute::cli
