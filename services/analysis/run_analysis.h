// A run's analysis: every routed layer (in parallel) with its controls, the over-training step
// ranges, and the run metadata the report prints. No gRPC, no LibTorch.
#ifndef MONOROUTE_SERVICES_ANALYSIS_RUN_ANALYSIS_H_
#define MONOROUTE_SERVICES_ANALYSIS_RUN_ANALYSIS_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "services/analysis/layer_analysis.h"
#include "services/analysis/router_saturation.h"
#include "services/analysis/routing_table.h"

namespace monoroute::analysis {

// Control splits recorded next to an evaluation split S: "S/fresh_routers" (the same sequences
// routed by the fresh, centred, untrained routers at step 0), "S/dense_slices" (the dense
// model's neuron slices ranked by activation norm, top-k as pseudo-routing) and
// "S/trained_trunk_fresh_routers" (those fresh routers, centred, on the trained trunk: what the
// routers learned apart from the trunk).
inline constexpr const char* kFreshRoutersControl = "fresh_routers";
inline constexpr const char* kDenseSlicesControl = "dense_slices";
inline constexpr const char* kTrainedTrunkFreshRoutersControl = "trained_trunk_fresh_routers";
// Synthetic controls the analysis builds from any split's events (same tokens and sequences):
// routing by a hash of the current token (a positive control: pure current-token routing) and by
// a hash of the previous token (a negative control for current-token attribution).
inline constexpr const char* kHashCurrentControl = "hash_current_token";
inline constexpr const char* kHashPreviousControl = "hash_previous_token";
// The control split of `split` for `control`, and whether a split name is a control split.
std::string ControlSplit(const std::string& split, const std::string& control);
bool IsControlSplit(const std::string& split);

// What the report says about the run and the data it was computed from.
struct RunInfo {
  std::string run_id;
  std::map<std::string, std::string> labels;
  std::vector<uint32_t> routed_layers;
  uint32_t num_pathways = 0;
  uint32_t top_k = 0;
  uint32_t vocab_size = 0;
  // Selection the events were read with (max_step 0 = no bound) and the splits it covered.
  std::string split;
  uint64_t min_step = 0;
  uint64_t max_step = 0;
  std::vector<std::string> splits_read;
  // Recorder state the result reflects.
  uint64_t watermark = 0;
  uint64_t events = 0;
  uint64_t run_min_step = 0;
  uint64_t run_max_step = 0;
  int64_t first_write_unix_ms = 0;
  int64_t last_write_unix_ms = 0;
  // The writer declared the run complete (recorder FinishRun); else still_writing tells whether
  // it was written to recently.
  bool finished = false;
  bool still_writing = false;
};

// One control's events of a layer.
struct ControlInput {
  std::string name;   // kFreshRoutersControl or kDenseSlicesControl
  std::string split;  // the recorder split it was read from
  RoutingTable table;
};

// One routed layer's events, with its controls.
struct LayerInput {
  uint32_t layer = 0;
  RoutingTable table;
  std::vector<ControlInput> controls;
};

// Summaries of every layer over one step range.
struct StepRangeResult {
  uint64_t min_step = 0;
  uint64_t max_step = 0;
  std::vector<LayerResult> layers;
};

// Everything computed for one run.
struct RunAnalysis {
  RunInfo info;
  std::vector<LayerResult> layers;     // layers with routings, in routed-layer order
  std::vector<uint32_t> empty_layers;  // routed layers without routings in the selection
  std::vector<StepRangeResult> over_training;
  // Router saturation per checkpoint evaluation ("eval@step<N>" splits), against the last one
  // (router_saturation.h); empty when the run has none.
  std::vector<SaturationPoint> router_saturation;
  // Kept to compare this run with another one (CompareRuns); one per entry of `layers`.
  std::vector<LayerReplicates> replicates;
};

// What every layer shares.
struct RunContext {
  uint32_t vocab_size = 50257;
  const CategoryMap* categories = nullptr;  // not owned, may be null
  TokenDecoder decode;
  bool summary_only = false;
  // Per layer: the events every table of the layer is subsampled to (the fixed-N estimand shared
  // by step ranges); a layer not listed uses the smallest of its table, its controls and
  // options.estimand_events.
  std::map<uint32_t, uint64_t> events_used;
};

// The events a layer's tables are analysed at: the smallest of the table's, its recorded
// controls' and options.estimand_events (0: no cap).
uint64_t EventsUsed(const LayerInput& layer, const AnalysisOptions& options);

// The counting passes over events a report costs per event used (observed, null replicates,
// bootstrap pairs, times the source keys), for EstimateReportWork.
double PassesPerEvent(const AnalysisOptions& options);

// RESOURCE_EXHAUSTED, with the numbers and how to narrow the selection, when reading
// `events_to_read` events or analysing `tables` tables of at most `events_used` events each would
// exceed options.max_report_events / max_report_work.
absl::Status CheckReportWork(uint64_t events_to_read, uint64_t tables, uint64_t events_used,
                             const AnalysisOptions& options);

// Analyses `layers` (and their controls) with up to options.threads threads. Layers without
// events are skipped and listed in `*empty_layers` (may be null); FAILED_PRECONDITION when every
// layer is empty. `replicates` (may be null) receives each analysed layer's bootstrap replicates.
absl::StatusOr<std::vector<LayerResult>> AnalyzeLayers(const std::vector<LayerInput>& layers,
                                                       const RunContext& context,
                                                       const AnalysisOptions& options,
                                                       std::vector<uint32_t>* empty_layers,
                                                       std::vector<LayerReplicates>* replicates);

// Compares every layer of `run` with the same layer of `baseline` (e.g. routed vs dense, GLBL vs
// no balancing): one ControlComparison per shared layer, control name "baseline", split =
// the baseline's run id. Sequences with equal ids are paired in the bootstrap; others resample
// independently.
std::vector<std::pair<uint32_t, ControlComparison>> CompareRuns(const RunAnalysis& run,
                                                                const RunAnalysis& baseline,
                                                                const AnalysisOptions& options);

// Splits the inclusive range [min_step, max_step] into at most `n` consecutive ranges of similar
// length covering it all.
std::vector<std::pair<uint64_t, uint64_t>> StepRanges(uint64_t min_step, uint64_t max_step, int n);

}  // namespace monoroute::analysis

#endif  // MONOROUTE_SERVICES_ANALYSIS_RUN_ANALYSIS_H_
