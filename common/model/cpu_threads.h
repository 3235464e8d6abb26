// CPU thread setup for training: one thread pool (ATen's), not two.
//
// Debian's LibTorch calls an OpenBLAS built with its own pthread pool. With ATen's OpenMP pool
// beside it, the two pools' idle threads spin against each other on every BLAS call (on the
// 2-core dev machine 30% of a training step went to libgomp spinning and sched_yield). The engine
// therefore runs BLAS single-threaded and parallelises the one place where BLAS work is large
// (the fused LM head + cross-entropy) over ATen's pool itself: see lm_loss.cc and docs/model.md.
#ifndef MONOROUTE_COMMON_MODEL_CPU_THREADS_H_
#define MONOROUTE_COMMON_MODEL_CPU_THREADS_H_

namespace monoroute::model {

// Sets ATen's intra-op threads to `threads`, or when threads <= 0 to AvailableCpus() (LibTorch's
// own default can be 1: it counts physical cores through cpuinfo, which sees one on some VMs), and
// the BLAS library's own pool to one thread (OpenBLAS, found at run time; a no-op for other BLAS).
// Call at job set-up on the thread that will run the job (OpenMP's thread count is per thread),
// before heavy work; not thread-safe (process-wide settings).
void ConfigureCpuThreads(int threads);

// CPUs this process may run on (its affinity mask), at least 1. Thread-safe.
int AvailableCpus();

// Threads of the BLAS library's own pool: OpenBLAS's openblas_get_num_threads(), or 1 when the
// BLAS in use has no pool we know of. Thread-safe.
int BlasThreads();

}  // namespace monoroute::model

#endif  // MONOROUTE_COMMON_MODEL_CPU_THREADS_H_
