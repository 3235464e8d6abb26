// Load over training: a pathway's share of each step bucket's recorded events against uniform.
#include <limits>

#include "services/analysis/explorer/profile_parts.h"

namespace monoroute::analysis::explorer {

std::vector<LoadBucket> LoadOverTraining(const LayerEvents& events, uint32_t pathway) {
  const StepLoads& s = events.step_loads;
  std::vector<LoadBucket> out;
  if (pathway >= events.num_pathways) return out;
  for (size_t b = 0; b < s.buckets(); ++b) {
    LoadBucket lb;
    lb.step_low = s.step_low[b];
    lb.step_high = s.step_high[b];
    lb.events = s.events[b];
    lb.selecting = s.selections[b * events.num_pathways + pathway];
    const double uniform = static_cast<double>(lb.events) * events.top_k / events.num_pathways;
    lb.load_vs_uniform = uniform > 0 ? static_cast<double>(lb.selecting) / uniform
                                     : std::numeric_limits<double>::quiet_NaN();
    out.push_back(lb);
  }
  return out;
}

}  // namespace monoroute::analysis::explorer
