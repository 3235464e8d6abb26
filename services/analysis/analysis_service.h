// The gRPC Analysis service: reads counts from a recorder, runs analysis_core, caches results
// per (run, recorder watermark, selection, options), renders the report. Thin: conversion and
// caching only.
#ifndef MONOROUTE_SERVICES_ANALYSIS_ANALYSIS_SERVICE_H_
#define MONOROUTE_SERVICES_ANALYSIS_ANALYSIS_SERVICE_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/service/auth.h"
#include "monoroute/analysis/v1/analysis.grpc.pb.h"
#include "prometheus/counter.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "services/analysis/lru_cache.h"
#include "services/analysis/recorder_reader.h"
#include "services/analysis/run_analysis.h"
#include "services/analysis/vocab_resources.h"

namespace monoroute::analysis {

struct AnalysisServiceOptions {
  // Recorder to read runs from.
  RecorderReaderOptions recorder;
  // GPT-2 tokenizer directory for decoding top tokens ("" = build default, optional).
  std::string tokenizer_dir;
  // Lexicon or token-categories TSV for category specialisation ("" = none).
  std::string lexicon_path;
  // Cached results kept (least recently used evicted).
  size_t cache_entries = 32;
  // A run written to within this window is reported as still being written.
  std::chrono::milliseconds still_writing_window{60000};
  // Threads per analysis (0: hardware concurrency).
  int threads = 0;
  // Bearer token on Ablate (and, with auth.auth_reads, on every RPC); empty token: no check.
  AuthOptions auth;
  // Directories Ablate may read its checkpoint and text_file from (--allowed-root); empty:
  // Ablate is refused (PERMISSION_DENIED), the server reads no file a caller names.
  std::vector<std::string> allowed_roots;
};

// Thread-safe: the cache is mutex-protected, everything else immutable after Create.
class AnalysisServiceImpl final : public v1::Analysis::Service {
 public:
  // Loads the vocabulary resources (INVALID_ARGUMENT naming file and line for a malformed
  // lexicon) and registers the metrics in `registry` (not global; must outlive the service).
  static absl::StatusOr<std::unique_ptr<AnalysisServiceImpl>> Create(
      const AnalysisServiceOptions& options, std::shared_ptr<prometheus::Registry> registry);

  grpc::Status ComputeReport(grpc::ServerContext* ctx, const v1::ReportRequest* req,
                             v1::ReportResponse* resp) override;
  grpc::Status GetLayer(grpc::ServerContext* ctx, const v1::LayerRequest* req,
                        v1::LayerResponse* resp) override;
  grpc::Status GetPathway(grpc::ServerContext* ctx, const v1::PathwayRequest* req,
                          v1::PathwayResponse* resp) override;
  grpc::Status CompareRuns(grpc::ServerContext* ctx, const v1::CompareRunsRequest* req,
                           v1::CompareRunsResponse* resp) override;
  grpc::Status Ablate(grpc::ServerContext* ctx, const v1::AblateRequest* req,
                      v1::AblateResponse* resp) override;

  // Core of each RPC with absl statuses (used by the RPCs and by tests).
  absl::StatusOr<v1::ReportResponse> Report(const v1::ReportRequest& req);
  absl::StatusOr<v1::LayerResponse> Layer(const v1::LayerRequest& req);
  absl::StatusOr<v1::PathwayResponse> Pathway(const v1::PathwayRequest& req);
  absl::StatusOr<v1::CompareRunsResponse> Compare(const v1::CompareRunsRequest& req);

 private:
  // A cached analysis of one run (and, for reports, its rendered documents).
  struct Entry {
    RunAnalysis run;
    std::string json;
    std::string png;
  };
  struct Loaded {
    std::shared_ptr<const Entry> entry;
    bool cached = false;
  };

  AnalysisServiceImpl(const AnalysisServiceOptions& options, std::unique_ptr<RecorderReader> rec,
                      VocabResources vocab, std::shared_ptr<prometheus::Registry> registry);

  // Analyses a run (over-training ranges when `over_training`), through the cache.
  absl::StatusOr<Loaded> LoadRun(const std::string& run_id, const v1::Selection& sel,
                                 const AnalysisOptions& opts, const std::string& opts_key,
                                 bool over_training);
  // RESOURCE_EXHAUSTED with the numbers when the report would read or compute too much
  // (recorder totals of every layer and split read, before any event is read).
  absl::Status CheckWork(const RunInfo& info,
                         const std::vector<std::pair<std::string, std::string>>& controls,
                         const AnalysisOptions& opts) const;
  // One layer's events of `splits` in steps [lo, hi].
  absl::StatusOr<RoutingTable> ReadTable(const RunInfo& info, uint32_t layer,
                                         const std::vector<std::string>& splits, uint64_t lo,
                                         uint64_t hi, const AnalysisOptions& opts) const;
  // Every routed layer with its (name, split) controls.
  absl::StatusOr<std::vector<LayerInput>> ReadLayers(
      const RunInfo& info, const std::vector<std::pair<std::string, std::string>>& controls,
      uint64_t lo, uint64_t hi, const AnalysisOptions& opts) const;
  // The over-training summaries: every layer per step range, all ranges at the same events.
  absl::StatusOr<std::vector<StepRangeResult>> OverTraining(const RunInfo& info,
                                                            const RunContext& rc, uint64_t lo,
                                                            uint64_t hi,
                                                            const AnalysisOptions& opts) const;
  absl::StatusOr<RunAnalysis> ComputeRun(const recorder::v1::RunSummary& summary,
                                         const v1::Selection& sel, const AnalysisOptions& opts,
                                         bool over_training);
  v1::Freshness MakeFreshness(const RunInfo& info, bool cached) const;

  AnalysisServiceOptions options_;
  BearerAuth auth_;
  std::unique_ptr<RecorderReader> recorder_;
  VocabResources vocab_;
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Counter* reports_total_;
  prometheus::Counter* cache_hits_total_;
  prometheus::Histogram* compute_seconds_;

  // Computed reports by request key (options_.cache_entries of them).
  LruCache<Entry> cache_;
};

// Checks Ablate's checkpoint and text_file against `allowed_roots` (common/base/path_policy.h):
// PERMISSION_DENIED naming --allowed-root when there are no roots, and for a path outside every
// root with the same message whether or not it exists. Thread-safe.
absl::Status CheckAblatePaths(const v1::AblateRequest& req,
                              const std::vector<std::string>& allowed_roots);

// Runs a pathway ablation through the engine (ablate_rpc.cc), or UNIMPLEMENTED when the build has
// no engine (ablate_unavailable.cc). Callers check the paths first (CheckAblatePaths).
absl::StatusOr<v1::AblateResponse> RunAblate(const v1::AblateRequest& req);

}  // namespace monoroute::analysis

#endif  // MONOROUTE_SERVICES_ANALYSIS_ANALYSIS_SERVICE_H_
