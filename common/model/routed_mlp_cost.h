// The routed MLP's compute paths and the cost model that picks one for RoutedCompute::kAuto: a
// pure function of the call's shapes (tokens, hidden, intermediate, P, k) and its device, so a
// run and its resume always take the same path. Torch-free.
#ifndef MONOROUTE_COMMON_MODEL_ROUTED_MLP_COST_H_
#define MONOROUTE_COMMON_MODEL_ROUTED_MLP_COST_H_

#include <cstdint>

namespace monoroute::model {

// How RoutedMLP computes the selected pathways.
enum class RoutedCompute {
  kAuto,    // the cheaper path by ChooseRoutedCompute (gather only on the CPU; docs/model.md)
  kMask,    // dense c_fc/gelu, multiply by the per-neuron gate, dense c_proj (refmodel.py)
  kGather,  // only the selected pathways: tokens grouped by pathway, per-pathway matmuls
};

// The shapes of one routed MLP call (forward + backward).
struct RoutedMlpShape {
  int64_t tokens = 2048;       // rows N of the call (batch * sequence)
  int64_t hidden = 64;         // residual width H
  int64_t intermediate = 256;  // MLP width I (P pathways of I/P neurons)
  int64_t pathways = 16;       // P
  int64_t top_k = 4;           // k: pathways per token
};

// Estimated milliseconds of one forward + backward of each path on the CPU (ATen's threads as
// ConfigureCpuThreads sets them, BLAS single-threaded), from constants fitted to
// `monoroute bench routed-mlp` over a grid (docs/model.md, "Routed MLP: mask or gather").
struct RoutedMlpCost {
  double mask_ms = 0;    // dense GEMMs over all I neurons + elementwise over [N, I]
  double gather_ms = 0;  // per-pathway GEMMs over N*k rows + gather/scatter + per-pathway calls
};

// The estimate for `shape` (sizes below 1 are treated as 1). Thread-safe.
RoutedMlpCost EstimateRoutedMlpCost(const RoutedMlpShape& shape);

// The path RoutedCompute::kAuto takes: kGather when the call runs on the CPU and the estimate
// puts the gather path below the mask path, else kMask (off the CPU always kMask: the gather
// path syncs with the host for its per-pathway row counts and cannot be captured in a CUDA
// graph, and it has not been measured there). Never returns kAuto. Thread-safe.
RoutedCompute ChooseRoutedCompute(const RoutedMlpShape& shape, bool on_cpu);

// "mask", "gather" or "auto".
const char* RoutedComputeName(RoutedCompute compute);

}  // namespace monoroute::model

#endif  // MONOROUTE_COMMON_MODEL_ROUTED_MLP_COST_H_
