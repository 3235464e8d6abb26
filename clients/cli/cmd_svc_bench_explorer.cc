// `monoroute bench explorer`: times the pathway explorer on synthetic raw events (Zipf tokens,
// token-preferring routing, random gates): a pathway page and the overview cold and warm (what
// the HTTP server answers, without the socket), and writing the static export's pathway pages.
// Baseline in the same run: one pass over the events (the least a page computed from them pays).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "clients/cli/bench_timing.h"
#include "clients/cli/command.h"
#include "clients/cli/synthetic_bench.h"
#include "common/base/file_util.h"
#include "common/base/status_macros.h"
#include "services/analysis/explorer/explorer_site.h"
#include "services/analysis/synthetic_routing.h"
#include "services/analysis/vocab_resources.h"

namespace monoroute::cli {
namespace {

namespace ex = analysis::explorer;

struct ExplorerBenchOpts {
  SyntheticBenchShape shape;  // --events, --layers, --pathways, --top-k, --repeats
  std::string out;            // --out
};

absl::StatusOr<ex::RunEvents> SyntheticRun(const ExplorerBenchOpts& o) {
  ex::RunEvents run;
  run.run_id = "bench";
  run.split = "valid";
  run.splits = {"valid"};
  run.num_pathways = o.shape.pathways;
  run.top_k = o.shape.top_k;
  run.vocab_size = 50257;
  std::mt19937_64 rng(7);
  for (uint32_t l = 0; l < o.shape.layers; ++l) {
    analysis::SyntheticRoutingOptions so = o.shape.LayerOptions();
    so.token_preference = 0.5;
    so.seed = 11;  // the same tokens in every layer
    so.model_seed = 100 + l;
    ASSIGN_OR_RETURN(analysis::SyntheticEvents e, analysis::GenerateSyntheticEvents(so));
    // Random gates instead of the synthetic events' equal weights.
    const size_t n = e.token_id.size();
    for (size_t i = 0; i < n; ++i) {
      float sum = 0;
      for (uint32_t j = 0; j < o.shape.top_k; ++j)
        sum += e.weights[i * o.shape.top_k + j] = 0.05f + (rng() % 1000) / 1000.0f;
      for (uint32_t j = 0; j < o.shape.top_k; ++j) e.weights[i * o.shape.top_k + j] /= sum;
    }
    ASSIGN_OR_RETURN(ex::LayerEventsBuilder b,
                     ex::LayerEventsBuilder::Create(2 * l, o.shape.pathways, o.shape.top_k));
    RETURN_IF_ERROR(b.Add(events::ViewOf(e), std::vector<uint64_t>(n, 1)));
    run.layers.push_back(b.Build());
  }
  return run;
}

// An ExplorerData holding one in-memory run (no report).
class MemoryData : public ex::ExplorerData {
 public:
  explicit MemoryData(std::shared_ptr<const ex::RunEvents> run) : run_(std::move(run)) {}
  absl::StatusOr<std::vector<ex::RunListing>> ListRuns() override {
    return std::vector<ex::RunListing>{};
  }
  absl::StatusOr<std::shared_ptr<const ex::RunEvents>> Events(const std::string&,
                                                              const std::string&) override {
    return run_;
  }
  absl::StatusOr<std::string> ReportJson(const std::string&, const std::string&) override {
    return absl::UnimplementedError("no report in the bench");
  }
  absl::StatusOr<ex::TryResult> Try(const std::string&, const std::string&,
                                    const std::string&) override {
    return absl::UnimplementedError("no try in the bench");
  }

