// Cost model of the routed MLP's mask and gather paths (constants: docs/model.md).
#include "common/model/routed_mlp_cost.h"

#include <algorithm>

#include "common/base/enum_names.h"

namespace monoroute::model {
namespace {

// The compute paths by name.
constexpr EnumNames<RoutedCompute, 3> kRoutedComputeNames = {{{RoutedCompute::kAuto, "auto"},
                                                              {RoutedCompute::kMask, "mask"},
                                                              {RoutedCompute::kGather, "gather"}}};

// Constants in milliseconds per unit, fitted (least squares on relative error) to
// `monoroute bench routed-mlp` over a 36-point grid (H 64 / 512, N 512 / 2048, P 16 / 64 / 256,
// k 1 / 2 / 4 / 8 / P/2) on the 2-core dev machine at load 7-9; the grid, the fit and its
// decisions are in docs/model.md ("Routed MLP: mask or gather"). Only the ratios between the
// terms decide the path; the absolute scale is that loaded machine's.
// Mask path: dense GEMMs (12 N H I flops forward + backward) and elementwise work over [N, I].
constexpr double kMaskPerFlop = 9.684e-8;
constexpr double kMaskPerNeuronRow = 5.071e-5;
// Gather path: the same GEMM flops times k/P (small per-pathway GEMMs: ~7x the mask path's time
// per flop), floats moved per assignment (N k rows of H: index_select, cat, weighting, index_add
// and their backward), more per float beyond kGatherCacheFloats (those [N k, H] tensors no longer
// fit the last-level cache: the measured time jumps 2.5-10x from k = 4 to k = 8 at N 2048, H 512),
// and a cost per pathway that has rows (its ATen calls).
constexpr double kGatherPerFlop = 6.52e-7;
constexpr double kGatherPerAssignedFloat = 8.334e-5;
constexpr double kGatherPerFloatBeyondCache = 5.065e-4;
constexpr double kGatherCacheFloats = 4.0e6;  // 16 MB of fp32
constexpr double kGatherPerPathway = 4.58e-2;
// Per call, both paths (the fit gave 150 ms gather / 160 ms mask: the load's scheduling delay, not
// work; one shared value, so it never decides the path).
constexpr double kPerCall = 150.0;

}  // namespace

RoutedMlpCost EstimateRoutedMlpCost(const RoutedMlpShape& shape) {
  const double n = static_cast<double>(std::max<int64_t>(shape.tokens, 1));
  const double h = static_cast<double>(std::max<int64_t>(shape.hidden, 1));
  const double i = static_cast<double>(std::max<int64_t>(shape.intermediate, 1));
  const int64_t p_int = std::max<int64_t>(shape.pathways, 1);
  const double p = static_cast<double>(p_int);
  const double k = static_cast<double>(std::clamp<int64_t>(shape.top_k, 1, p_int));
  const double dense_flops = 12.0 * n * h * i;  // two GEMMs, forward + two backward each
  RoutedMlpCost cost;
  cost.mask_ms = kMaskPerFlop * dense_flops + kMaskPerNeuronRow * n * i + kPerCall;
  // Pathways that get rows: at most P, at most one per assignment.
  const double busy = std::min(p, n * k);
  const double moved = n * k * h;  // floats gathered per [N k, H] tensor
  cost.gather_ms = kGatherPerFlop * dense_flops * k / p + kGatherPerAssignedFloat * moved +
                   kGatherPerFloatBeyondCache * std::max(0.0, moved - kGatherCacheFloats) +
                   kGatherPerPathway * busy + kPerCall;
  return cost;
}

RoutedCompute ChooseRoutedCompute(const RoutedMlpShape& shape, bool on_cpu) {
  if (!on_cpu) return RoutedCompute::kMask;
  const RoutedMlpCost cost = EstimateRoutedMlpCost(shape);
  return cost.gather_ms < cost.mask_ms ? RoutedCompute::kGather : RoutedCompute::kMask;
}

const char* RoutedComputeName(RoutedCompute compute) {
  return NameOf(kRoutedComputeNames, compute, "auto");
}

}  // namespace monoroute::model
