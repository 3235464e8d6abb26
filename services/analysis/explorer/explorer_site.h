// The explorer as a set of pages and API documents, independent of the transport: a request path
// (and query) in, a response (code, type, body) out. The HTTP server (http_server.h) and the
// static export (clients/cli/cmd_svc_explore.cc) both use it; the data comes through the
// ExplorerData interface. No gRPC, no LibTorch, no HTTP library.
#ifndef MONOROUTE_SERVICES_ANALYSIS_EXPLORER_EXPLORER_SITE_H_
#define MONOROUTE_SERVICES_ANALYSIS_EXPLORER_EXPLORER_SITE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "services/analysis/explorer/layer_grid.h"
#include "services/analysis/explorer/pages.h"
#include "services/analysis/explorer/pathway_logits.h"
#include "services/analysis/explorer/pathway_profile.h"
#include "services/analysis/explorer/run_events.h"
#include "services/analysis/explorer/try_routing.h"
#include "services/analysis/lru_cache.h"

namespace monoroute::analysis::explorer {

// Where the explorer's data comes from. Implementations must be thread-safe (the HTTP server
// calls them from several threads).
class ExplorerData {
 public:
  virtual ~ExplorerData() = default;
  // Every run of the recorder.
  virtual absl::StatusOr<std::vector<RunListing>> ListRuns() = 0;
  // The run's raw events of `split` ("" = "valid" when the run has it, else its first split that
  // is not a control split). NOT_FOUND for an unknown run or split.
  virtual absl::StatusOr<std::shared_ptr<const RunEvents>> Events(const std::string& run_id,
                                                                  const std::string& split) = 0;
  // The analysis report document (ReportToJson's output) of the run's `split`.
  virtual absl::StatusOr<std::string> ReportJson(const std::string& run_id,
                                                 const std::string& split) = 0;
  // Routes `text` through the run's checkpoint (`checkpoint` overrides the run's "checkpoint"
  // label); PERMISSION_DENIED outside the allowed roots, UNIMPLEMENTED where unavailable.
  virtual absl::StatusOr<TryResult> Try(const std::string& run_id, const std::string& text,
                                        const std::string& checkpoint) = 0;
  // The logit tables of a pathway from `options.checkpoint` (ComputePathwayLogits);
  // PERMISSION_DENIED outside the allowed roots, UNIMPLEMENTED where unavailable (the default).
  virtual absl::StatusOr<PathwayLogits> Logits(const PathwayLogitsOptions& options) {
    (void)options;
    return absl::UnimplementedError("logits: this explorer reads no checkpoints");
  }
  // The stored ablation result of a pathway (the file AblationResultPath(checkpoint, layer,
  // pathway)); NOT_FOUND when none is stored, PERMISSION_DENIED outside the allowed roots,
  // UNIMPLEMENTED where unavailable (the default).
  virtual absl::StatusOr<std::string> AblationJson(const std::string& checkpoint, uint32_t layer,
                                                   uint32_t pathway) {
    (void)checkpoint;
    (void)layer;
    (void)pathway;
    return absl::UnimplementedError("ablation: this explorer reads no checkpoints");
  }
};

// A response of the site.
struct SiteResponse {
  int status = 200;
  std::string content_type = "text/html; charset=utf-8";
  std::string body;
  // Set for redirects (status 303).
  std::string location;
};

// HTTP status of an absl status code (INVALID_ARGUMENT 400, NOT_FOUND and OUT_OF_RANGE 404, ...).
int HttpStatusOf(const absl::Status& s);

// Routes requests to pages; caches the layer grids and pathway profiles it computed (keyed by
// run, split and the recorder watermark). Thread-safe.
class ExplorerSite {
 public:
  // `data` is not owned and must outlive the site.
  ExplorerSite(ExplorerData* data, Decoder decode, ExplorerOptions options,
               size_t cache_entries = 256);

  // GET `path` with decoded `query` parameters. Pages under /, the JSON API under /api/.
  SiteResponse Handle(const std::string& path, const std::map<std::string, std::string>& query);

  // The pieces of the static export (links relative, see SiteLinks::static_site).
  absl::StatusOr<std::string> OverviewPage(const RunEvents& run, const std::string& report_json,
                                           const SiteLinks& links);
  // The pathway page; its logit tables come from links.checkpoint (see Profile).
  absl::StatusOr<std::string> PathwayPage(const RunEvents& run, const std::string& report_json,
                                          uint32_t layer, uint32_t pathway, const SiteLinks& links);
  // The profile of one pathway (cached), with its logit tables computed from `checkpoint` (""
  // = the run's "checkpoint" label; none: logits.computed false). A failed logit computation
  // leaves the message in logits.note and is not cached. `top_contexts` > 0 overrides the
  // options' number of top contexts.
  absl::StatusOr<std::shared_ptr<const PathwayProfile>> Profile(const RunEvents& run,
                                                                uint32_t layer, uint32_t pathway,
                                                                const std::string& checkpoint = "",
                                                                int top_contexts = 0);

 private:
  SiteResponse Route(const std::vector<std::string>& parts, bool api,
                     const std::map<std::string, std::string>& query);
  SiteResponse Runs(bool api);
  SiteResponse Overview(const std::string& run, bool api, const SiteLinks& links);
  SiteResponse PathwayResponse(const std::string& run, const std::string& layer,
                               const std::string& pathway, bool api, const SiteLinks& links,
                               const std::map<std::string, std::string>& query);
  SiteResponse Compare(const std::string& run, const std::string& base, bool api,
                       const SiteLinks& links);
  SiteResponse TryResponse(const std::string& run, bool api,
                           const std::map<std::string, std::string>& query);
  OverviewInput MakeOverview(const RunEvents& run, const std::string& report_json,
                             std::string report_error, std::vector<LayerGrid> grids);
  std::vector<LayerGrid> Grids(const RunEvents& run);
  // The logit tables of `profile` from `checkpoint` (never an error: a failure is in .note).
  // The stored ablation result of `profile` beside `checkpoint` (never an error: why there is
  // none is in .note).
  PathwayAblation AblationOf(const PathwayProfile& profile, const std::string& checkpoint);
  PathwayLogits LogitsOf(const RunEvents& run, const PathwayProfile& profile,
                         const std::string& checkpoint);

  ExplorerData* data_;
  Decoder decode_;
  ExplorerOptions options_;
  // Computed profiles and grids (type-erased), least recently used evicted.
  LruCache<void> cache_;
};

}  // namespace monoroute::analysis::explorer

#endif  // MONOROUTE_SERVICES_ANALYSIS_EXPLORER_EXPLORER_SITE_H_
