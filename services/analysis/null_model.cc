// Permutation null: closed-form moments by exact hypergeometric sums, Monte Carlo by sampling.
#include "services/analysis/null_model.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

namespace monoroute::analysis {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Columns whose count has a null sd above this use the series expansion instead of the pmf sum.
constexpr double kTaylorSd = 8.0;

// ln(x) from a table for the small integers the pmf sums visit.
double LogOf(uint64_t x) {
  static const std::vector<double>* table = [] {
    auto* t = new std::vector<double>(4096);
    for (size_t i = 1; i < t->size(); ++i) (*t)[i] = std::log(static_cast<double>(i));
    return t;
  }();
  return x < table->size() ? (*table)[x] : std::log(static_cast<double>(x));
}

// Per-token moments of one column of total c: E[g(X)], and the decomposition
// g(X) = beta * X + r(X) with beta = Cov(X, g) / Var X (so that r is uncorrelated with X).
struct ColumnMoments {
  double mean_g = 0.0;
  double beta = 0.0;   // regression slope of g(X) on X
  double var_r = 0.0;  // Var g - Cov(X, g)^2 / Var X
};

ColumnMoments ColumnClosedForm(uint64_t c, uint64_t n, uint64_t M) {
  ColumnMoments r;
  const double dn = static_cast<double>(n), dc = static_cast<double>(c);
  const double dM = static_cast<double>(M);
  const double q = dc / dM;
  const double mu = dn * q;
  const double var_x = M > 1 ? dn * q * (1.0 - q) * (dM - dn) / (dM - 1.0) : 0.0;
  const double lnn = std::log(dn);
  if (var_x <= 0.0) {  // deterministic: X = mu
    r.mean_g = mu > 0 ? -(mu / dn) * (std::log(mu) - lnn) : 0.0;
    return r;
  }
  const double sd = std::sqrt(var_x);
  if (sd > kTaylorSd) {
    // Fourth-order expansion around mu (the exact sum would need > 200 terms):
    //   E g = g + g2 s^2 / 2 + g3 m3 / 6 + g4 m4 / 24,  m3 the exact third central moment of the
    //   hypergeometric, m4 ~ 3 s^4; slope beta = g1 + g2 m3 / (2 s^2) + g3 s^2 / 2 and residual
    //   variance g2^2 s^4 / 2 (normal approximations of the higher moments).
    const double lm = std::log(mu) - lnn;
    const double g = -(mu / dn) * lm;
    const double g1 = -(lm + 1.0) / dn;
    const double g2 = -1.0 / (dn * mu);
    const double g3 = 1.0 / (dn * mu * mu);
    const double g4 = -2.0 / (dn * mu * mu * mu);
    const double m3 =
        dM > 2.0 ? var_x * (dM - 2.0 * dc) * (dM - 2.0 * dn) / (dM * (dM - 2.0)) : 0.0;
    const double m4 = 3.0 * var_x * var_x;
    r.mean_g = g + 0.5 * g2 * var_x + g3 * m3 / 6.0 + g4 * m4 / 24.0;
    r.beta = g1 + g2 * m3 / (2.0 * var_x) + 0.5 * g3 * var_x;
    r.var_r = 0.5 * g2 * g2 * var_x * var_x;
    return r;
  }
  // Exact sum of the pmf over a window of +-12 sd around the mode (the rest has mass < 1e-25),
  // from the ratio pmf(x+1)/pmf(x) = (c-x)(n-x) / ((x+1)(M-c-n+x+1)), normalised by the window.
  const uint64_t lo = n + c > M ? n + c - M : 0;
  const uint64_t hi = std::min(c, n);
  uint64_t mode = static_cast<uint64_t>(std::floor((dn + 1.0) * (dc + 1.0) / (dM + 2.0)));
  mode = std::clamp(mode, lo, hi);
  const uint64_t width = static_cast<uint64_t>(12.0 * sd) + 8;
  const uint64_t a = mode > lo + width ? mode - width : lo;
  const uint64_t b = std::min(hi, mode + width);
  // Moments about mu (better conditioned than raw moments).
  double s0 = 0, sg = 0, sg2 = 0, sgx = 0, sx2 = 0;
  auto add = [&](uint64_t x, double w) {
    const double dx = static_cast<double>(x);
    const double g = x == 0 ? 0.0 : -(dx / dn) * (LogOf(x) - lnn);
    s0 += w;
    sg += w * g;
    sg2 += w * g * g;
    sgx += w * g * (dx - mu);
    sx2 += w * (dx - mu) * (dx - mu);
  };
  const double rest = dM - dc - dn;  // M - c - n (may be negative)
  double w = 1.0;
  add(mode, w);
  for (uint64_t x = mode; x < b; ++x) {  // upwards
    const double dx = static_cast<double>(x);
    w *= (dc - dx) * (dn - dx) / ((dx + 1.0) * (rest + dx + 1.0));
    if (w < 1e-300) break;
    add(x + 1, w);
  }
  w = 1.0;
  for (uint64_t x = mode; x > a; --x) {  // pmf(x-1) = pmf(x) x (M-c-n+x) / ((c-x+1)(n-x+1))
    const double dx = static_cast<double>(x);
    w *= dx * (rest + dx) / ((dc - dx + 1.0) * (dn - dx + 1.0));
    if (w < 1e-300) break;
    add(x - 1, w);
  }
  const double eg = sg / s0;
  const double var_g = std::max(0.0, sg2 / s0 - eg * eg);
  const double cov_xg = sgx / s0;  // E[(X - mu)] = 0, so this is Cov(X, g)
  const double vx = sx2 / s0;
  r.mean_g = eg;
  r.beta = vx > 0 ? cov_xg / vx : 0.0;
  r.var_r = std::max(0.0, var_g - (vx > 0 ? cov_xg * cov_xg / vx : 0.0));
  return r;
}

}  // namespace

