// monoroute-analysis: serves the Analysis gRPC API over a recorder (flags only).
//   monoroute-analysis --listen 127.0.0.1:7102 --recorder 127.0.0.1:7101
//                      --metrics-listen 127.0.0.1:7112 [--lexicon PATH] [--tokenizer DIR]
//                      [--tls-cert C --tls-key K [--tls-client-ca CA]] [--auth-token-file F]
//                      [--allowed-root DIR]... [--recorder-tls-ca CA ...]
//                      [--http-listen 127.0.0.1:7122]  (the pathway explorer, docs/explorer.md)
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "common/service/auth.h"
#include "common/service/health_check.h"
#include "common/service/server_runner.h"
#include "common/service/service_flags.h"
#include "services/analysis/analysis_service.h"
#include "services/analysis/explorer/explorer_main.h"

int main(int argc, char** argv) {
  using monoroute::analysis::AnalysisServiceImpl;
  using monoroute::analysis::AnalysisServiceOptions;
  CLI::App app{"monoroute-analysis: monosemanticity measures and reports over a recorder"};
  monoroute::ServerRunnerOptions server;
  server.listen = "127.0.0.1:7102";
  server.metrics_listen = "127.0.0.1:7112";
  server.service_name = "monoroute.analysis.v1.Analysis";
  server.metrics_prefix = "monoroute_analysis";
  monoroute::ServerFlags flags;
  flags.max_receive_mb = 4;  // requests are small
  flags.max_send_mb = 256;   // a report carries its JSON and PNG
  AnalysisServiceOptions options;
  options.recorder.address = "127.0.0.1:7101";
  int cache_entries = 32;
  std::string recorder_token_file;
  app.add_option("--listen", server.listen, "gRPC listen address host:port (port 0: any)")
      ->capture_default_str();
  app.add_option("--recorder", options.recorder.address, "recorder address host:port")
      ->capture_default_str();
  app.add_option("--metrics-listen,--metrics_listen", server.metrics_listen,
                 "Prometheus /metrics address (empty: off)")
      ->capture_default_str();
  app.add_option("--lexicon", options.lexicon_path,
                 "word lexicon (.tsv or directory) or token-categories TSV for category measures");
  app.add_option("--tokenizer", options.tokenizer_dir,
                 "Tokenizer directory (tokenizer.json, else vocab.json + merges.txt); default: GPT-2");
  app.add_option("--threads", options.threads, "threads per analysis (0: all cores)");
  app.add_option("--cache-entries", cache_entries, "cached analyses kept")->capture_default_str();
  app.add_option("--allowed-root", options.allowed_roots,
                 "Ablate may read checkpoints and texts only under these (repeatable; none: "
                 "Ablate is refused)");
  monoroute::AddServerFlags(&app, "Ablate", &flags);
  monoroute::AddChannelTlsFlags(&app, "recorder", &options.recorder.tls);
  app.add_option("--recorder-token-file", recorder_token_file,
                 "bearer token for the recorder (needed when it runs with --auth-reads)");
  monoroute::analysis::explorer::ExplorerFlags explorer_flags;
  monoroute::analysis::explorer::AddExplorerFlags(&app, &explorer_flags);
  CLI11_PARSE(app, argc, argv);
  options.cache_entries = static_cast<size_t>(std::max(1, cache_entries));
  for (std::string& r : options.allowed_roots) {
    r = std::filesystem::absolute(r).lexically_normal().string();
  }

  auto fail = [](const absl::Status& s) {
    std::cerr << "monoroute-analysis: " << s.message() << "\n";
    return 1;
  };
  absl::StatusOr<monoroute::AuthOptions> auth = monoroute::LoadAuthOptions(flags);
  if (!auth.ok()) return fail(auth.status());
  options.auth = *auth;
  if (!recorder_token_file.empty()) {
    auto t = monoroute::ReadTokenFile("--recorder-token-file", recorder_token_file);
    if (!t.ok()) return fail(t.status());
    options.recorder.bearer_token = *t;
  }
  monoroute::ApplyServerFlags(flags, &server);
  // Readiness: NOT_SERVING while the recorder does not answer its health check (every 5 s).
  auto probe = monoroute::MakeHealthProbe("recorder", options.recorder.address,
                                          options.recorder.tls, "monoroute.recorder.v1.Recorder");
  if (!probe.ok()) return fail(probe.status());
  server.health_probe = *probe;

  auto registry = std::make_shared<prometheus::Registry>();
  auto service = AnalysisServiceImpl::Create(options, registry);
  if (!service.ok()) return fail(service.status());
  auto explorer = monoroute::analysis::explorer::StartExplorer(explorer_flags, service->get(),
                                                               options, server.tls);
  if (!explorer.ok()) return fail(explorer.status());
  server.on_started = [&](int port) {
    const std::string host = server.listen.substr(0, server.listen.rfind(':'));
    std::printf("monoroute-analysis listening on %s:%d (recorder %s%s, %s, %s)\n", host.c_str(),
                port, options.recorder.address.c_str(),
                options.recorder.tls.enabled() ? " over TLS" : "",
                monoroute::DescribeTls(server.tls).c_str(),
                monoroute::BearerAuth(options.auth).Describe().c_str());
    std::fflush(stdout);
  };
  absl::Status s = monoroute::RunServer(server, {service->get()}, registry);
  if (!s.ok()) return fail(s);
  return 0;
}
