// ExplorerSite: request routing, caching of grids and profiles, and the page/API responses.
#include "services/analysis/explorer/explorer_site.h"

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "services/analysis/explorer/explorer_json.h"
#include "services/analysis/explorer/report_view.h"

namespace monoroute::analysis::explorer {
namespace {

constexpr const char* kJson = "application/json";
// Largest ?top_contexts= of the pathway page and API.
constexpr int kMaxTopContexts = 1000;

SiteResponse Error(const absl::Status& s, bool api) {
  SiteResponse r;
  r.status = HttpStatusOf(s);
  if (api) {
    r.content_type = kJson;
    r.body = ErrorJson(r.status, std::string(s.message()));
  } else {
    r.body = RenderErrorPage(r.status, std::string(s.message()));
  }
  return r;
}

SiteResponse Ok(std::string body, bool api) {
  SiteResponse r;
  if (api) r.content_type = kJson;
  r.body = std::move(body);
  return r;
}

std::string Param(const std::map<std::string, std::string>& q, const std::string& k) {
  auto it = q.find(k);
  return it == q.end() ? "" : it->second;
}

absl::StatusOr<uint32_t> ParseIndex(const std::string& field, const std::string& s) {
  uint32_t v = 0;
  if (!absl::SimpleAtoi(s, &v)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": '", s.substr(0, 32), "' is not a non-negative integer"));
  }
  return v;
}

}  // namespace

int HttpStatusOf(const absl::Status& s) {
  // The status codes with an HTTP status of their own; any other code is 500.
  static constexpr std::pair<absl::StatusCode, int> kHttp[] = {
      {absl::StatusCode::kOk, 200},
      {absl::StatusCode::kInvalidArgument, 400},
      {absl::StatusCode::kNotFound, 404},
      {absl::StatusCode::kOutOfRange, 404},
      {absl::StatusCode::kPermissionDenied, 403},
      {absl::StatusCode::kUnauthenticated, 401},
      {absl::StatusCode::kFailedPrecondition, 409},
      {absl::StatusCode::kAlreadyExists, 409},
      {absl::StatusCode::kResourceExhausted, 413},
      {absl::StatusCode::kUnimplemented, 501},
      {absl::StatusCode::kUnavailable, 503},
      {absl::StatusCode::kDeadlineExceeded, 503},
  };
  for (const auto& [code, http] : kHttp) {
    if (s.code() == code) return http;
  }
  return 500;
}

ExplorerSite::ExplorerSite(ExplorerData* data, Decoder decode, ExplorerOptions options,
                           size_t cache_entries)
    : data_(data), decode_(std::move(decode)), options_(options), cache_(cache_entries) {}

absl::StatusOr<std::shared_ptr<const PathwayProfile>> ExplorerSite::Profile(
    const RunEvents& run, uint32_t layer, uint32_t pathway, const std::string& checkpoint,
    int top_contexts) {
  ExplorerOptions opts = options_;
  if (top_contexts > 0) opts.top_contexts = top_contexts;
  const std::string key = absl::StrCat("profile|", run.run_id, "|", run.split, "|", run.watermark,
                                       "|", layer, "|", pathway, "|", opts.top_contexts);
  std::shared_ptr<const PathwayProfile> base;
  if (auto hit = cache_.Get(key)) {
    base = std::static_pointer_cast<const PathwayProfile>(hit);
  } else {
    absl::StatusOr<PathwayProfile> p = BuildPathwayProfile(run, layer, pathway, decode_, opts);
    if (!p.ok()) return p.status();
    base = std::make_shared<const PathwayProfile>(*std::move(p));
    cache_.Put(key, base);
  }
  auto label = run.labels.find("checkpoint");
  const std::string ckpt =
      !checkpoint.empty() ? checkpoint : (label == run.labels.end() ? "" : label->second);
  if (ckpt.empty() || base->load == 0) return base;
  const std::string lkey = absl::StrCat(key, "|logits|", ckpt);
  std::shared_ptr<const PathwayProfile> with_logits;
  if (auto hit = cache_.Get(lkey)) {
    with_logits = std::static_pointer_cast<const PathwayProfile>(hit);
  } else {
    auto with = std::make_shared<PathwayProfile>(*base);
    with->logits = LogitsOf(run, *base, ckpt);
    if (with->logits.computed) cache_.Put(lkey, with);
    with_logits = std::move(with);
  }
  // The ablation result is read on every request: one may be stored at any time.
  auto with = std::make_shared<PathwayProfile>(*with_logits);
  with->ablation = AblationOf(*base, ckpt);
  return std::shared_ptr<const PathwayProfile>(std::move(with));
}