 private:
  std::shared_ptr<const ex::RunEvents> run_;
};

absl::Status RunExplorerBench(const ExplorerBenchOpts& o) {
  if (!o.shape.Valid(/*max_pathways=*/64)) {
    return UsageError(
        "--layers, --events, --repeats > 0, --pathways in [1, 64], --top-k in [1, P]");
  }
  ASSIGN_OR_RETURN(analysis::VocabResources vocab, analysis::LoadVocabResources("", ""));
  auto t = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(ex::RunEvents built, SyntheticRun(o));
  const double build_s = SecondsSince(t);
  auto run = std::make_shared<const ex::RunEvents>(std::move(built));
  t = std::chrono::steady_clock::now();
  uint64_t sink = 0;  // baseline: one pass over every event's top-k
  for (const ex::LayerEvents& l : run->layers) {
    for (size_t i = 0; i < l.pathways.size(); ++i)
      sink += l.pathways[i] == 3 ? l.token_id[i / o.shape.top_k] : 0;
  }
  const double pass_s = SecondsSince(t);
  MemoryData data(run);
  ex::ExplorerSite site(&data, vocab.decode, ex::ExplorerOptions{});
  const std::string page = "/runs/bench/layers/0/pathways/3";
  t = std::chrono::steady_clock::now();
  ex::SiteResponse cold = site.Handle(page, {});
  const double cold_s = SecondsSince(t);
  if (cold.status != 200) return absl::InternalError("pathway page: " + cold.body.substr(0, 200));
  std::vector<double> warm, overview;
  for (int r = 0; r < o.shape.repeats; ++r) {
    t = std::chrono::steady_clock::now();
    site.Handle(page, {});
    warm.push_back(SecondsSince(t));
    t = std::chrono::steady_clock::now();
    site.Handle("/runs/bench", {});
    overview.push_back(SecondsSince(t));
  }
  // The export: every pathway page of every layer into a fresh site (cold cache).
  const std::string out = o.out.empty() ? (std::filesystem::temp_directory_path() /
                                           absl::StrCat("monoroute_bench_explore_", getpid()))
                                              .string()
                                        : o.out;
  std::filesystem::create_directories(out);
  ex::ExplorerSite fresh(&data, vocab.decode, ex::ExplorerOptions{});
  const ex::SiteLinks links{"bench", true, ""};
  t = std::chrono::steady_clock::now();
  size_t pages = 0;
  for (const ex::LayerEvents& l : run->layers) {
    for (uint32_t p = 0; p < o.shape.pathways; ++p) {
      ASSIGN_OR_RETURN(std::string html, fresh.PathwayPage(*run, "", l.layer, p, links));
      RETURN_IF_ERROR(WriteFileAtomic(out + "/" + ex::SiteLinks::PathwayFile(l.layer, p), html));
      ++pages;
    }
  }
  const double export_s = SecondsSince(t);
  if (o.out.empty()) std::filesystem::remove_all(out);
  const double warm_med = Median(warm), over_med = Median(overview);
  std::cout << absl::StrFormat(
      "explorer bench: %llu events (%u layers x %u pathways, top-%u); events built in %.2f s\n"
      "  pathway page: cold %.1f ms, warm median %.2f ms; overview warm median %.1f ms\n"
      "  export: %zu pathway pages in %.2f s (%.1f ms per page)\n"
      "  baseline, one pass over the events: %.1f ms (%llu)\n",
      static_cast<unsigned long long>(run->TotalEvents()), o.shape.layers, o.shape.pathways,
      o.shape.top_k, build_s, 1000 * cold_s, 1000 * warm_med, 1000 * over_med, pages, export_s,
      1000 * export_s / pages, 1000 * pass_s, static_cast<unsigned long long>(sink % 10));
  if (JsonOutput()) {
    PrintJson({{"bench", "explorer"},
               {"events", run->TotalEvents()},
               {"pathway_page_cold_seconds", cold_s},
               {"pathway_page_warm_seconds", warm_med},
               {"overview_warm_seconds", over_med},
               {"export_pages", pages},
               {"export_seconds", export_s},
               {"baseline_pass_seconds", pass_s}});
  }
  return absl::OkStatus();
}

void AddFlags(CLI::App* sub, ExplorerBenchOpts* o) {
  AddSyntheticShapeFlags(sub, &o->shape, "warm repeats");
  sub->add_option("--out", o->out, "keep the exported pages here (default: a temp dir, removed)");
}

MONOROUTE_REGISTER_COMMAND(
    bench_explorer,
    Command<ExplorerBenchOpts>(
        "bench explorer", "Time the pathway explorer's pages and static export on synthetic events",
        AddFlags, RunExplorerBench));

}  // namespace
}  // namespace monoroute::cli
