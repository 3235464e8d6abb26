// AnalysisServiceImpl: auth and path checks, recorder reads -> analysis_core -> cache -> wire
// messages.
#include "services/analysis/analysis_service.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/base/bounded_text.h"
#include "common/base/path_policy.h"
#include "common/base/status_macros.h"
#include "common/service/grpc_status.h"
#include "common/service/metric_builders.h"
#include "services/analysis/proto_convert.h"
#include "services/analysis/report_json.h"
#include "services/analysis/report_png.h"
#include "services/analysis/router_saturation_reader.h"

namespace monoroute::analysis {
namespace {

std::string SelectionKey(const v1::Selection& s) {
  return absl::StrCat(s.split(), "|", s.min_step(), "|", s.max_step());
}

// Longest run id a recorder accepts (services/recorder/batch_validator.h).
constexpr size_t kMaxRunIdBytes = 128;

absl::Status CheckLayer(const RunInfo& info, uint32_t layer) {
  if (std::find(info.routed_layers.begin(), info.routed_layers.end(), layer) ==
      info.routed_layers.end()) {
    return absl::OutOfRangeError(
        absl::StrCat("layer ", layer, " is not a routed layer of run ", info.run_id,
                     " (routed layers: ", absl::StrJoin(info.routed_layers, ","), ")"));
  }
  return absl::OkStatus();
}

// One RPC: `auth` checked for `access` on `ctx`, then `run` (the core call) answers into *resp.
template <class Resp, class Run>
grpc::Status Answer(const BearerAuth& auth, const grpc::ServerContext& ctx, RpcAccess access,
                    Resp* resp, const Run& run) {
  if (absl::Status a = auth.Check(ctx, access); !a.ok()) return ToGrpcStatus(a);
  absl::StatusOr<Resp> r = run();
  if (!r.ok()) return ToGrpcStatus(r.status());
  *resp = *std::move(r);
  return grpc::Status::OK;
}

}  // namespace

AnalysisServiceImpl::AnalysisServiceImpl(const AnalysisServiceOptions& options,
                                         std::unique_ptr<RecorderReader> rec, VocabResources vocab,
                                         std::shared_ptr<prometheus::Registry> registry)
    : options_(options),
      auth_(options.auth),
      recorder_(std::move(rec)),
      vocab_(std::move(vocab)),
      registry_(std::move(registry)),
      cache_(options.cache_entries) {
  reports_total_ = &AddCounter(*registry_, "monoroute_analysis_reports_total",
                               "Analyses computed (cache misses)");
  cache_hits_total_ = &AddCounter(*registry_, "monoroute_analysis_cache_hits_total",
                                  "Requests answered from the cache");
  compute_seconds_ = &AddHistogram(
      *registry_, "monoroute_analysis_compute_seconds",
      "Seconds to compute an analysis (recorder reads included)",
      prometheus::Histogram::BucketBoundaries{0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30, 100});
}

absl::StatusOr<std::unique_ptr<AnalysisServiceImpl>> AnalysisServiceImpl::Create(
    const AnalysisServiceOptions& options, std::shared_ptr<prometheus::Registry> registry) {
  if (registry == nullptr) return absl::InvalidArgumentError("analysis service: null registry");
  ASSIGN_OR_RETURN(auto rec, RecorderReader::Create(options.recorder));
  ASSIGN_OR_RETURN(VocabResources vocab,
                   LoadVocabResources(options.tokenizer_dir, options.lexicon_path));
  return std::unique_ptr<AnalysisServiceImpl>(
      new AnalysisServiceImpl(options, std::move(rec), std::move(vocab), std::move(registry)));
}

v1::Freshness AnalysisServiceImpl::MakeFreshness(const RunInfo& info, bool cached) const {
  v1::Freshness f;
  f.set_watermark(info.watermark);
  f.set_events(info.events);
  f.set_first_write_unix_ms(info.first_write_unix_ms);
  f.set_last_write_unix_ms(info.last_write_unix_ms);
  const int64_t now_ms = absl::ToUnixMillis(absl::Now());
  f.set_finished(info.finished);
  f.set_still_writing(!info.finished && info.last_write_unix_ms > 0 &&
                      now_ms - info.last_write_unix_ms < options_.still_writing_window.count());
  f.set_cached(cached);
  return f;
}

absl::StatusOr<RunAnalysis> AnalysisServiceImpl::ComputeRun(const recorder::v1::RunSummary& summary,
                                                            const v1::Selection& sel,
                                                            const AnalysisOptions& opts,
                                                            bool over_training) {
  const auto& spec = summary.spec();
  RunAnalysis run;
  RunInfo& info = run.info;
  info.run_id = spec.run_id();
  info.labels.insert(spec.labels().begin(), spec.labels().end());
  info.routed_layers.assign(spec.routed_layers().begin(), spec.routed_layers().end());
  info.num_pathways = spec.num_pathways();
  info.top_k = spec.top_k();
  info.vocab_size = spec.vocab_size();
  info.split = sel.split();
  info.min_step = sel.min_step();
  info.max_step = sel.max_step();
  info.watermark = summary.watermark();
  info.events = summary.events();
  info.run_min_step = summary.min_step();
  info.run_max_step = summary.max_step();
  info.first_write_unix_ms = summary.first_write_unix_ms();
  info.last_write_unix_ms = summary.last_write_unix_ms();
  info.finished = summary.finished();
  info.still_writing = MakeFreshness(info, false).still_writing();
  const std::vector<std::string> run_splits(summary.splits().begin(), summary.splits().end());
  auto has_split = [&](const std::string& s) {
    return std::find(run_splits.begin(), run_splits.end(), s) != run_splits.end();
  };
  if (sel.split().empty()) {
    for (const std::string& s : run_splits) {
      // Checkpoint evaluations repeat the validation sequences: router saturation reads them.
      if (!IsControlSplit(s) && !CheckpointEvalStep(s)) info.splits_read.push_back(s);
    }
  } else if (has_split(sel.split())) {
    info.splits_read.push_back(sel.split());
  }
  // Controls recorded next to a single selected (non-control) split.
  std::vector<std::pair<std::string, std::string>> controls;  // (name, split)
  if (!sel.split().empty() && !IsControlSplit(sel.split())) {
    for (const char* c :
         {kFreshRoutersControl, kDenseSlicesControl, kTrainedTrunkFreshRoutersControl}) {
      const std::string cs = ControlSplit(sel.split(), c);
      if (has_split(cs)) controls.emplace_back(c, cs);
    }
  }
  RunContext rc;
  rc.vocab_size = info.vocab_size;
  rc.categories = vocab_.categories ? &*vocab_.categories : nullptr;
  rc.decode = vocab_.decode;
  if (sel.min_step() == 0 && sel.max_step() == 0) {
    RETURN_IF_ERROR(CheckWork(info, controls, opts));
  }
  ASSIGN_OR_RETURN(std::vector<LayerInput> layers,
                   ReadLayers(info, controls, sel.min_step(), sel.max_step(), opts));
  auto analysed = AnalyzeLayers(layers, rc, opts, &run.empty_layers, &run.replicates);
  if (!analysed.ok()) {
    if (analysed.status().code() == absl::StatusCode::kFailedPrecondition) {
      return absl::FailedPreconditionError(
          absl::StrCat("run ", info.run_id, " has no routings in the selection (split '",
                       sel.split(), "', steps ", sel.min_step(), "..",
                       sel.max_step() ? absl::StrCat(sel.max_step()) : "end", ")"));
    }
    return analysed.status();
  }
  run.layers = *std::move(analysed);
  const uint64_t lo = std::max(sel.min_step(), summary.min_step());
  const uint64_t hi =
      sel.max_step() ? std::min(sel.max_step(), summary.max_step()) : summary.max_step();
  if (over_training && opts.training_ranges > 0 && hi > lo) {
    ASSIGN_OR_RETURN(run.over_training, OverTraining(info, rc, lo, hi, opts));
  }
  if (over_training) {
    ASSIGN_OR_RETURN(run.router_saturation,
                     ReadRouterSaturation(*recorder_, info, run_splits, opts));
  }
  return run;
}

absl::Status AnalysisServiceImpl::CheckWork(
    const RunInfo& info, const std::vector<std::pair<std::string, std::string>>& controls,
    const AnalysisOptions& opts) const {
  uint64_t to_read = 0, largest = 0, tables = 0;
  for (uint32_t layer : info.routed_layers) {
    std::vector<std::string> splits = info.splits_read;
    for (const auto& c : controls) splits.push_back(c.second);
    for (const std::string& s : splits) {
      ASSIGN_OR_RETURN(uint64_t n, recorder_->LayerEvents(info.run_id, layer, s));
      to_read += n;
      largest = std::max(largest, n);
      ++tables;
    }
  }
  const uint64_t used =
      opts.estimand_events > 0 ? std::min(largest, opts.estimand_events) : largest;
  absl::Status s = CheckReportWork(to_read, tables, used, opts);
  if (!s.ok()) return absl::Status(s.code(), absl::StrCat("run ", info.run_id, ": ", s.message()));
  return absl::OkStatus();
}

absl::StatusOr<RoutingTable> AnalysisServiceImpl::ReadTable(const RunInfo& info, uint32_t layer,
                                                            const std::vector<std::string>& splits,
                                                            uint64_t lo, uint64_t hi,
                                                            const AnalysisOptions& opts) const {
  ASSIGN_OR_RETURN(RoutingTableBuilder b,
                   RoutingTableBuilder::Create(info.num_pathways, info.top_k));
  for (const std::string& s : splits) {
    RETURN_IF_ERROR(
        recorder_->ReadEvents(info.run_id, layer, s, lo, hi, opts.max_events_per_layer, &b));
  }
  return b.Build();
}

absl::StatusOr<std::vector<LayerInput>> AnalysisServiceImpl::ReadLayers(
    const RunInfo& info, const std::vector<std::pair<std::string, std::string>>& controls,
    uint64_t lo, uint64_t hi, const AnalysisOptions& opts) const {
  std::vector<LayerInput> layers;
  for (uint32_t layer : info.routed_layers) {
    LayerInput in;
    in.layer = layer;
    ASSIGN_OR_RETURN(in.table, ReadTable(info, layer, info.splits_read, lo, hi, opts));
    for (const auto& [name, split] : controls) {
      ControlInput c;
      c.name = name;
      c.split = split;
      ASSIGN_OR_RETURN(c.table, ReadTable(info, layer, {split}, lo, hi, opts));
      in.controls.push_back(std::move(c));
    }
    layers.push_back(std::move(in));
  }
  return layers;
}

absl::StatusOr<std::vector<StepRangeResult>> AnalysisServiceImpl::OverTraining(
    const RunInfo& info, const RunContext& rc, uint64_t lo, uint64_t hi,
    const AnalysisOptions& opts) const {
  AnalysisOptions range_opts = opts;
  range_opts.top_tokens = 3;
  range_opts.bootstrap = 0;
  range_opts.category_permutations = 0;
  range_opts.synthetic_controls = false;
  RunContext range_rc = rc;
  range_rc.summary_only = true;
  // Every range of a layer is analysed at the same events: the smallest range's (fixed N).
  std::vector<std::pair<std::pair<uint64_t, uint64_t>, std::vector<LayerInput>>> ranges;
  for (const auto& [a, b] : StepRanges(lo, hi, opts.training_ranges)) {
    ASSIGN_OR_RETURN(std::vector<LayerInput> rl, ReadLayers(info, {}, a, b, opts));
    for (const LayerInput& in : rl) {
      if (in.table.events() == 0) continue;
      const uint64_t n = EventsUsed(in, range_opts);
      auto [it, fresh] = range_rc.events_used.try_emplace(in.layer, n);
      if (!fresh) it->second = std::min(it->second, n);
    }
    ranges.push_back({{a, b}, std::move(rl)});
  }
  std::vector<StepRangeResult> out;
  for (const auto& [range, rl] : ranges) {
    std::vector<uint32_t> empty;
    auto r = AnalyzeLayers(rl, range_rc, range_opts, &empty, nullptr);
    if (!r.ok()) continue;  // a range without routings
    out.push_back({range.first, range.second, *std::move(r)});
  }
  return out;
}

absl::StatusOr<AnalysisServiceImpl::Loaded> AnalysisServiceImpl::LoadRun(
    const std::string& run_id, const v1::Selection& sel, const AnalysisOptions& opts,
    const std::string& opts_key, bool over_training) {
  if (run_id.empty()) return absl::InvalidArgumentError("run_id is empty");
  if (run_id.size() > kMaxRunIdBytes) {  // no recorder run has such an id
    return absl::InvalidArgumentError(absl::StrCat("run_id '", BoundedText(run_id),
                                                   "' is longer than ", kMaxRunIdBytes, " bytes"));
  }
  ASSIGN_OR_RETURN(recorder::v1::RunSummary summary, recorder_->GetRun(run_id));
  if (summary.events() == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("run ", run_id, " has no events yet (watermark ", summary.watermark(), ")"));
  }
  const std::string key =
      absl::StrCat("run|", run_id, "|", summary.watermark(), "|", summary.finished(), "|",
                   SelectionKey(sel), "|", opts_key, "|", over_training);
  if (auto hit = cache_.Get(key)) {
    cache_hits_total_->Increment();
    return Loaded{hit, true};
  }
  const absl::Time start = absl::Now();
  ASSIGN_OR_RETURN(RunAnalysis run, ComputeRun(summary, sel, opts, over_training));
  compute_seconds_->Observe(absl::ToDoubleSeconds(absl::Now() - start));
  reports_total_->Increment();
  auto entry = std::make_shared<Entry>();
  entry->run = std::move(run);
  std::shared_ptr<const Entry> value = entry;
  cache_.Put(key, value);
  return Loaded{value, false};
}

