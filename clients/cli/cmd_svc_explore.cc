// `monoroute explore RUN --out DIR`: writes the pathway explorer's pages of one run as a static,
// self-contained site (DIR/index.html = the overview, DIR/layer<L>_pathway<P>.html per pathway;
// inline CSS and SVG, relative links, no request to any other host), openable from disk.
// `--format neuronpedia` writes DIR/batch-<L>.json per routed layer in the SAEDashboard /
// Neuronpedia upload format instead. Raw events come from the recorder (--recorder), the report
// from the analysis service (--analysis; without it the pages have no report section). With
// --checkpoint DIR (the run's routed checkpoint) the pathway pages and the Neuronpedia features get
// their logit tables (pos_str / neg_str).
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/strings/str_cat.h"
#include "clients/cli/analysis_cli_util.h"
#include "clients/cli/bench_timing.h"
#include "clients/cli/command.h"
#include "clients/cli/service_channel.h"
#include "common/base/file_util.h"
#include "common/base/status_macros.h"
#include "common/service/grpc_status.h"
#include "monoroute/analysis/v1/analysis.grpc.pb.h"
#include "services/analysis/explorer/explorer_json.h"
#include "services/analysis/explorer/explorer_site.h"
#include "services/analysis/explorer/recorder_explorer_data.h"
#include "services/analysis/vocab_resources.h"

