// The explorer's pages as server-rendered HTML (inline CSS and SVG, no script, no request to any
// other host): the runs list, a run's overview, the pathway page, two runs side by side, "try",
// login and errors. The same functions render the service's pages and the static export; only
// SiteLinks differs. Pure functions; thread-safe.
#ifndef MONOROUTE_SERVICES_ANALYSIS_EXPLORER_PAGES_H_
#define MONOROUTE_SERVICES_ANALYSIS_EXPLORER_PAGES_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "services/analysis/explorer/layer_grid.h"
#include "services/analysis/explorer/pathway_profile.h"
#include "services/analysis/explorer/report_view.h"
#include "services/analysis/explorer/try_routing.h"

namespace monoroute::analysis::explorer {

// How pages link to each other: the service's paths (/runs/RUN/...) or, for the static export,
// relative file names (index.html, layer0_pathway5.html).
struct SiteLinks {
  std::string run_id;
  // Relative file links of the static export (no runs list, no try page, no compare).
  bool static_site = false;
  // A split other than the run's default, carried in every link ("" = the default).
  std::string split;
  // A checkpoint directory for "try" and the logit tables, carried in every link of the service
  // ("" = the run's "checkpoint" label).
  std::string checkpoint;

  std::string Runs() const;
  std::string Overview() const;
  std::string Pathway(uint32_t layer, uint32_t pathway) const;
  // The same pathway in another split (e.g. a control split); "" in the static export.
  std::string PathwayInSplit(uint32_t layer, uint32_t pathway, const std::string& split) const;
  std::string Try() const;
  // "?split=..&checkpoint=.." for `split` and this checkpoint ("" when both are empty).
  std::string Query(const std::string& split) const;
  std::string Compare(const std::string& baseline_run) const;
  // File name of a pathway page in the static export.
  static std::string PathwayFile(uint32_t layer, uint32_t pathway);
};

// One run in the runs list.
struct RunListing {
  std::string run_id;
  std::map<std::string, std::string> labels;
  uint64_t events = 0;
  std::vector<std::string> splits;
  bool finished = false;
  bool still_writing = false;
  int64_t last_write_unix_ms = 0;
  // The report's headline when a report of the run is cached ("" otherwise).
  std::string headline;
};

// What the overview page shows.
struct OverviewInput {
  std::string run_id;
  std::string split;
  std::map<std::string, std::string> labels;
  uint64_t events = 0;
  // The report view (null when the report failed; then report_error says why).
  const ReportView* report = nullptr;
  std::string report_error;
  std::vector<LayerGrid> grids;
  // Control splits recorded beside `split` (links to the same pages in the controls).
  std::vector<std::string> control_splits;
  // Other runs (for the compare form).
  std::vector<std::string> other_runs;
};

// Tooltip text of a measure (by the report's or the explorer's name), naming docs/analysis.md.
std::string MeasureTip(const std::string& measure);

std::string RenderRunsPage(const std::vector<RunListing>& runs);
std::string RenderOverviewPage(const OverviewInput& in, const SiteLinks& links);
// `report_row` (may be null) adds the report's verdict on the pathway; `control_splits` the links
// to the same pathway in the controls.
std::string RenderPathwayPage(const PathwayProfile& p, const PathwaySummaryView* report_row,
                              const std::vector<std::string>& control_splits,
                              const SiteLinks& links);
std::string RenderComparePage(const ReportView& run, const ReportView& baseline,
                              const SiteLinks& links);
// `result` null: only the form (with `error` when not empty).
std::string RenderTryPage(const std::string& run_id, const std::string& text,
                          const TryResult* result, const std::string& error,
                          const SiteLinks& links);
// The token form; `failed` after a wrong token. `next` is where to go after logging in.
std::string RenderLoginPage(const std::string& next, bool failed);
std::string RenderErrorPage(int http_code, const std::string& message);

}  // namespace monoroute::analysis::explorer

#endif  // MONOROUTE_SERVICES_ANALYSIS_EXPLORER_PAGES_H_
