// StartExplorer: RecorderExplorerData (recorder + the service's Report + RouteText) ->
// ExplorerSite -> ExplorerHttpServer.
#include "services/analysis/explorer/explorer_main.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "services/analysis/explorer/explorer_site.h"
#include "services/analysis/explorer/http_server.h"
#include "services/analysis/explorer/recorder_explorer_data.h"
#include "services/analysis/vocab_resources.h"

namespace monoroute::analysis::explorer {
namespace {

class Runtime final : public ExplorerRuntime {
 public:
  std::string url() const override {
    const std::string host = listen.substr(0, listen.rfind(':'));
    return absl::StrCat(server->scheme(), "://", host, ":", server->port(), "/");
  }
  std::string listen;
  VocabResources vocab;
  std::unique_ptr<RecorderExplorerData> data;
  std::unique_ptr<ExplorerSite> site;
  std::unique_ptr<ExplorerHttpServer> server;  // declared last: stopped first
};

}  // namespace

void AddExplorerFlags(CLI::App* app, ExplorerFlags* flags) {
  app->add_option("--http-listen", flags->http_listen,
                  "pathway explorer (HTML pages + JSON API) on host:port (port 0: any; empty: "
                  "off); same TLS files and token as the gRPC port (docs/explorer.md)");
  app->add_option("--http-threads", flags->http_threads, "explorer HTTP worker threads")
      ->capture_default_str();
}

absl::StatusOr<std::unique_ptr<ExplorerRuntime>> StartExplorer(
    const ExplorerFlags& flags, AnalysisServiceImpl* service, const AnalysisServiceOptions& options,
    const ServerTlsOptions& tls) {
  if (flags.http_listen.empty()) return std::unique_ptr<ExplorerRuntime>();
  auto rt = std::make_unique<Runtime>();
  rt->listen = flags.http_listen;
  absl::StatusOr<VocabResources> vocab = LoadVocabResources(options.tokenizer_dir, "");
  if (!vocab.ok()) return vocab.status();
  rt->vocab = *std::move(vocab);
  RecorderExplorerDataOptions d;
  d.recorder.address = options.recorder.address;
  d.recorder.tls = options.recorder.tls;
  d.recorder.bearer_token = options.recorder.bearer_token;
  d.report = [service](const std::string& run,
                       const std::string& split) -> absl::StatusOr<std::string> {
    v1::ReportRequest req;
    req.set_run_id(run);
    req.mutable_selection()->set_split(split);
    req.mutable_options()->set_skip_png(true);
    absl::StatusOr<v1::ReportResponse> r = service->Report(req);
    if (!r.ok()) return r.status();
    return r->json();
  };
  d.route = RouteText;
  d.logits = ComputePathwayLogits;
  d.allowed_roots = options.allowed_roots;
  d.tokenizer_dir = options.tokenizer_dir;
  absl::StatusOr<std::unique_ptr<RecorderExplorerData>> data =
      RecorderExplorerData::Create(std::move(d));
  if (!data.ok()) return data.status();
  rt->data = *std::move(data);
  rt->site = std::make_unique<ExplorerSite>(rt->data.get(), rt->vocab.decode, ExplorerOptions{});
  ExplorerHttpOptions h;
  h.listen = flags.http_listen;
  h.tls = tls;
  h.auth = options.auth;
  h.threads = flags.http_threads;
  absl::StatusOr<std::unique_ptr<ExplorerHttpServer>> server =
      ExplorerHttpServer::Start(h, rt->site.get());
  if (!server.ok()) return server.status();
  rt->server = *std::move(server);
  std::printf("explorer on %s\n", rt->url().c_str());
  std::fflush(stdout);
  return std::unique_ptr<ExplorerRuntime>(std::move(rt));
}

}  // namespace monoroute::analysis::explorer
