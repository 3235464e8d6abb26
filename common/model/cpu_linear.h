// Linear layers on the CPU spread over ATen's thread pool.
//
// ConfigureCpuThreads leaves OpenBLAS single-threaded (its own pthread pool spun against ATen's
// OpenMP pool; docs/model.md "CPU performance"), so a plain at::mm / torch::linear runs on ONE
// thread however many the pool has: at Pythia-70M's width the block GEMMs (the bulk of forward
// and backward) used one core of two. `Linear` splits them itself: forward y = x W^T + b by
// rows of x, backward grad_x by rows, grad_W by output features (rows of W), each part one
// single-threaded sgemm on its own thread of the pool; grad_b a column sum. Every output element
// is computed by one sgemm over the full inner dimension, so results do not depend on timing.
#ifndef MONOROUTE_COMMON_MODEL_CPU_LINEAR_H_
#define MONOROUTE_COMMON_MODEL_CPU_LINEAR_H_

#include <torch/torch.h>

namespace monoroute::model {

// y = x W^T + b (x [..., in], weight [out, in], bias [out] or undefined), differentiable in all
// three. When enabled (SetCpuLinearEnabled), CPU fp32 with more than one pool thread and enough
// rows (and not already inside a parallel region): the split described above; otherwise
// torch::nn::functional::linear.
torch::Tensor Linear(const torch::Tensor& x, const torch::Tensor& weight,
                     const torch::Tensor& bias);

// Turns the split on or off for the process. Default OFF: on the shared 2-core machine it was
// not measurably faster than one BLAS call per layer (the load drowned the difference); `bench
// train --linear split` turns it on to measure. Thread-safe (an atomic flag).
void SetCpuLinearEnabled(bool enabled);

}  // namespace monoroute::model

#endif  // MONOROUTE_COMMON_MODEL_CPU_LINEAR_H_