absl::StatusOr<v1::ReportResponse> AnalysisServiceImpl::Report(const v1::ReportRequest& req) {
  const absl::Time start = absl::Now();
  ASSIGN_OR_RETURN(AnalysisOptions opts, OptionsFromProto(req.options(), options_.threads));
  v1::AnalysisOptions key_opts = req.options();
  key_opts.set_skip_png(false);
  const std::string opts_key = key_opts.SerializeAsString();
  ASSIGN_OR_RETURN(Loaded run, LoadRun(req.run_id(), req.selection(), opts, opts_key, true));
  Loaded base;
  if (!req.baseline_run_id().empty()) {
    ASSIGN_OR_RETURN(base, LoadRun(req.baseline_run_id(), req.selection(), opts, opts_key, false));
  }
  // The rendered documents are cached per (run entry, baseline entry).
  const std::string doc_key = absl::StrCat(
      "doc|", req.run_id(), "|", run.entry->run.info.watermark, "|", run.entry->run.info.finished,
      "|", req.baseline_run_id(), "|", base.entry ? base.entry->run.info.watermark : 0, "|",
      SelectionKey(req.selection()), "|", opts_key, "|", req.options().skip_png());
  std::shared_ptr<const Entry> doc = cache_.Get(doc_key);
  bool cached = doc != nullptr && run.cached;
  if (doc == nullptr) {
    auto e = std::make_shared<Entry>();
    e->run = run.entry->run;
    const RunAnalysis* b = base.entry ? &base.entry->run : nullptr;
    e->json = ReportToJson(e->run, b, opts, absl::ToUnixMillis(absl::Now()));
    if (!req.options().skip_png()) {
      ASSIGN_OR_RETURN(e->png, RenderReportPng(e->run, b, &opts));
    }
    doc = e;
    cache_.Put(doc_key, doc);
  } else if (!run.cached) {
    cache_hits_total_->Increment();
  }
  v1::ReportResponse resp;
  resp.set_json(doc->json);
  resp.set_png(doc->png);
  *resp.mutable_freshness() = MakeFreshness(doc->run.info, cached);
  for (const auto& L : doc->run.layers) ToProto(L, resp.add_layers());
  ToProto(doc->run.router_saturation, &resp);
  resp.set_compute_seconds(absl::ToDoubleSeconds(absl::Now() - start));
  return resp;
}

