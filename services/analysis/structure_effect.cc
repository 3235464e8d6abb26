// EffectsOf and ReplicateMeans over the driver's interval helpers (effect_driver.h).
#include "services/analysis/structure_effect.h"

#include "services/analysis/effect_driver.h"
#include "services/analysis/resampling.h"

namespace monoroute::analysis {

std::vector<double> ReplicateMeans(const std::vector<std::vector<double>>& replicates,
                                   size_t width) {
  std::vector<double> out(width, kNaN);
  for (size_t i = 0; i < width; ++i) {
    std::vector<double> col;
    col.reserve(replicates.size());
    for (const auto& row : replicates) col.push_back(i < row.size() ? row[i] : kNaN);
    const MeanSd s = Summarise(col);
    if (s.n > 0) out[i] = s.mean;
  }
  return out;
}

std::vector<Effect> EffectsOf(const std::vector<double>& observed,
                              const std::vector<double>& null_mean,
                              const std::vector<std::vector<double>>& boot, double confidence) {
  const double z = IntervalZ(confidence);
  std::vector<Effect> out(observed.size());
  for (size_t i = 0; i < observed.size(); ++i) {
    Effect& e = out[i];
    e.observed = observed[i];
    e.null_mean = i < null_mean.size() ? null_mean[i] : kNaN;
    if (!std::isfinite(e.observed) || !std::isfinite(e.null_mean)) continue;
    e.excess = e.observed - e.null_mean;
    if (!boot.empty()) e.ci = Around(e.excess, ReplicateSd(boot, i), z);
  }
  return out;
}

}  // namespace monoroute::analysis