uint64_t SampleHypergeometric(uint64_t population, uint64_t successes, uint64_t draws, Rng& rng) {
  if (draws == 0 || successes == 0) return 0;
  if (successes >= population) return draws;
  if (draws >= population) return successes;
  const uint64_t a = std::min(successes, draws), b = std::max(successes, draws);
  if (a <= 32) {
    // Draw `a` items one by one; each is a "success" with probability (b - s) / (R - i).
    std::uniform_real_distribution<double> u(0.0, 1.0);
    uint64_t s = 0;
    for (uint64_t i = 0; i < a; ++i) {
      if (u(rng) * static_cast<double>(population - i) < static_cast<double>(b - s)) ++s;
    }
    return s;
  }
  const double R = static_cast<double>(population), c = static_cast<double>(successes),
               m = static_cast<double>(draws);
  const double mean = m * c / R;
  const double var = m * (c / R) * (1.0 - c / R) * (R - m) / (R - 1.0);
  const uint64_t lo = draws + successes > population ? draws + successes - population : 0;
  const uint64_t hi = std::min(successes, draws);
  if (var > 900.0) {  // sd > 30: a rounded normal is accurate to O(1/sd)
    std::normal_distribution<double> z(0.0, 1.0);
    const double x = std::floor(mean + std::sqrt(var) * z(rng) + 0.5);
    return static_cast<uint64_t>(std::clamp(x, static_cast<double>(lo), static_cast<double>(hi)));
  }
  // Exact inversion, searching outwards from the mode (expected O(sd) steps).
  uint64_t mode = static_cast<uint64_t>(std::floor((m + 1.0) * (c + 1.0) / (R + 2.0)));
  mode = std::clamp(mode, lo, hi);
  auto log_choose = [](double a, double b) {
    return std::lgamma(a + 1.0) - std::lgamma(b + 1.0) - std::lgamma(a - b + 1.0);
  };
  const double dmode = static_cast<double>(mode);
  const double p_mode =
      std::exp(log_choose(c, dmode) + log_choose(R - c, m - dmode) - log_choose(R, m));
  const double rest = R - c - m;
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  double u = u01(rng) - p_mode;
  if (u <= 0.0) return mode;
  uint64_t up = mode, down = mode;
  double p_up = p_mode, p_down = p_mode;
  while (up < hi || down > lo) {
    if (up < hi) {
      const double x = static_cast<double>(up);
      p_up *= (c - x) * (m - x) / ((x + 1.0) * (rest + x + 1.0));
      ++up;
      u -= p_up;
      if (u <= 0.0) return up;
    }
    if (down > lo) {
      const double x = static_cast<double>(down);
      p_down *= x * (rest + x) / ((c - x + 1.0) * (m - x + 1.0));
      --down;
      u -= p_down;
      if (u <= 0.0) return down;
    }
  }
  return mode;  // rounding left u > 0: the mode is the most likely value
}

void SampleMultivariateHypergeometric(const std::vector<uint64_t>& population, uint64_t n, Rng& rng,
                                      std::vector<uint64_t>* out) {
  out->assign(population.size(), 0);
  uint64_t remaining = 0;
  for (uint64_t c : population) remaining += c;
  uint64_t left = n;
  for (size_t j = 0; j < population.size() && left > 0; ++j) {
    const uint64_t x = SampleHypergeometric(remaining, population[j], left, rng);
    (*out)[j] = x;
    left -= x;
    remaining -= population[j];
  }
}

