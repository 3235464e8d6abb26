// The explorer inside monoroute-analysis: its flags (--http-listen, --http-threads) and the
// wiring of ExplorerSite to the analysis service (report documents), the recorder (raw events)
// and the engine (try). Used by services/analysis/main.cc only.
#ifndef MONOROUTE_SERVICES_ANALYSIS_EXPLORER_EXPLORER_MAIN_H_
#define MONOROUTE_SERVICES_ANALYSIS_EXPLORER_EXPLORER_MAIN_H_

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "services/analysis/analysis_service.h"

namespace monoroute::analysis::explorer {

struct ExplorerFlags {
  // host:port of the explorer's HTTP(S) port; empty: no explorer.
  std::string http_listen;
  // Worker threads of the HTTP server.
  int http_threads = 4;
};

// Adds --http-listen and --http-threads to `app`.
void AddExplorerFlags(CLI::App* app, ExplorerFlags* flags);

// A running explorer (owns its data source, site and server); stops on destruction.
class ExplorerRuntime {
 public:
  virtual ~ExplorerRuntime() = default;
  // The URL it serves ("http://127.0.0.1:PORT/").
  virtual std::string url() const = 0;
};

// Starts the explorer when flags.http_listen is set (nullptr otherwise), with the gRPC port's
// TLS files `tls` and the service's token and allowed roots (`options`). `service` is not owned
// and must outlive the result. Prints "explorer on URL" on stdout.
absl::StatusOr<std::unique_ptr<ExplorerRuntime>> StartExplorer(
    const ExplorerFlags& flags, AnalysisServiceImpl* service, const AnalysisServiceOptions& options,
    const ServerTlsOptions& tls);

}  // namespace monoroute::analysis::explorer

#endif  // MONOROUTE_SERVICES_ANALYSIS_EXPLORER_EXPLORER_MAIN_H_