absl::StatusOr<v1::LayerResponse> AnalysisServiceImpl::Layer(const v1::LayerRequest& req) {
  ASSIGN_OR_RETURN(AnalysisOptions opts, OptionsFromProto(req.options(), options_.threads));
  ASSIGN_OR_RETURN(Loaded run, LoadRun(req.run_id(), req.selection(), opts,
                                       req.options().SerializeAsString(), false));
  const RunAnalysis& r = run.entry->run;
  RETURN_IF_ERROR(CheckLayer(r.info, req.layer()));
  for (const auto& L : r.layers) {
    if (L.layer != req.layer()) continue;
    v1::LayerResponse resp;
    ToProto(L, resp.mutable_summary());
    for (const auto& p : L.pathways) ToProto(p, resp.add_pathways());
    *resp.mutable_freshness() = MakeFreshness(r.info, run.cached);
    return resp;
  }
  return absl::FailedPreconditionError(absl::StrCat("layer ", req.layer(), " of run ", req.run_id(),
                                                    " has no routings in the selection"));
}

absl::StatusOr<v1::PathwayResponse> AnalysisServiceImpl::Pathway(const v1::PathwayRequest& req) {
  v1::LayerRequest lr;
  lr.set_run_id(req.run_id());
  lr.set_layer(req.layer());
  *lr.mutable_selection() = req.selection();
  *lr.mutable_options() = req.options();
  ASSIGN_OR_RETURN(v1::LayerResponse layer, Layer(lr));
  if (req.pathway() >= static_cast<uint32_t>(layer.pathways_size())) {
    return absl::OutOfRangeError(absl::StrCat("pathway ", req.pathway(), " out of range: run ",
                                              req.run_id(), " has ", layer.pathways_size(),
                                              " pathways per layer"));
  }
  v1::PathwayResponse resp;
  *resp.mutable_pathway() = layer.pathways(static_cast<int>(req.pathway()));
  *resp.mutable_freshness() = layer.freshness();
  return resp;
}

