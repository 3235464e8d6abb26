// AnalyzeLayers (a small thread pool over layers; each layer with its recorded and synthetic
// controls at one fixed number of events), CompareRuns, StepRanges, the report work estimate.
#include "services/analysis/run_analysis.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "services/analysis/synthetic_routing.h"

namespace monoroute::analysis {

std::string ControlSplit(const std::string& split, const std::string& control) {
  return absl::StrCat(split, "/", control);
}

bool IsControlSplit(const std::string& split) { return absl::StrContains(split, "/"); }

uint64_t EventsUsed(const LayerInput& layer, const AnalysisOptions& o) {
  uint64_t n = layer.table.events();
  for (const ControlInput& c : layer.controls) {
    if (c.table.events() > 0) n = std::min<uint64_t>(n, c.table.events());
  }
  return o.estimand_events > 0 ? std::min(n, o.estimand_events) : n;
}

double PassesPerEvent(const AnalysisOptions& o) {
  const double keys = o.sources ? kNumSourceKeys : 1;
  return keys * (1.0 + o.null_replicates + 2.0 * o.bootstrap);
}

absl::Status CheckReportWork(uint64_t events_to_read, uint64_t tables, uint64_t events_used,
                             const AnalysisOptions& o) {
  if (events_to_read > o.max_report_events) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "report would read ", events_to_read,
        " events (every routed layer, split and control "
        "split), more than the limit of ",
        o.max_report_events,
        " (options.max_report_events): narrow the selection with a split (--split) or a step "
        "range (--min-step/--max-step)"));
  }
  const double work =
      static_cast<double>(tables) * static_cast<double>(events_used) * PassesPerEvent(o);
  if (work > o.max_report_work) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "report would cost ", absl::SixDigits(work), " event passes (", tables, " tables x ",
        events_used, " events used x ", PassesPerEvent(o), " passes), more than the limit of ",
        absl::SixDigits(o.max_report_work),
        " (options.max_report_work): lower --bootstrap or options.estimand_events, or narrow the "
        "selection"));
  }
  return absl::OkStatus();
}

namespace {

// The layer's tables at the same sequences: those every table has, at most `n` events of the
// trained table (the fixed-N estimand). `storage` holds the selected tables; returns pointers to
// them, or to the inputs when nothing needs selecting. [0] is the trained table.
std::vector<const RoutingTable*> AtSameSequences(const LayerInput& in, uint64_t n,
                                                 std::vector<RoutingTable>* storage) {
  std::vector<const RoutingTable*> tables = {&in.table}, others;
  for (const ControlInput& c : in.controls) {
    if (c.table.events() == 0) continue;
    tables.push_back(&c.table);
    others.push_back(&c.table);
  }
  bool same = in.table.events() <= n;
  for (const RoutingTable* o : others) {
    same = same && o->events() == in.table.events() && o->block_key == in.table.block_key;
  }
  if (same) return tables;
  const std::vector<uint64_t> keys = SharedSequenceKeys(in.table, others, n);
  storage->resize(tables.size());
  for (size_t i = 0; i < tables.size(); ++i) {
    (*storage)[i] = SelectSequences(*tables[i], keys);
    tables[i] = &(*storage)[i];
  }
  return tables;
}

// Analyses one control table and adds it to `trained`.
// ctx.source_groups is used only when `same_keys` (`table` has the trained table's events and
// keys: a HashRouting of it).
absl::Status AddControl(const std::string& name, const std::string& split,
                        const RoutingTable& table, uint64_t events_read, const LayerContext& ctx,
                        const AnalysisOptions& o, const LayerReplicates& trained_reps,
                        LayerResult* trained, bool same_keys = false) {
  LayerContext cctx = ctx;
  cctx.summary_only = true;
  cctx.events_read = events_read;
  if (!same_keys) cctx.source_groups = nullptr;
  LayerReplicates crep;
  ASSIGN_OR_RETURN(LayerResult cr, AnalyzeLayer(table, cctx, o, &crep));
  CompareWithControl(name, split, cr, crep, trained_reps, o, trained);
  return absl::OkStatus();
}

// One layer with its recorded controls (at the same events) and the synthetic controls.
absl::StatusOr<LayerResult> AnalyzeOne(const LayerInput& in, const RunContext& rc,
                                       const AnalysisOptions& o, LayerReplicates* reps) {
  LayerContext ctx;
  ctx.layer = in.layer;
  ctx.vocab_size = rc.vocab_size;
  ctx.categories = rc.categories;
  ctx.decode = rc.decode;
  ctx.summary_only = rc.summary_only;
  ctx.events_read = in.table.events();
  auto cap = rc.events_used.find(in.layer);
  const uint64_t n = cap != rc.events_used.end() ? cap->second : EventsUsed(in, o);
  std::vector<RoutingTable> storage;
  const std::vector<const RoutingTable*> tables = AtSameSequences(in, n, &storage);
  const RoutingTable& table = *tables[0];
  // One source layout for the table and its synthetic controls (same events and keys).
  const SourceGroups groups = MakeSourceGroups(table, o.sources);
  ctx.source_groups = &groups;
  ASSIGN_OR_RETURN(LayerResult result, AnalyzeLayer(table, ctx, o, reps));
  size_t next = 1;
  for (const ControlInput& c : in.controls) {
    if (c.table.events() == 0) continue;
    RETURN_IF_ERROR(
        AddControl(c.name, c.split, *tables[next++], c.table.events(), ctx, o, *reps, &result));
  }
  if (o.synthetic_controls && !rc.summary_only) {
    // Sanity controls without a bootstrap and with at most 4 null replicates: their verdicts and
    // excesses, not paired intervals.
    AnalysisOptions so = o;
    so.bootstrap = 0;
    so.null_replicates = std::min(o.null_replicates, 4);
    so.category_permutations = 0;
    for (int source : {kCurrentToken, kPreviousToken}) {
      const RoutingTable hashed = HashRouting(table, source, o.seed);
      RETURN_IF_ERROR(
          AddControl(source == kCurrentToken ? kHashCurrentControl : kHashPreviousControl, "",
                     hashed, table.events(), ctx, so, *reps, &result, true));
    }
  }
  return result;
}

}  // namespace

