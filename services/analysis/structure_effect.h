// Effects of the routing-structure measures (co-activation, locality, cross-layer consistency):
// one Effect per value of a measure from its observed values, its null level and the bootstrap
// replicates of its excess, the same {observed, null_mean, excess, ci} the effect driver gives
// every measure of the table. No gRPC, no LibTorch.
#ifndef MONOROUTE_SERVICES_ANALYSIS_STRUCTURE_EFFECT_H_
#define MONOROUTE_SERVICES_ANALYSIS_STRUCTURE_EFFECT_H_

#include <vector>

#include "services/analysis/effect.h"

namespace monoroute::analysis {

// Per index: the mean over replicates [replicate][index] of the finite values (NaN when none).
std::vector<double> ReplicateMeans(const std::vector<std::vector<double>>& replicates,
                                   size_t width);

// Per index: observed, null_mean, excess = observed - null_mean and, when `boot` (bootstrap
// replicates of the excess, [replicate][index]) is not empty, the normal interval
// excess +- z(confidence) * sd.
std::vector<Effect> EffectsOf(const std::vector<double>& observed,
                              const std::vector<double>& null_mean,
                              const std::vector<std::vector<double>>& boot, double confidence);

}  // namespace monoroute::analysis

#endif  // MONOROUTE_SERVICES_ANALYSIS_STRUCTURE_EFFECT_H_