absl::StatusOr<v1::CompareRunsResponse> AnalysisServiceImpl::Compare(
    const v1::CompareRunsRequest& req) {
  if (req.baseline_run_id().empty()) {
    return absl::InvalidArgumentError("baseline_run_id is empty");
  }
  ASSIGN_OR_RETURN(AnalysisOptions opts, OptionsFromProto(req.options(), options_.threads));
  const std::string opts_key = req.options().SerializeAsString();
  ASSIGN_OR_RETURN(Loaded run, LoadRun(req.run_id(), req.selection(), opts, opts_key, false));
  ASSIGN_OR_RETURN(Loaded base,
                   LoadRun(req.baseline_run_id(), req.selection(), opts, opts_key, false));
  v1::CompareRunsResponse resp;
  const auto rows = analysis::CompareRuns(run.entry->run, base.entry->run, opts);
  for (const auto& [layer, cmp] : rows) {
    auto* c = resp.add_layers();
    c->set_layer(layer);
    for (const auto& L : run.entry->run.layers) {
      if (L.layer == layer) ToProto(L, c->mutable_run());
    }
    for (const auto& B : base.entry->run.layers) {
      if (B.layer == layer) ToProto(B, c->mutable_baseline());
    }
    ToProto(cmp, c->mutable_comparison());
  }
  resp.set_json(ComparisonToJson(run.entry->run, base.entry->run, rows));
  *resp.mutable_run_freshness() = MakeFreshness(run.entry->run.info, run.cached);
  *resp.mutable_baseline_freshness() = MakeFreshness(base.entry->run.info, base.cached);
  return resp;
}

