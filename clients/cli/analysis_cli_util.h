// Helpers shared by the `monoroute` subcommands that ask the analysis service for a report
// (report, explore): the --analysis/--token-file/--timeout/--tls-* flags, connecting
// (service_channel.h) and one ComputeReport call. Header-only (the CLI globs only cmd_*.cc).
// Thread-compatible.
#ifndef MONOROUTE_CLIENTS_CLI_ANALYSIS_CLI_UTIL_H_
#define MONOROUTE_CLIENTS_CLI_ANALYSIS_CLI_UTIL_H_

#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "clients/cli/service_channel.h"
#include "common/service/grpc_status.h"
#include "monoroute/analysis/v1/analysis.grpc.pb.h"

namespace monoroute::cli {

// Flags of a command that asks the analysis service for a report.
struct AnalysisFlags {
  // host:port of monoroute-analysis (--analysis; empty: env MONOROUTE_ANALYSIS_ADDR, else
  // 127.0.0.1:7102).
  std::string address;
  // File holding the bearer token (--token-file, env MONOROUTE_ANALYSIS_TOKEN_FILE); also the
  // token itself from env MONOROUTE_ANALYSIS_TOKEN.
  std::string token_file;
  // Seconds to wait for the report (--timeout).
  int timeout_s = 600;
  // TLS of the connections (--tls-*, env MONOROUTE_TLS_*).
  TlsFlags tls;
};

// Adds --analysis, --timeout, --token-file (whose help says `token_use`: who gets the token) and
// the TLS flags to `sub`.
inline void AddAnalysisFlags(CLI::App* sub, AnalysisFlags* f, const std::string& token_use) {
  sub->add_option("--analysis", f->address,
                  "analysis service address (default: $MONOROUTE_ANALYSIS_ADDR or 127.0.0.1:7102)");
  sub->add_option("--timeout", f->timeout_s, "seconds to wait for the report");
  f->token_file = EnvOr("MONOROUTE_ANALYSIS_TOKEN_FILE", "");
  sub->add_option("--token-file", f->token_file,
                  absl::StrCat("bearer token file, ", token_use,
                               " (env MONOROUTE_ANALYSIS_TOKEN_FILE or MONOROUTE_ANALYSIS_TOKEN)"));
  AddTlsFlags(sub, &f->tls);
}

// The analysis service's address: --analysis, else env MONOROUTE_ANALYSIS_ADDR, else the default.
inline std::string AnalysisAddress(const AnalysisFlags& f) {
  return f.address.empty() ? EnvOr("MONOROUTE_ANALYSIS_ADDR", "127.0.0.1:7102") : f.address;
}

// The bearer token: --token-file, else env MONOROUTE_ANALYSIS_TOKEN, else empty.
inline absl::StatusOr<std::string> LoadToken(const AnalysisFlags& f) {
  return LoadCliToken(f.token_file, "MONOROUTE_ANALYSIS_TOKEN");
}

// A stub of the analysis service (reports up to 256 MiB); UNAVAILABLE "did not answer within 3 s"
// when it cannot be reached, INVALID_ARGUMENT for unusable TLS files.
inline absl::StatusOr<std::unique_ptr<analysis::v1::Analysis::Stub>> ConnectAnalysis(
    const AnalysisFlags& f) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      ConnectService(AnalysisAddress(f), f.tls, 256 << 20, 3.0);
  if (!channel.ok()) return channel.status();
  return analysis::v1::Analysis::NewStub(*channel);
}

// The report `req` from `stub`, waiting at most --timeout seconds; `token` sent when not empty.
inline absl::StatusOr<analysis::v1::ReportResponse> ComputeReport(
    analysis::v1::Analysis::Stub* stub, const AnalysisFlags& f, const std::string& token,
    const analysis::v1::ReportRequest& req) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(f.timeout_s));
  if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
  analysis::v1::ReportResponse resp;
  grpc::Status gs = stub->ComputeReport(&ctx, req, &resp);
  if (!gs.ok()) return FromGrpcStatus(gs);
  return resp;
}

}  // namespace monoroute::cli

#endif  // MONOROUTE_CLIENTS_CLI_ANALYSIS_CLI_UTIL_H_
