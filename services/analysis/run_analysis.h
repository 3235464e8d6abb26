// A run's analysis: every routed layer (in parallel), the over-training step ranges, and the
// run metadata the report prints. No gRPC, no LibTorch.
#ifndef MONOROUTE_SERVICES_ANALYSIS_RUN_ANALYSIS_H_
#define MONOROUTE_SERVICES_ANALYSIS_RUN_ANALYSIS_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "services/analysis/count_matrix.h"
#include "services/analysis/layer_analysis.h"

namespace monoroute::analysis {

// What the report says about the run and the data it was computed from.
struct RunInfo {
  std::string run_id;
  std::map<std::string, std::string> labels;
  std::vector<uint32_t> routed_layers;
  uint32_t num_pathways = 0;
  uint32_t top_k = 0;
  uint32_t vocab_size = 0;
  // Selection the counts were read with (max_step 0 = no bound).
  std::string split;
  uint64_t min_step = 0;
  uint64_t max_step = 0;
  // Recorder state the result reflects.
  uint64_t watermark = 0;
  uint64_t events = 0;
  uint64_t run_min_step = 0;
  uint64_t run_max_step = 0;
  int64_t first_write_unix_ms = 0;
  int64_t last_write_unix_ms = 0;
  bool still_writing = false;
};

// One routed layer's counts.
struct LayerInput {
  uint32_t layer = 0;
  CountMatrix counts;
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
};

// Analyses `layers` with up to options.threads threads. Layers without routings are skipped and
// listed in `*empty_layers` (may be null); FAILED_PRECONDITION when every layer is empty.
absl::StatusOr<std::vector<LayerResult>> AnalyzeLayers(const std::vector<LayerInput>& layers,
                                                       uint32_t top_k,
                                                       const CategoryMap* categories,
                                                       const TokenDecoder& decode,
                                                       const AnalysisOptions& options,
                                                       std::vector<uint32_t>* empty_layers);

// Splits the inclusive range [min_step, max_step] into at most `n` consecutive ranges whose
// boundaries are multiples of `bucket` (the recorder's exact granularity), covering it all.
std::vector<std::pair<uint64_t, uint64_t>> StepRanges(uint64_t min_step, uint64_t max_step,
                                                      uint64_t bucket, int n);

// Mean purity over all (layer, pathway) with load (the seed's `average_purity`); NaN if none.
double AveragePurity(const std::vector<LayerResult>& layers);

}  // namespace monoroute::analysis

#endif  // MONOROUTE_SERVICES_ANALYSIS_RUN_ANALYSIS_H_
