// Effect: the one shape of every statistic in the report: an observed value, its null (or
// control) level, the excess over it and the excess's confidence interval. Plain C++, no gRPC.
#ifndef MONOROUTE_SERVICES_ANALYSIS_EFFECT_H_
#define MONOROUTE_SERVICES_ANALYSIS_EFFECT_H_

#include <cmath>
#include <limits>

namespace monoroute::analysis {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A confidence interval [low, high]; NaN bounds when not computed.
struct Interval {
  double low = kNaN;
  double high = kNaN;
};

// A measure against its reference: `observed` on the data, `null_mean` its level under the null
// (or, for a trained-minus-control delta, the control's excess), `excess` = observed - null_mean
// (scaled, for a normalised measure such as AMI) and the excess's interval. NaN where undefined.
struct Effect {
  double observed = kNaN;
  double null_mean = kNaN;
  double excess = kNaN;
  Interval ci;
};

// True when the interval exists and lies entirely above `threshold`.
inline bool CiAbove(const Interval& ci, double threshold) {
  return std::isfinite(ci.low) && ci.low > threshold;
}

// True when the interval exists and contains `value`.
inline bool CiCovers(const Interval& ci, double value) {
  return std::isfinite(ci.low) && std::isfinite(ci.high) && ci.low <= value && value <= ci.high;
}

}  // namespace monoroute::analysis

#endif  // MONOROUTE_SERVICES_ANALYSIS_EFFECT_H_
