// CudaGraphStep: captures a whole training step (forward, backward, optimizer) into a CUDA graph
// and replays it. Only functional when monoroute_model is built against a CUDA LibTorch
// (MONOROUTE_WITH_CUDA); otherwise Capture returns UNIMPLEMENTED. Torch-free header.
#ifndef MONOROUTE_COMMON_MODEL_CUDA_GRAPH_H_
#define MONOROUTE_COMMON_MODEL_CUDA_GRAPH_H_

#include <functional>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace monoroute::model {

// A captured CUDA graph of `step`. The step must be capture-safe: no host synchronisation
// (.item(), data-dependent shapes), fixed input addresses, a device-side optimizer step counter.
// Not thread-safe.
class CudaGraphStep {
 public:
  // True when built with CUDA graph support.
  static bool Supported();
  // Runs `step` `warmup` times on a side stream, then captures one call. The captured call's
  // effects happen (the graph is launched once) so the step count stays consistent.
  static absl::StatusOr<std::unique_ptr<CudaGraphStep>> Capture(std::function<void()> step,
                                                                int warmup);
  // Launches the graph once (asynchronous on the current stream).
  absl::Status Replay();
  // Waits for the device.
  static absl::Status Synchronize();
  ~CudaGraphStep();

 private:
  CudaGraphStep() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace monoroute::model

#endif  // MONOROUTE_COMMON_MODEL_CUDA_GRAPH_H_
