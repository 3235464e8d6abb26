// Learning-rate schedule: linear warmup to the peak, then cosine decay to min_lr_ratio * peak.
#ifndef MONOROUTE_COMMON_ENGINE_LR_SCHEDULE_H_
#define MONOROUTE_COMMON_ENGINE_LR_SCHEDULE_H_

#include <cstdint>

namespace monoroute::engine {

// Parameters of WarmupCosineLr.
struct LrScheduleOptions {
  // Peak learning rate.
  double peak_lr = 1e-3;
  // Steps of linear warmup (step s < warmup uses peak * (s + 1) / warmup).
  int64_t warmup_steps = 0;
  // Total steps; the cosine reaches its floor at step total_steps - 1.
  int64_t total_steps = 1;
  // Floor as a fraction of the peak.
  double min_lr_ratio = 0.1;
};

// Learning rate for the optimizer step with 0-based index `step`. Pure; thread-safe.
double WarmupCosineLr(const LrScheduleOptions& o, int64_t step);

}  // namespace monoroute::engine

#endif  // MONOROUTE_COMMON_ENGINE_LR_SCHEDULE_H_
