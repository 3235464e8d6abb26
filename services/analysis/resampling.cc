// Poisson block weights, replicate summaries, normal quantiles, BH.
#include "services/analysis/resampling.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace monoroute::analysis {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Upper bounds of the Poisson(1) CDF at 0..11, as fractions of 2^64 (the tail beyond 11 has
// probability ~1e-9 and maps to 12).
struct PoissonTable {
  uint64_t bound[12];
  PoissonTable() {
    double cdf = 0.0, pmf = std::exp(-1.0);
    for (int k = 0; k < 12; ++k) {
      cdf += pmf;
      pmf /= (k + 1);
      bound[k] = static_cast<uint64_t>(std::ldexp(std::min(cdf, 1.0 - 1e-16), 64));
    }
  }
};

}  // namespace

uint32_t PoissonBlockWeight(uint64_t seed, uint32_t replicate, uint64_t key) {
  static const PoissonTable table;
  const uint64_t u = HashPair(HashPair(seed, replicate), key);
  uint32_t k = 0;
  while (k < 12 && u >= table.bound[k]) ++k;
  return k;
}

void BlockWeights(const RoutingTable& table, uint64_t seed, uint32_t replicate,
                  std::vector<uint32_t>* weights) {
  weights->resize(table.blocks());
  for (size_t b = 0; b < table.blocks(); ++b) {
    (*weights)[b] = PoissonBlockWeight(seed, replicate, table.block_key[b]);
  }
}

MeanSd Summarise(const std::vector<double>& values) {
  MeanSd r;
  double s = 0.0;
  for (double v : values) {
    if (!std::isfinite(v)) continue;
    s += v;
    ++r.n;
  }
  if (r.n == 0) return {kNaN, kNaN, 0};
  r.mean = s / r.n;
  if (r.n < 2) {
    r.sd = kNaN;
    return r;
  }
  double ss = 0.0;
  for (double v : values) {
    if (std::isfinite(v)) ss += (v - r.mean) * (v - r.mean);
  }
  r.sd = std::sqrt(ss / (r.n - 1));
  return r;
}

double NormalUpperTail(double z) { return 0.5 * std::erfc(z / std::sqrt(2.0)); }

double NormalQuantile(double p) {
  if (!(p > 0.0 && p < 1.0)) return p == 0.0 ? -INFINITY : (p == 1.0 ? INFINITY : kNaN);
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                             -2.759285104469687e+02, 1.383577518672690e+02,
                             -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                             -1.556989798598866e+02, 6.680131188771972e+01,
                             -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                             -2.400758277161838e+00, -2.549732539343734e+00,
                             4.374664141464968e+00,  2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                             3.754408661907416e+00};
  double x;
  if (p < 0.02425) {
    const double q = std::sqrt(-2 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p > 1 - 0.02425) {
    const double q = std::sqrt(-2 * std::log(1 - p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else {
    const double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  }
  // One Halley step on Phi(x) - p.
  const double e = 0.5 * std::erfc(-x / std::sqrt(2.0)) - p;
  const double u = e * std::sqrt(2 * M_PI) * std::exp(x * x / 2);
  return x - u / (1 + x * u / 2);
}

std::vector<double> BenjaminiHochberg(const std::vector<double>& p) {
  std::vector<size_t> idx;
  for (size_t i = 0; i < p.size(); ++i) {
    if (std::isfinite(p[i])) idx.push_back(i);
  }
  std::vector<double> q(p.size(), kNaN);
  const size_t m = idx.size();
  if (m == 0) return q;
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return p[a] < p[b]; });
  double running = 1.0;
  for (size_t r = m; r-- > 0;) {
    running = std::min(running, p[idx[r]] * static_cast<double>(m) / static_cast<double>(r + 1));
    q[idx[r]] = std::min(1.0, running);
  }
  return q;
}

}  // namespace monoroute::analysis