absl::Status CheckAblatePaths(const v1::AblateRequest& req,
                              const std::vector<std::string>& allowed_roots) {
  if (req.checkpoint().empty()) return absl::InvalidArgumentError("Ablate: checkpoint is empty");
  if (req.text_file().empty()) return absl::InvalidArgumentError("Ablate: text_file is empty");
  if (allowed_roots.empty()) {
    return absl::PermissionDeniedError(
        "Ablate: this analysis server reads no files: start it with --allowed-root DIR "
        "(repeatable) to allow checkpoints and texts under DIR");
  }
  RETURN_IF_ERROR(CheckPathAllowed("Ablate: checkpoint", req.checkpoint(), allowed_roots));
  return CheckPathAllowed("Ablate: text_file", req.text_file(), allowed_roots);
}

grpc::Status AnalysisServiceImpl::ComputeReport(grpc::ServerContext* ctx,
                                                const v1::ReportRequest* req,
                                                v1::ReportResponse* resp) {
  return Answer(auth_, *ctx, RpcAccess::kRead, resp, [&] { return Report(*req); });
}

grpc::Status AnalysisServiceImpl::GetLayer(grpc::ServerContext* ctx, const v1::LayerRequest* req,
                                           v1::LayerResponse* resp) {
  return Answer(auth_, *ctx, RpcAccess::kRead, resp, [&] { return Layer(*req); });
}

grpc::Status AnalysisServiceImpl::GetPathway(grpc::ServerContext* ctx,
                                             const v1::PathwayRequest* req,
                                             v1::PathwayResponse* resp) {
  return Answer(auth_, *ctx, RpcAccess::kRead, resp, [&] { return Pathway(*req); });
}

grpc::Status AnalysisServiceImpl::CompareRuns(grpc::ServerContext* ctx,
                                              const v1::CompareRunsRequest* req,
                                              v1::CompareRunsResponse* resp) {
  return Answer(auth_, *ctx, RpcAccess::kRead, resp, [&] { return Compare(*req); });
}

grpc::Status AnalysisServiceImpl::Ablate(grpc::ServerContext* ctx, const v1::AblateRequest* req,
                                         v1::AblateResponse* resp) {
  return Answer(auth_, *ctx, RpcAccess::kWrite, resp, [&]() -> absl::StatusOr<v1::AblateResponse> {
    RETURN_IF_ERROR(CheckAblatePaths(*req, options_.allowed_roots));
    return RunAblate(*req);
  });
}

}  // namespace monoroute::analysis
