// Cost model of the routed MLP's mask and gather paths (constants: docs/model.md).
#include "common/model/routed_mlp_cost.h"

#include <algorithm>

namespace monoroute::model {
namespace {

// Fitted constants (milliseconds per unit), from `monoroute bench routed-mlp` on the 2-core dev
// machine; the grid, the fit and its error are in docs/model.md ("Routed MLP: mask or gather").
// Mask path: dense GEMMs (12 N H I flops forward + backward), elementwise work over [N, I].
constexpr double kMaskPerFlop = 1.0e-8;
constexpr double kMaskPerNeuronRow = 1.0e-6;
constexpr double kMaskFixed = 0.1;
// Gather path: the same GEMM flops times k/P, gathered / scattered rows of H floats per
// assignment (N k of them: index_select, cat, weighting, index_add and their backward), a fixed
// cost per pathway that has rows (about ten ATen calls forward + backward) and per call.
constexpr double kGatherPerFlop = 1.0e-8;
constexpr double kGatherPerAssignedFloat = 1.0e-6;
constexpr double kGatherPerPathway = 0.05;
constexpr double kGatherFixed = 0.2;

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
  cost.mask_ms = kMaskPerFlop * dense_flops + kMaskPerNeuronRow * n * i + kMaskFixed;
  // Pathways that get rows: at most P, at most one per assignment.
  const double busy = std::min(p, n * k);
  cost.gather_ms = kGatherPerFlop * dense_flops * k / p + kGatherPerAssignedFloat * n * k * h +
                   kGatherPerPathway * busy + kGatherFixed;
  return cost;
}

RoutedCompute ChooseRoutedCompute(const RoutedMlpShape& shape, bool on_cpu) {
  if (!on_cpu) return RoutedCompute::kMask;
  const RoutedMlpCost cost = EstimateRoutedMlpCost(shape);
  return cost.gather_ms < cost.mask_ms ? RoutedCompute::kGather : RoutedCompute::kMask;
}

const char* RoutedComputeName(RoutedCompute compute) {
  switch (compute) {
    case RoutedCompute::kMask:
      return "mask";
    case RoutedCompute::kGather:
      return "gather";
    case RoutedCompute::kAuto:
      break;
  }
  return "auto";
}

}  // namespace monoroute::model
