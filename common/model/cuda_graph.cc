// CudaGraphStep implementation (real only with MONOROUTE_WITH_CUDA).
#include "common/model/cuda_graph.h"

#include <torch/torch.h>

#include "common/tensor_io/torch_status.h"

#if defined(MONOROUTE_WITH_CUDA) && __has_include(<cuda_runtime_api.h>) && \
    __has_include(<ATen/cuda/CUDAGraph.h>)
#define MR_CUDA_GRAPHS 1
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>
#endif

namespace monoroute::model {

#ifdef MR_CUDA_GRAPHS
struct CudaGraphStep::Impl {
  std::unique_ptr<at::cuda::CUDAGraph> graph;
  std::function<void()> step;
};

bool CudaGraphStep::Supported() { return true; }

absl::Status CudaGraphStep::Synchronize() {
  cudaError_t e = cudaDeviceSynchronize();
  if (e != cudaSuccess) return absl::InternalError(cudaGetErrorString(e));
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<CudaGraphStep>> CudaGraphStep::Capture(std::function<void()> step,
                                                                      int warmup) {
  std::unique_ptr<CudaGraphStep> out(new CudaGraphStep());
  out->impl_ = std::make_unique<Impl>();
  out->impl_->step = std::move(step);
  absl::Status s = TorchCall("CUDA graph capture", [&]() {
    auto side = c10::cuda::getStreamFromPool();
    side.synchronize();
    {
      c10::cuda::CUDAStreamGuard guard(side);
      for (int i = 0; i < warmup; ++i) out->impl_->step();
    }
    side.synchronize();
    out->impl_->graph = std::make_unique<at::cuda::CUDAGraph>();
    {
      c10::cuda::CUDAStreamGuard guard(side);
      out->impl_->graph->capture_begin();
      out->impl_->step();
      out->impl_->graph->capture_end();
    }
    side.synchronize();
    out->impl_->graph->replay();  // the captured call itself did not run
  });
  if (!s.ok()) return s;
  return out;
}

absl::Status CudaGraphStep::Replay() {
  return TorchCall("CUDA graph replay", [&]() { impl_->graph->replay(); });
}

#else
struct CudaGraphStep::Impl {};

bool CudaGraphStep::Supported() { return false; }

absl::Status CudaGraphStep::Synchronize() { return absl::OkStatus(); }

absl::StatusOr<std::unique_ptr<CudaGraphStep>> CudaGraphStep::Capture(std::function<void()>, int) {
  return absl::UnimplementedError("CUDA graphs: monoroute was built without CUDA");
}

absl::Status CudaGraphStep::Replay() {
  return absl::UnimplementedError("CUDA graphs: monoroute was built without CUDA");
}
#endif

CudaGraphStep::~CudaGraphStep() = default;

}  // namespace monoroute::model
