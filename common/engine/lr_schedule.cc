// Warmup + cosine learning-rate schedule.
#include "common/engine/lr_schedule.h"

#include <algorithm>
#include <cmath>

namespace monoroute::engine {

double WarmupCosineLr(const LrScheduleOptions& o, int64_t step) {
  if (step < o.warmup_steps) {
    return o.peak_lr * static_cast<double>(step + 1) / static_cast<double>(o.warmup_steps);
  }
  double min_lr = o.peak_lr * o.min_lr_ratio;
  int64_t span = o.total_steps - o.warmup_steps - 1;
  if (span <= 0) return o.peak_lr;
  double progress =
      std::clamp(static_cast<double>(step - o.warmup_steps) / static_cast<double>(span), 0.0, 1.0);
  return min_lr + (o.peak_lr - min_lr) * 0.5 * (1.0 + std::cos(M_PI * progress));
}

}  // namespace monoroute::engine