PathwayAblation ExplorerSite::AblationOf(const PathwayProfile& profile,
                                         const std::string& checkpoint) {
  PathwayAblation none;
  none.path = AblationResultPath(checkpoint, profile.layer, profile.pathway);
  absl::StatusOr<std::string> text =
      data_->AblationJson(checkpoint, profile.layer, profile.pathway);
  if (!text.ok()) {
    none.note = std::string(text.status().message());
    return none;
  }
  absl::StatusOr<PathwayAblation> a = ParseAblationJson(*text, profile.layer, profile.pathway);
  if (!a.ok()) {
    none.note = std::string(a.status().message());
    return none;
  }
  a->path = none.path;
  return *std::move(a);
}

PathwayLogits ExplorerSite::LogitsOf(const RunEvents& run, const PathwayProfile& profile,
                                     const std::string& checkpoint) {
  PathwayLogitsOptions o;
  o.checkpoint = checkpoint;
  o.layer = profile.layer;
  o.pathway = profile.pathway;
  o.top_n = options_.logit_top_n;
  std::vector<std::pair<uint64_t, uint32_t>> at;
  std::vector<float> gates;
  for (const Context& c : profile.top_contexts) {  // the first (highest-gate) 20 at most
    if (at.size() >= static_cast<size_t>(std::max(1, std::min(options_.top_contexts, 64)))) break;
    at.emplace_back(c.sequence_id, c.position);
    gates.push_back(c.gate);
  }
  if (const LayerEvents* L = run.Layer(profile.layer); L != nullptr) {
    o.contexts = LogitContextsOf(*L, at, gates, options_.logit_prefix_tokens);
  }
  absl::StatusOr<PathwayLogits> r = data_->Logits(o);
  if (!r.ok()) {
    PathwayLogits failed;
    failed.checkpoint = checkpoint;
    failed.note = std::string(r.status().message());
    return failed;
  }
  for (LogitEntry& e : r->raised) e.text = TokenText(decode_, e.token_id);
  for (LogitEntry& e : r->lowered) e.text = TokenText(decode_, e.token_id);
  return *std::move(r);
}

std::vector<LayerGrid> ExplorerSite::Grids(const RunEvents& run) {
  const std::string key = absl::StrCat("grids|", run.run_id, "|", run.split, "|", run.watermark);
  if (auto hit = cache_.Get(key)) {
    return *std::static_pointer_cast<const std::vector<LayerGrid>>(hit);
  }
  auto grids = std::make_shared<std::vector<LayerGrid>>();
  for (const LayerEvents& l : run.layers) {
    grids->push_back(BuildLayerGrid(l, decode_, 3, options_.min_token_count));
  }
  cache_.Put(key, grids);
  return *grids;
}

SiteResponse ExplorerSite::Handle(const std::string& path,
                                  const std::map<std::string, std::string>& query) {
  std::vector<std::string> parts = absl::StrSplit(path, '/', absl::SkipEmpty());
  const bool api = !parts.empty() && parts[0] == "api";
  if (api) parts.erase(parts.begin());
  return Route(parts, api, query);
}

