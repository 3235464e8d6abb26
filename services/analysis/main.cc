// monoroute-analysis: serves the Analysis gRPC API over a recorder.
//   monoroute-analysis --listen 127.0.0.1:7102 --recorder 127.0.0.1:7101
//                      --metrics-listen 127.0.0.1:9102 [--lexicon PATH] [--tokenizer DIR]
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <memory>

#include "common/service/server_runner.h"
#include "services/analysis/analysis_service.h"

int main(int argc, char** argv) {
  using monoroute::analysis::AnalysisServiceImpl;
  using monoroute::analysis::AnalysisServiceOptions;
  CLI::App app{"monoroute-analysis: monosemanticity measures and reports over a recorder"};
  monoroute::ServerRunnerOptions server;
  server.listen = "127.0.0.1:7102";
  server.metrics_listen = "127.0.0.1:9102";
  server.service_name = "monoroute.analysis.v1.Analysis";
  AnalysisServiceOptions options;
  options.recorder.address = "127.0.0.1:7101";
  int cache_entries = 32;
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
                 "GPT-2 tokenizer directory (vocab.json, merges.txt); default: the build's");
  app.add_option("--threads", options.threads, "threads per analysis (0: all cores)");
  app.add_option("--cache-entries", cache_entries, "cached analyses kept")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  options.cache_entries = static_cast<size_t>(std::max(1, cache_entries));

  auto registry = std::make_shared<prometheus::Registry>();
  auto service = AnalysisServiceImpl::Create(options, registry);
  if (!service.ok()) {
    std::cerr << "monoroute-analysis: " << service.status().message() << "\n";
    return 1;
  }
  server.on_started = [&](int port) {
    const std::string host = server.listen.substr(0, server.listen.rfind(':'));
    std::printf("monoroute-analysis listening on %s:%d (recorder %s)\n", host.c_str(), port,
                options.recorder.address.c_str());
    std::fflush(stdout);
  };
  absl::Status s = monoroute::RunServer(server, {service->get()}, registry);
  if (!s.ok()) {
    std::cerr << "monoroute-analysis: " << s.message() << "\n";
    return 1;
  }
  return 0;
}
