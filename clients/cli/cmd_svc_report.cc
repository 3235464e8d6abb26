// `monoroute report RUN --out DIR`: asks the analysis service for a run's report and writes
// llm_routing_results.json and llm_monosemanticity.png into DIR. TLS with --tls-ca (mutual TLS
// with --tls-cert/--tls-key; env MONOROUTE_TLS_*), a token with --token-file. `--model-card DIR`
// also puts the report's answer into the "## Report" section of the checkpoint's README.md.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/strings/str_cat.h"
#include "clients/cli/analysis_cli_util.h"
#include "clients/cli/command.h"
#include "clients/cli/report_summary.h"
#include "clients/cli/service_channel.h"
#include "common/base/file_util.h"
#include "common/base/status_macros.h"
#include "common/engine/hf_extras.h"
#include "common/service/grpc_status.h"
#include "monoroute/analysis/v1/analysis.grpc.pb.h"

namespace monoroute::cli {
namespace {

struct ReportOpts {
  std::string run_id;
  std::string out_dir;
  AnalysisFlags analysis;  // --analysis, --token-file, --timeout, --tls-*
  std::string baseline;
  std::string split;
  uint64_t min_step = 0;
  uint64_t max_step = 0;
  uint32_t top_tokens = 0;
  uint32_t training_ranges = 0;
  int bootstrap = -1;
  uint32_t null_replicates = 0;
  int category_permutations = -1;
  double min_effect = -1;
  double fdr = 0;
  uint64_t seed = 0;
  bool no_png = false;
  int64_t estimand_events = -1;
  bool no_sources = false;
  std::string model_card;  // checkpoint dir whose README.md gets the report's answer
};

// Puts the answer of `report_json` into `dir`/README.md's "## Report" section (atomically).
absl::Status UpdateModelCard(const std::string& dir, const std::string& report_json) {
  const std::string path = (std::filesystem::path(dir) / "README.md").string();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--model-card ", dir, ": no README.md (a checkpoint written by monoroute)"));
  }
  ASSIGN_OR_RETURN(std::string card, ReadFile(path));
  absl::StatusOr<std::string> section = ReportCardSection(report_json);
  if (!section.ok())
    return absl::InvalidArgumentError(absl::StrCat("--model-card: ", section.status().message()));
  return WriteFileAtomic(path, engine::WithReportSection(card, *section));
}

absl::Status RunReport(const ReportOpts& o) {
  const std::string address = AnalysisAddress(o.analysis);
  std::error_code ec;
  std::filesystem::create_directories(o.out_dir, ec);
  if (ec)
    return absl::InternalError(absl::StrCat("cannot create --out ", o.out_dir, ": ", ec.message()));
  ASSIGN_OR_RETURN(const std::string token, LoadToken(o.analysis));
  absl::StatusOr<std::unique_ptr<analysis::v1::Analysis::Stub>> stub = ConnectAnalysis(o.analysis);
  if (stub.status().code() == absl::StatusCode::kUnavailable) {
    return absl::UnavailableError(
        absl::StrCat("analysis service at ", address,
                     " is not reachable; start monoroute-analysis or pass --analysis / set "
                     "MONOROUTE_ANALYSIS_ADDR",
                     TlsHint(o.analysis.tls)));
  }
  if (!stub.ok()) return stub.status();
  analysis::v1::ReportRequest req;
  req.set_run_id(o.run_id);
  req.set_baseline_run_id(o.baseline);
  req.mutable_selection()->set_split(o.split);
  req.mutable_selection()->set_min_step(o.min_step);
  req.mutable_selection()->set_max_step(o.max_step);
  req.mutable_options()->set_top_tokens(o.top_tokens);
  req.mutable_options()->set_training_ranges(o.training_ranges);
  req.mutable_options()->set_skip_png(o.no_png);
  if (o.bootstrap >= 0) req.mutable_options()->set_bootstrap(o.bootstrap);
  req.mutable_options()->set_null_replicates(o.null_replicates);
  if (o.category_permutations >= 0) {
    req.mutable_options()->set_category_permutations(o.category_permutations);
  }
  if (o.min_effect >= 0) req.mutable_options()->set_min_effect_nats(o.min_effect);
  req.mutable_options()->set_fdr(o.fdr);
  if (o.estimand_events >= 0) req.mutable_options()->set_estimand_events(o.estimand_events);
  if (o.no_sources) req.mutable_options()->set_sources(false);
  req.mutable_options()->set_seed(o.seed);
  absl::StatusOr<analysis::v1::ReportResponse> report =
      ComputeReport(stub->get(), o.analysis, token, req);
  if (!report.ok()) {
    return absl::Status(report.status().code(),
                        absl::StrCat("report for run ", o.run_id, " (analysis at ", address,
                                     "): ", report.status().message()));
  }
  const analysis::v1::ReportResponse& resp = *report;
  const std::string json_path = (std::filesystem::path(o.out_dir) / "llm_routing_results.json");
  const std::string png_path = (std::filesystem::path(o.out_dir) / "llm_monosemanticity.png");
  RETURN_IF_ERROR(WriteFileAtomic(json_path, resp.json()));
  if (!resp.png().empty()) RETURN_IF_ERROR(WriteFileAtomic(png_path, resp.png()));
  if (!o.model_card.empty()) RETURN_IF_ERROR(UpdateModelCard(o.model_card, resp.json()));
  const auto& f = resp.freshness();
  std::string text =
      absl::StrCat("wrote ", json_path, resp.png().empty() ? "" : absl::StrCat(" and ", png_path),
                   f.cached() ? " (cached)" : "", "\n");
  if (!JsonOutput()) absl::StrAppend(&text, SummariseReport(resp.json()));
  if (f.still_writing()) {
    absl::StrAppend(&text, "note: the run is still being written (last write at unix ms ",
                    f.last_write_unix_ms(), "); rerun for fresher results\n");
  }
  return PrintResult({{"run_id", o.run_id},
                      {"json", json_path},
                      {"png", resp.png().empty() ? "" : png_path},
                      {"watermark", f.watermark()},
                      {"events", f.events()},
                      {"finished", f.finished()},
                      {"still_writing", f.still_writing()},
                      {"cached", f.cached()},
                      {"compute_seconds", resp.compute_seconds()}},
                     text);
}

void AddFlags(CLI::App* sub, ReportOpts* o) {
  sub->add_option("run", o->run_id, "run id")->required();
  sub->add_option("--out", o->out_dir, "output directory")->required();
  sub->add_option("--baseline", o->baseline, "baseline run id (e.g. the dense model's run)");
  sub->add_option("--split", o->split,
                  "only this split, e.g. valid (its controls valid/fresh_routers and "
                  "valid/dense_slices are then compared automatically; default: all splits)");
  sub->add_option("--min-step", o->min_step, "first step (inclusive)");
  sub->add_option("--max-step", o->max_step, "last step (inclusive; 0: no bound)");
  sub->add_option("--top-tokens", o->top_tokens, "top tokens per pathway (0: 10)");
  sub->add_option("--training-ranges", o->training_ranges, "over-training step ranges (0: 4)");
  sub->add_option("--bootstrap", o->bootstrap, "block-bootstrap replicates (default 200; 0: none)");
  sub->add_option("--null-replicates", o->null_replicates, "routing-null replicates (0: 8)");
  sub->add_option("--category-permutations", o->category_permutations,
                  "label permutations of the category test (default 999; 0: none)");
  sub->add_option("--min-effect", o->min_effect,
                  "minimum KL excess (nats) of a specialised pathway (default 0.1)");
  sub->add_option("--fdr", o->fdr, "false-discovery rate per layer (0: 0.05)");
  sub->add_option("--estimand-events", o->estimand_events,
                  "events every compared excess is computed on (default 250000; 0: no cap)");
  sub->add_flag("--no-sources", o->no_sources,
                "measure only the current token (no previous/next token, position, conditionals)");
  sub->add_option("--seed", o->seed, "seed of every random draw (0: 1)");
  sub->add_flag("--no-png", o->no_png, "skip the figure");
  sub->add_option("--model-card", o->model_card,
                  "checkpoint dir: put the report's answer into its README.md");
  AddAnalysisFlags(sub, &o->analysis, "for an analysis service with --auth-reads");
}

MONOROUTE_REGISTER_COMMAND(
    report,
    Command<ReportOpts>("report",
                        "Write a run's llm_routing_results.json and llm_monosemanticity.png",
                        AddFlags, RunReport));

}  // namespace
}  // namespace monoroute::cli