PermutationNull::PermutationNull(const std::vector<uint64_t>& column_total)
    : column_total_(column_total) {
  std::map<uint64_t, uint64_t> groups;
  for (uint64_t c : column_total) {
    if (c == 0) continue;
    total_ += c;
    ++groups[c];
    mc_cost_ += std::min<uint64_t>(c, 32);
  }
  groups_.assign(groups.begin(), groups.end());
  const double M = static_cast<double>(total_);
  for (const auto& [c, mult] : groups_) {
    const double q = static_cast<double>(c) / M;
    const double lq = std::log(q);
    population_entropy_ -= static_cast<double>(mult) * q * lq;
    sum_q2_ += static_cast<double>(mult) * q * q;
    sum_q2_1lnq_sq_ += static_cast<double>(mult) * q * q * (1.0 + lq) * (1.0 + lq);
  }
}

NullMoments PermutationNull::ClosedForm(uint64_t n) const {
  NullMoments r;
  if (n == 0 || total_ == 0) {
    r.entropy_mean = r.entropy_std = r.kl_mean = r.kl_std = kNaN;
    return r;
  }
  n = std::min(n, total_);
  // H = sum_j g(X_j) = sum_j beta_j X_j + sum_j r_j(X_j). The linear part's variance is exact
  // (Cov X = F n (diag q - q q^T)); Cov(X_i, r_j(X_j)) = 0 for all i, j because E[X_i | X_j] is
  // linear in X_j and r_j is uncorrelated with X_j; only Cov(r_i, r_j), i != j, is dropped.
  // KL = -H - sum_j (X_j / n) ln q_j has slopes -beta_j - ln q_j / n and the same residuals.
  const double dn = static_cast<double>(n), dM = static_cast<double>(total_);
  const double F = total_ > 1 ? (dM - dn) / (dM - 1.0) : 0.0;
  double mean_h = 0.0, var_r = 0.0;
  double sbq = 0, sb2q = 0, skq = 0, sk2q = 0;
  for (const auto& [c, mult] : groups_) {
    const ColumnMoments cm = ColumnClosedForm(c, n, total_);
    const double m = static_cast<double>(mult);
    const double q = static_cast<double>(c) / dM;
    const double bk = -cm.beta - std::log(q) / dn;
    mean_h += m * cm.mean_g;
    var_r += m * cm.var_r;
    sbq += m * cm.beta * q;
    sb2q += m * cm.beta * cm.beta * q;
    skq += m * bk * q;
    sk2q += m * bk * bk * q;
  }
  const double var_h = F * dn * (sb2q - sbq * sbq) + var_r;
  const double var_k = F * dn * (sk2q - skq * skq) + var_r;
  r.entropy_mean = mean_h;
  r.entropy_std = std::sqrt(std::max(0.0, var_h));
  r.kl_mean = std::max(0.0, population_entropy_ - mean_h);
  r.kl_std = std::sqrt(std::max(0.0, var_k));
  return r;
}

NullMoments PermutationNull::MonteCarlo(uint64_t n, int samples, uint64_t seed) const {
  NullMoments r;
  r.samples = samples;
  if (n == 0 || total_ == 0 || samples < 2) {
    r.entropy_mean = r.entropy_std = r.kl_mean = r.kl_std = kNaN;
    return r;
  }
  n = std::min(n, total_);
  Rng rng(seed);
  const double dn = static_cast<double>(n), dM = static_cast<double>(total_);
  const double lnn = std::log(dn);
  double sh = 0, sh2 = 0, sk = 0, sk2 = 0;
  for (int s = 0; s < samples; ++s) {
    uint64_t remaining = total_, left = n;
    double h = 0.0, cross = 0.0;  // cross = sum (x/n) ln q
    for (size_t j = 0; j < column_total_.size() && left > 0; ++j) {
      const uint64_t c = column_total_[j];
      if (c == 0) continue;
      const uint64_t x = SampleHypergeometric(remaining, c, left, rng);
      remaining -= c;
      left -= x;
      if (x == 0) continue;
      const double dx = static_cast<double>(x);
      h -= (dx / dn) * (std::log(dx) - lnn);
      cross += (dx / dn) * std::log(static_cast<double>(c) / dM);
    }
    const double kl = -h - cross;
    sh += h;
    sh2 += h * h;
    sk += kl;
    sk2 += kl * kl;
  }
  const double S = samples;
  r.entropy_mean = sh / S;
  r.entropy_std = std::sqrt(std::max(0.0, (sh2 - sh * sh / S) / (S - 1.0)));
  r.kl_mean = sk / S;
  r.kl_std = std::sqrt(std::max(0.0, (sk2 - sk * sk / S) / (S - 1.0)));
  return r;
}

}  // namespace monoroute::analysis
