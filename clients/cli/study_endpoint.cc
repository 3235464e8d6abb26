// Paired comparison, TOST and the power of the paired t test (noncentral t by quadrature).
#include "clients/cli/study_endpoint.h"

#include <cmath>
#include <map>
#include <mutex>
#include <utility>

namespace monoroute::cli {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// E[f(sqrt(V / df))] for V ~ chi2(df). With V = u^2 the density 2 u f_chi2(u^2) is bounded at
// u = 0 for df >= 1: Simpson's rule on u (the integrand is smooth).
template <typename F>
double ExpectOverChi2(double df, F f) {
  const double u_max = std::sqrt(df + 40.0 * std::sqrt(2.0 * df) + 60.0);
  const int steps = 1000;  // even
  const double h = u_max / steps;
  const double log_norm = (df / 2.0) * std::log(2.0) + std::lgamma(df / 2.0);
  auto g = [&](double u) {
    double dens = 0;
    if (u > 0) {
      dens = 2.0 * std::exp((df - 1.0) * std::log(u) - u * u / 2.0 - log_norm);
    } else if (df == 1.0) {
      dens = 2.0 * std::exp(-log_norm);
    }
    return dens == 0 ? 0.0 : dens * f(u / std::sqrt(df));
  };
  double sum = g(0) + g(u_max);
  for (int i = 1; i < steps; ++i) sum += (i % 2 ? 4.0 : 2.0) * g(i * h);
  return sum * h / 3.0;
}

// P(Z > x) for a standard normal Z.
double UpperTail(double x) { return 0.5 * std::erfc(x / M_SQRT2); }

}  // namespace

double StudentTUpperTail(double t, double df, double ncp) {
  // T = (Z + ncp) / sqrt(V / df): P(T > t) = E_V[ P(Z > t sqrt(V / df) - ncp) ].
  if (!(df > 0)) return kNaN;
  return ExpectOverChi2(df, [&](double r) { return UpperTail(t * r - ncp); });
}

double StudentTQuantile(double p, double df) {
  if (!(p > 0 && p < 1) || !(df > 0)) return kNaN;
  static std::mutex mu;
  static std::map<std::pair<double, double>, double> cache;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache.find({p, df});
    if (it != cache.end()) return it->second;
  }
  double lo = -1e3, hi = 1e3;  // P(T > x) decreases in x
  for (int i = 0; i < 100 && hi - lo > 1e-10; ++i) {
    const double mid = (lo + hi) / 2;
    if (1.0 - StudentTUpperTail(mid, df) < p) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  const double q = (lo + hi) / 2;
  std::lock_guard<std::mutex> lock(mu);
  cache[{p, df}] = q;
  return q;
}

double PairedPowerAbove(int n, double delta, double sd, const EndpointOptions& o) {
  if (n < 2 || !(sd > 0) || !std::isfinite(delta)) return kNaN;
  const double df = n - 1.0;
  const double t2 = StudentTQuantile(1.0 - o.alpha / 2.0, df);
  const double t1 = StudentTQuantile(1.0 - o.alpha, df);
  const double s = sd / std::sqrt(static_cast<double>(n));  // the mean difference's SD
  // Given the estimated SE (s * r), the verdict is kGlblBetter when the mean lies above t2 * se,
  // except in [t2 * se, margin - t1 * se) where TOST calls it equivalent first.
  return ExpectOverChi2(df, [&](double r) {
    const double se = s * r;
    double p = UpperTail((t2 * se - delta) / s);
    const double eq_high = o.margin - t1 * se;
    if (eq_high > t2 * se) p -= UpperTail((t2 * se - delta) / s) - UpperTail((eq_high - delta) / s);
    return p;
  });
}

int RecommendedSeeds(double delta, double sd, const EndpointOptions& o) {
  if (!(sd > 0) || !std::isfinite(delta)) return 0;
  const int max_n = o.max_seeds;
  const double target = o.target_power;
  // Power grows with n: bisect on [2, max_n].
  if (PairedPowerAbove(max_n, delta, sd, o) < target) return max_n;
  int lo = 2, hi = max_n;
  while (lo < hi) {
    const int mid = lo + (hi - lo) / 2;
    if (PairedPowerAbove(mid, delta, sd, o) >= target) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return lo;
}

double SdUpperBound(double sd, int df, double confidence) {
  if (df < 1 || !(confidence > 0 && confidence < 1)) return kNaN;
  // z of the lower tail 1 - confidence, by bisection on the normal CDF.
  double lo = -10, hi = 10;
  for (int i = 0; i < 80; ++i) {
    const double mid = (lo + hi) / 2;
    if (0.5 * std::erfc(-mid / M_SQRT2) < 1.0 - confidence) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  const double z = (lo + hi) / 2, a = 2.0 / (9.0 * df);
  const double chi2 = df * std::pow(std::max(1e-6, 1.0 - a + z * std::sqrt(a)), 3.0);
  return sd * std::sqrt(df / chi2);
}

PairedComparison ComparePaired(const std::vector<double>& a, const std::vector<double>& b,
                               const EndpointOptions& o) {
  std::vector<double> d;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    if (std::isfinite(a[i]) && std::isfinite(b[i])) d.push_back(a[i] - b[i]);
  }
  PairedComparison c;
  c.n = static_cast<int>(d.size());
  if (c.n == 0) return c;
  double sum = 0;
  for (double x : d) sum += x;
  c.mean = sum / c.n;
  if (c.n < 2) return c;
  double ss = 0;
  for (double x : d) ss += (x - c.mean) * (x - c.mean);
  c.sd = std::sqrt(ss / (c.n - 1));
  const double se = c.sd / std::sqrt(static_cast<double>(c.n));
  const double df = c.n - 1.0;
  const double t2 = StudentTQuantile(1.0 - o.alpha / 2.0, df);
  const double t1 = StudentTQuantile(1.0 - o.alpha, df);
  c.ci_low = c.mean - t2 * se;
  c.ci_high = c.mean + t2 * se;
  c.tost_low = c.mean - t1 * se;
  c.tost_high = c.mean + t1 * se;
  if (c.tost_low > -o.margin && c.tost_high < o.margin) {
    c.verdict = kEquivalent;
  } else if (c.ci_low > 0) {
    c.verdict = kGlblBetter;
  } else if (c.ci_high < 0) {
    c.verdict = kGlblWorse;
  }
  c.power = PairedPowerAbove(c.n, o.margin, c.sd, o);
  c.recommended_seeds_at_observed_sd = RecommendedSeeds(o.margin, c.sd, o);
  c.sd_upper = o.sd_assurance > 0.5 ? SdUpperBound(c.sd, c.n - 1, o.sd_assurance) : c.sd;
  c.recommended_seeds = RecommendedSeeds(o.margin, c.sd_upper, o);
  return c;
}

}  // namespace monoroute::cli