SiteResponse ExplorerSite::Route(const std::vector<std::string>& p, bool api,
                                 const std::map<std::string, std::string>& query) {
  const std::string split = Param(query, "split");
  const SiteLinks links{p.size() >= 2 ? p[1] : "", false, split, Param(query, "checkpoint")};
  if (p.empty() || (api && p.size() == 1 && p[0] == "runs")) return Runs(api);
  if (p.size() == 1 && p[0] == "compare") {  // the overview's compare form
    SiteResponse r;
    r.status = 303;
    r.location = SiteLinks{Param(query, "run"), false, "", Param(query, "checkpoint")}.Compare(
        Param(query, "baseline"));
    return r;
  }
  if (p[0] != "runs" || p.size() < 2) {
    return Error(
        absl::NotFoundError(absl::StrCat("no page at /", api ? "api/" : "", absl::StrJoin(p, "/"))),
        api);
  }
  if (p.size() == 2) return Overview(p[1], api, links);
  if (p.size() == 6 && p[2] == "layers" && p[4] == "pathways") {
    return PathwayResponse(p[1], p[3], p[5], api, links, query);
  }
  if (p.size() == 4 && p[2] == "compare") return Compare(p[1], p[3], api, links);
  if (p.size() == 3 && p[2] == "try") return TryResponse(p[1], api, query);
  return Error(
      absl::NotFoundError(absl::StrCat("no page at /", api ? "api/" : "", absl::StrJoin(p, "/"))),
      api);
}

SiteResponse ExplorerSite::Runs(bool api) {
  absl::StatusOr<std::vector<RunListing>> runs = data_->ListRuns();
  if (!runs.ok()) return Error(runs.status(), api);
  return Ok(api ? RunsToJson(*runs) : RenderRunsPage(*runs), api);
}

OverviewInput ExplorerSite::MakeOverview(const RunEvents& run, const std::string& report_json,
                                         std::string report_error, std::vector<LayerGrid> grids) {
  OverviewInput in;
  in.run_id = run.run_id;
  in.split = run.split;
  in.labels = run.labels;
  in.events = run.TotalEvents();
  in.report_error = std::move(report_error);
  in.grids = std::move(grids);
  in.control_splits = run.ControlSplits();
  return in;
}

SiteResponse ExplorerSite::Overview(const std::string& run, bool api, const SiteLinks& links) {
  auto events = data_->Events(run, links.split);
  if (!events.ok()) return Error(events.status(), api);
  absl::StatusOr<std::string> report = data_->ReportJson(run, (*events)->split);
  OverviewInput in =
      MakeOverview(**events, report.ok() ? *report : "",
                   report.ok() ? "" : std::string(report.status().message()), Grids(**events));
  if (api) return Ok(OverviewToJson(in, report.ok() ? *report : ""), true);
  absl::StatusOr<ReportView> view =
      report.ok() ? ParseReportView(*report) : absl::StatusOr<ReportView>(report.status());
  if (view.ok()) in.report = &*view;
  if (!view.ok() && in.report_error.empty()) in.report_error = std::string(view.status().message());
  absl::StatusOr<std::vector<RunListing>> runs = data_->ListRuns();
  if (runs.ok()) {
    for (const RunListing& r : *runs) {
      if (r.run_id != run) in.other_runs.push_back(r.run_id);
    }
  }
  return Ok(RenderOverviewPage(in, links), false);
}

SiteResponse ExplorerSite::PathwayResponse(const std::string& run, const std::string& layer_s,
                                           const std::string& pathway_s, bool api,
                                           const SiteLinks& links,
                                           const std::map<std::string, std::string>& query) {
  absl::StatusOr<uint32_t> layer = ParseIndex("layer", layer_s);
  if (!layer.ok()) return Error(layer.status(), api);
  absl::StatusOr<uint32_t> pathway = ParseIndex("pathway", pathway_s);
  if (!pathway.ok()) return Error(pathway.status(), api);
  int top_contexts = 0;
  if (auto it = query.find("top_contexts"); it != query.end()) {
    if (!absl::SimpleAtoi(it->second, &top_contexts) || top_contexts < 1 ||
        top_contexts > kMaxTopContexts) {
      return Error(
          absl::InvalidArgumentError(absl::StrCat("top_contexts: '", it->second.substr(0, 32),
                                                  "' must be 1 to ", kMaxTopContexts)),
          api);
    }
  }
  auto events = data_->Events(run, links.split);
  if (!events.ok()) return Error(events.status(), api);
  auto profile = Profile(**events, *layer, *pathway, links.checkpoint, top_contexts);
  if (!profile.ok()) return Error(profile.status(), api);
  if (api) return Ok(ProfileToJson(**profile), true);
  absl::StatusOr<std::string> report = data_->ReportJson(run, (*events)->split);
  absl::StatusOr<std::string> page =
      PathwayPage(**events, report.ok() ? *report : "", *layer, *pathway, links);
  if (!page.ok()) return Error(page.status(), false);
  return Ok(*std::move(page), false);
}