namespace monoroute::cli {
namespace {

namespace ex = analysis::explorer;

struct ExploreOpts {
  std::string run_id;
  std::string out_dir;
  std::string recorder;
  AnalysisFlags analysis;  // --analysis, --token-file, --timeout, --tls-* (also the recorder's)
  std::string split;
  std::string format = "html";
  std::string tokenizer;
  bool no_report = false;
  std::string checkpoint;  // routed checkpoint for the logit tables ("" = the run's label, if any)
};

// The report document from the analysis service (ComputeReport without the PNG).
absl::StatusOr<std::string> FetchReport(const ExploreOpts& o, const std::string& token,
                                        const std::string& split) {
  ASSIGN_OR_RETURN(std::unique_ptr<analysis::v1::Analysis::Stub> stub, ConnectAnalysis(o.analysis));
  analysis::v1::ReportRequest req;
  req.set_run_id(o.run_id);
  req.mutable_selection()->set_split(split);
  req.mutable_options()->set_skip_png(true);
  ASSIGN_OR_RETURN(analysis::v1::ReportResponse resp,
                   ComputeReport(stub.get(), o.analysis, token, req));
  return resp.json();
}

absl::Status WritePages(const ExploreOpts& o, ex::ExplorerSite& site, const ex::RunEvents& run,
                        const std::string& report, size_t* files) {
  const ex::SiteLinks links{run.run_id, true, "", o.checkpoint};
  const std::filesystem::path dir(o.out_dir);
  if (o.format == "neuronpedia") {
    for (const ex::LayerEvents& l : run.layers) {
      std::vector<ex::PathwayProfile> profiles;
      for (uint32_t p = 0; p < run.num_pathways; ++p) {
        ASSIGN_OR_RETURN(auto prof, site.Profile(run, l.layer, p, o.checkpoint));
        profiles.push_back(*prof);
      }
      const std::string name = absl::StrCat("batch-", l.layer, ".json");
      RETURN_IF_ERROR(WriteFileAtomic(
          (dir / name).string(),
          ex::NeuronpediaBatchJson(run.labels.count("model") ? run.labels.at("model") : "monoroute",
                                   run.run_id, l.layer, profiles)));
      ++*files;
    }
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(std::string index, site.OverviewPage(run, report, links));
  RETURN_IF_ERROR(WriteFileAtomic((dir / "index.html").string(), index));
  ++*files;
  for (const ex::LayerEvents& l : run.layers) {
    for (uint32_t p = 0; p < run.num_pathways; ++p) {
      ASSIGN_OR_RETURN(std::string page, site.PathwayPage(run, report, l.layer, p, links));
      RETURN_IF_ERROR(
          WriteFileAtomic((dir / ex::SiteLinks::PathwayFile(l.layer, p)).string(), page));
      ++*files;
    }
  }
  return absl::OkStatus();
}

absl::Status RunExplore(const ExploreOpts& o) {
  if (o.format != "html" && o.format != "neuronpedia") {
    return UsageError("--format " + o.format + ": must be html or neuronpedia");
  }
  const auto start = std::chrono::steady_clock::now();
  std::error_code ec;
  std::filesystem::create_directories(o.out_dir, ec);
  if (ec)
    return absl::InternalError(absl::StrCat("cannot create --out ", o.out_dir, ": ", ec.message()));
  ASSIGN_OR_RETURN(std::string token, LoadToken(o.analysis));
  ASSIGN_OR_RETURN(analysis::VocabResources vocab, analysis::LoadVocabResources(o.tokenizer, ""));
  ex::RecorderExplorerDataOptions d;
  d.recorder.address = o.recorder;
  d.recorder.tls = o.analysis.tls;
  d.recorder.bearer_token = token;
  if (!o.checkpoint.empty()) {  // the one directory the export reads
    d.logits = ex::ComputePathwayLogits;
    d.allowed_roots = {std::filesystem::absolute(o.checkpoint).lexically_normal().string()};
  }
  ASSIGN_OR_RETURN(std::unique_ptr<ex::RecorderExplorerData> data,
                   ex::RecorderExplorerData::Create(d));
  absl::StatusOr<std::shared_ptr<const ex::RunEvents>> run = data->Events(o.run_id, o.split);
  if (!run.ok()) {
    return absl::Status(run.status().code(),
                        absl::StrCat("run ", o.run_id, " (recorder at ", o.recorder,
                                     "): ", run.status().message()));
  }
  std::string report;
  if (!o.no_report) {
    absl::StatusOr<std::string> r = FetchReport(o, token, (*run)->split);
    if (!r.ok()) {
      return absl::Status(
          r.status().code(),
          absl::StrCat("report of run ", o.run_id, " (analysis at ", AnalysisAddress(o.analysis),
                       "): ", r.status().message(), " (--no-report to skip it)"));
    }
    report = *std::move(r);
  }
  ex::ExplorerSite site(data.get(), vocab.decode, ex::ExplorerOptions{});
  size_t files = 0;
  RETURN_IF_ERROR(WritePages(o, site, **run, report, &files));
  const double secs = SecondsSince(start);
  return PrintResult(
      {{"run_id", o.run_id},
       {"split", (*run)->split},
       {"out", o.out_dir},
       {"format", o.format},
       {"files", files},
       {"events", (*run)->TotalEvents()},
       {"seconds", secs}},
      absl::StrCat("wrote ", files, " ", o.format == "html" ? "pages" : "batch files", " of run ",
                   o.run_id, " (split ", (*run)->split, ") to ", o.out_dir, " in ", secs, " s",
                   o.format == "html" ? "; open index.html" : "", "\n"));
}

void AddFlags(CLI::App* sub, ExploreOpts* o) {
  sub->add_option("run", o->run_id, "run id")->required();
  sub->add_option("--out", o->out_dir, "output directory")->required();
  o->recorder = EnvOr("MONOROUTE_RECORDER_ADDR", "127.0.0.1:7101");
  sub->add_option("--recorder", o->recorder,
                  "recorder address (default: $MONOROUTE_RECORDER_ADDR or 127.0.0.1:7101)");
  sub->add_option("--split", o->split, "split to explore (default: valid, else the first)");
  sub->add_option("--format", o->format, "html (pages) or neuronpedia (batch JSON per layer)")
      ->capture_default_str();
  sub->add_option("--tokenizer", o->tokenizer, "GPT-2 tokenizer directory (default: the build's)");
  sub->add_flag("--no-report", o->no_report, "do not ask the analysis service for the report");
  sub->add_option("--checkpoint", o->checkpoint,
                  "the run's routed checkpoint: adds the logit tables (tokens each pathway "
                  "raises / lowers) to the pages and the Neuronpedia JSON");
  AddAnalysisFlags(sub, &o->analysis, "sent to the recorder and the analysis service");
}

MONOROUTE_REGISTER_COMMAND(
    explore,
    Command<ExploreOpts>(
        "explore", "Write a run's pathway explorer pages as a static site (or Neuronpedia JSON)",
        AddFlags, RunExplore));

}  // namespace
}  // namespace monoroute::cli