absl::StatusOr<std::vector<LayerResult>> AnalyzeLayers(const std::vector<LayerInput>& layers,
                                                       const RunContext& rc,
                                                       const AnalysisOptions& options,
                                                       std::vector<uint32_t>* empty_layers,
                                                       std::vector<LayerReplicates>* replicates) {
  std::vector<absl::StatusOr<LayerResult>> results(layers.size(),
                                                   absl::UnknownError("not computed"));
  std::vector<LayerReplicates> reps(layers.size());
  std::atomic<size_t> next{0};
  auto work = [&]() {
    for (size_t i = next++; i < layers.size(); i = next++) {
      if (layers[i].table.events() == 0) continue;
      results[i] = AnalyzeOne(layers[i], rc, options, &reps[i]);
      if (results[i].ok() && !rc.summary_only && i + 1 < layers.size() &&
          layers[i + 1].table.events() > 0) {
        results[i]->cross_layer = MeasureCrossLayer(layers[i].table, layers[i + 1].table,
                                                    layers[i].layer, layers[i + 1].layer, options);
      }
    }
  };
  int threads =
      options.threads > 0 ? options.threads : static_cast<int>(std::thread::hardware_concurrency());
  threads = std::clamp<int>(threads, 1, std::max<int>(1, static_cast<int>(layers.size())));
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  std::vector<LayerResult> out;
  if (empty_layers) empty_layers->clear();
  if (replicates) replicates->clear();
  for (size_t i = 0; i < layers.size(); ++i) {
    if (layers[i].table.events() == 0) {
      if (empty_layers) empty_layers->push_back(layers[i].layer);
      continue;
    }
    if (!results[i].ok()) return results[i].status();
    out.push_back(*std::move(results[i]));
    if (replicates) replicates->push_back(std::move(reps[i]));
  }
  if (out.empty()) {
    return absl::FailedPreconditionError("no routed layer has routings in the selection");
  }
  return out;
}

std::vector<std::pair<uint32_t, ControlComparison>> CompareRuns(const RunAnalysis& run,
                                                                const RunAnalysis& baseline,
                                                                const AnalysisOptions& options) {
  std::vector<std::pair<uint32_t, ControlComparison>> out;
  static const LayerReplicates kNone;
  for (size_t i = 0; i < run.layers.size(); ++i) {
    for (size_t j = 0; j < baseline.layers.size(); ++j) {
      if (baseline.layers[j].layer != run.layers[i].layer) continue;
      LayerResult copy = run.layers[i];
      copy.controls.clear();
      CompareWithControl("baseline", baseline.info.run_id, baseline.layers[j],
                         j < baseline.replicates.size() ? baseline.replicates[j] : kNone,
                         i < run.replicates.size() ? run.replicates[i] : kNone, options, &copy);
      out.emplace_back(run.layers[i].layer, copy.controls.front());
    }
  }
  return out;
}

std::vector<std::pair<uint64_t, uint64_t>> StepRanges(uint64_t min_step, uint64_t max_step, int n) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  if (n <= 0 || max_step < min_step) return out;
  const uint64_t span = max_step - min_step + 1;
  const uint64_t parts = std::min<uint64_t>(static_cast<uint64_t>(n), span);
  for (uint64_t i = 0; i < parts; ++i) {
    const uint64_t lo = min_step + span * i / parts;
    const uint64_t hi = min_step + span * (i + 1) / parts - 1;
    out.emplace_back(lo, hi);
  }
  return out;
}

}  // namespace monoroute::analysis
