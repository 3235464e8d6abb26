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
  std::string address;
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
  int timeout_s = 600;
  std::string model_card;  // checkpoint dir whose README.md gets the report's answer
  TlsFlags tls;
  std::string token_file;
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
  std::string address = o.address;
  if (address.empty()) {
    const char* env = std::getenv("MONOROUTE_ANALYSIS_ADDR");
    address = env != nullptr && *env != '\0' ? env : "127.0.0.1:7102";
  }
  std::error_code ec;
  std::filesystem::create_directories(o.out_dir, ec);
  if (ec)
    return absl::InternalError(absl::StrCat("cannot create --out ", o.out_dir, ": ", ec.message()));
  absl::StatusOr<std::string> token = LoadCliToken(o.token_file, "MONOROUTE_ANALYSIS_TOKEN");
  if (!token.ok()) return token.status();
  const std::string down =
      absl::StrCat("analysis service at ", address,
                   " is not reachable; start monoroute-analysis or pass --analysis / set "
                   "MONOROUTE_ANALYSIS_ADDR",
                   TlsHint(o.tls));
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      ConnectService(address, o.tls, 256 << 20, 3.0);
  if (channel.status().code() == absl::StatusCode::kUnavailable) {
    return absl::UnavailableError(down);
  }
  if (!channel.ok()) return channel.status();
  auto stub = analysis::v1::Analysis::NewStub(*channel);
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
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(o.timeout_s));
  if (!token->empty()) ctx.AddMetadata("authorization", "Bearer " + *token);
  analysis::v1::ReportResponse resp;
  grpc::Status gs = stub->ComputeReport(&ctx, req, &resp);
  if (!gs.ok()) {
    absl::Status s = FromGrpcStatus(gs);
    return absl::Status(s.code(), absl::StrCat("report for run ", o.run_id, " (analysis at ",
                                               address, "): ", s.message()));
  }
  const std::string json_path = (std::filesystem::path(o.out_dir) / "llm_routing_results.json");
  const std::string png_path = (std::filesystem::path(o.out_dir) / "llm_monosemanticity.png");
  RETURN_IF_ERROR(WriteFileAtomic(json_path, resp.json()));
  if (!resp.png().empty()) RETURN_IF_ERROR(WriteFileAtomic(png_path, resp.png()));
  if (!o.model_card.empty()) RETURN_IF_ERROR(UpdateModelCard(o.model_card, resp.json()));
  const auto& f = resp.freshness();
  if (JsonOutput()) {
    nlohmann::json out = {{"run_id", o.run_id},
                          {"json", json_path},
                          {"png", resp.png().empty() ? "" : png_path},
                          {"watermark", f.watermark()},
                          {"events", f.events()},
                          {"finished", f.finished()},
                          {"still_writing", f.still_writing()},
                          {"cached", f.cached()},
                          {"compute_seconds", resp.compute_seconds()}};
    PrintJson(out);
  } else {
    std::cout << "wrote " << json_path;
    if (!resp.png().empty()) std::cout << " and " << png_path;
    std::cout << (f.cached() ? " (cached)" : "") << "\n" << SummariseReport(resp.json());
    if (f.still_writing()) {
      std::cout << "note: the run is still being written (last write at unix ms "
                << f.last_write_unix_ms() << "); rerun for fresher results\n";
    }
  }
  return absl::OkStatus();
}

MONOROUTE_REGISTER_COMMAND(report, [](CLI::App& app) {
  CLI::App* sub = app.add_subcommand(
      "report", "Write a run's llm_routing_results.json and llm_monosemanticity.png");
  auto o = std::make_shared<ReportOpts>();
  sub->add_option("run", o->run_id, "run id")->required();
  sub->add_option("--out", o->out_dir, "output directory")->required();
  sub->add_option("--analysis", o->address,
                  "analysis service address (default: $MONOROUTE_ANALYSIS_ADDR or 127.0.0.1:7102)");
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
  sub->add_option("--timeout", o->timeout_s, "seconds to wait for the report");
  o->token_file = EnvOr("MONOROUTE_ANALYSIS_TOKEN_FILE", "");
  sub->add_option("--token-file", o->token_file,
                  "bearer token file, for an analysis service with --auth-reads (env "
                  "MONOROUTE_ANALYSIS_TOKEN_FILE or MONOROUTE_ANALYSIS_TOKEN)");
  AddTlsFlags(sub, &o->tls);
  SetAction(sub, [o]() { return RunReport(*o); });
});

}  // namespace
}  // namespace monoroute::cli
