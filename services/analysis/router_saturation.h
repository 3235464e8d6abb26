// Router saturation across checkpoints (OLMoE's measure): per routed layer and checkpoint, the
// share of evaluation tokens whose top-k pathway set at that checkpoint equals their final top-k
// set, with a bootstrap interval over sequences and its chance level (what a uniformly random
// top-k set would match: 1 / C(P, k)). Computed from the evaluation splits the trainer records
// at each checkpoint ("eval@step<N>", record.eval_at_checkpoints). No gRPC, no LibTorch.
#ifndef MONOROUTE_SERVICES_ANALYSIS_ROUTER_SATURATION_H_
#define MONOROUTE_SERVICES_ANALYSIS_ROUTER_SATURATION_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "services/analysis/effect.h"
#include "services/analysis/routing_table.h"

namespace monoroute::analysis {

// Options of the saturation measure.
struct SaturationOptions {
  // Bootstrap replicates over sequences for the interval (0: no interval).
  uint32_t bootstrap = 200;
  // Two-sided confidence of the interval, in (0, 1).
  double confidence = 0.95;
  // Seed of the bootstrap (the same Poisson block weights as the rest of the report).
  uint64_t seed = 1;
};

// Saturation of one routed layer at one checkpoint.
struct LayerSaturation {
  // Transformer block index of the routed layer.
  uint32_t layer = 0;
  // Share of matched events whose top-k set equals the final one (NaN when none matched).
  double saturation = kNaN;
  // Percentile bootstrap interval of `saturation` over sequences.
  Interval ci;
  // What a uniformly random top-k set would match: 1 / C(num_pathways, top_k).
  double chance = kNaN;
  // Events matched (the same sequence and position in both tables).
  uint64_t events = 0;
};

// Saturation of every routed layer at one checkpoint.
struct SaturationPoint {
  // The checkpoint's optimizer step.
  int64_t step = 0;
  // One entry per routed layer present at this checkpoint and in the final routing, ascending.
  std::vector<LayerSaturation> layers;
};

// Split name of the evaluation recorded at the checkpoint of `step`: "eval@step<step>".
std::string CheckpointEvalSplit(int64_t step);

// The step of a checkpoint evaluation split ("eval@step<N>", N >= 0), nullopt for other splits.
std::optional<int64_t> CheckpointEvalStep(std::string_view split);

// 1 / C(num_pathways, top_k): the chance that a uniformly random top-k set equals a given one.
double ChanceTopKAgreement(uint32_t num_pathways, uint32_t top_k);

// The share of the events of `at` whose top-k set equals that of the same event (same sequence
// key and position) in `reference`, with its bootstrap interval; events of `at` without a match
// are not counted. INVALID_ARGUMENT when the tables' num_pathways or top_k differ.
absl::StatusOr<LayerSaturation> TopKAgreement(const RoutingTable& at, const RoutingTable& reference,
                                              const SaturationOptions& options);

// Per checkpoint (ascending step) and routed layer, the agreement of the checkpoint's top-k sets
// with `final_tables` (per layer: the final routing, e.g. the last checkpoint's or the final
// evaluation's). `by_step`: per checkpoint step, per layer, the table of its evaluation split.
// Layers missing from `final_tables` are skipped.
absl::StatusOr<std::vector<SaturationPoint>> RouterSaturation(
    const std::map<int64_t, std::map<uint32_t, RoutingTable>>& by_step,
    const std::map<uint32_t, RoutingTable>& final_tables, const SaturationOptions& options);

}  // namespace monoroute::analysis

#endif  // MONOROUTE_SERVICES_ANALYSIS_ROUTER_SATURATION_H_