absl::StatusOr<std::string> ExplorerSite::OverviewPage(const RunEvents& run,
                                                       const std::string& report_json,
                                                       const SiteLinks& links) {
  OverviewInput in =
      MakeOverview(run, report_json, report_json.empty() ? "not available" : "", Grids(run));
  absl::StatusOr<ReportView> view = ParseReportView(report_json);
  if (view.ok()) in.report = &*view;
  return RenderOverviewPage(in, links);
}

absl::StatusOr<std::string> ExplorerSite::PathwayPage(const RunEvents& run,
                                                      const std::string& report_json,
                                                      uint32_t layer, uint32_t pathway,
                                                      const SiteLinks& links) {
  auto profile = Profile(run, layer, pathway, links.checkpoint);
  if (!profile.ok()) return profile.status();
  absl::StatusOr<ReportView> view = ParseReportView(report_json);
  const PathwaySummaryView* row = nullptr;
  if (view.ok()) {
    if (const LayerView* L = view->Layer(layer); L != nullptr) {
      for (const PathwaySummaryView& s : L->pathways) {
        if (s.pathway == pathway) row = &s;
      }
    }
  }
  return RenderPathwayPage(**profile, row, run.ControlSplits(), links);
}

SiteResponse ExplorerSite::Compare(const std::string& run, const std::string& base, bool api,
                                   const SiteLinks& links) {
  absl::StatusOr<std::string> a = data_->ReportJson(run, links.split);
  if (!a.ok()) return Error(a.status(), api);
  absl::StatusOr<std::string> b = data_->ReportJson(base, links.split);
  if (!b.ok()) return Error(b.status(), api);
  if (api) {
    return Ok(absl::StrCat("{\"api_version\":", kExplorerApiVersion, ",\"run\":", *a,
                           ",\"baseline\":", *b, "}"),
              true);
  }
  absl::StatusOr<ReportView> va = ParseReportView(*a);
  if (!va.ok()) return Error(va.status(), false);
  absl::StatusOr<ReportView> vb = ParseReportView(*b);
  if (!vb.ok()) return Error(vb.status(), false);
  return Ok(RenderComparePage(*va, *vb, links), false);
}

SiteResponse ExplorerSite::TryResponse(const std::string& run, bool api,
                                       const std::map<std::string, std::string>& query) {
  const std::string text = Param(query, "text");
  const SiteLinks links{run, false, Param(query, "split"), Param(query, "checkpoint")};
  if (text.empty()) {
    if (api) return Error(absl::InvalidArgumentError("text: empty"), true);
    return Ok(RenderTryPage(run, "", nullptr, "", links), false);
  }
  absl::StatusOr<TryResult> r = data_->Try(run, text, Param(query, "checkpoint"));
  if (api) return r.ok() ? Ok(TryToJson(*r), true) : Error(r.status(), true);
  SiteResponse resp = Ok(RenderTryPage(run, text, r.ok() ? &*r : nullptr,
                                       r.ok() ? "" : std::string(r.status().message()), links),
                         false);
  if (!r.ok()) resp.status = HttpStatusOf(r.status());
  return resp;
}

}  // namespace monoroute::analysis::explorer
