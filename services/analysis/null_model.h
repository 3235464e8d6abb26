// Permutation null of a pathway's token distribution. Shuffling the pathway labels of all routings
// of a layer (keeping every pathway's load and every token's total) makes a pathway's token counts
// X a multivariate hypergeometric sample: n = its load drawn without replacement from the M
// routings of the layer, c_j of which are token j. Closed-form moments of the entropy and of
// KL(X/n || c/M), and a seeded Monte Carlo estimate of the same moments.
#ifndef MONOROUTE_SERVICES_ANALYSIS_NULL_MODEL_H_
#define MONOROUTE_SERVICES_ANALYSIS_NULL_MODEL_H_

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace monoroute::analysis {

// Null mean and standard deviation of a pathway's entropy (nats) and KL to the unigram (nats).
// NaN when the sample size is 0.
struct NullMoments {
  double entropy_mean = 0.0;
  double entropy_std = 0.0;
  double kl_mean = 0.0;
  double kl_std = 0.0;
  int samples = 0;  // Monte Carlo samples behind the std (0: closed form)
};

// The random generator used by every Monte Carlo routine (seeded explicitly; never global).
using Rng = std::mt19937_64;

// Draws X ~ Hypergeometric(population R, successes c, draws m): exact sequential sampling when
// min(c, m) <= 32, otherwise a rounded normal with the hypergeometric mean and variance, clamped
// to the support.
uint64_t SampleHypergeometric(uint64_t population, uint64_t successes, uint64_t draws, Rng& rng);

// Draws a multivariate hypergeometric sample of size n from `population` (counts per class) into
// `out` (resized to population.size()). Requires n <= sum(population).
void SampleMultivariateHypergeometric(const std::vector<uint64_t>& population, uint64_t n, Rng& rng,
                                      std::vector<uint64_t>* out);

// Precomputed population (the layer's token totals). Immutable; thread-compatible.
class PermutationNull {
 public:
  explicit PermutationNull(const std::vector<uint64_t>& column_total);

  // Closed form. Mean: E[H] = sum_j E[g(X_j)], g(x) = -(x/n) ln(x/n), with X_j ~
  // Hypergeometric(M, c_j, n) summed exactly over its pmf (fourth-order series beyond sd 8),
  // E[KL] = H(c/M) - E[H] (exact). Variance: exact per-token variances plus the first-order
  // (delta-method) covariance between tokens; see docs/analysis.md.
  NullMoments ClosedForm(uint64_t n) const;

  // Monte Carlo: `samples` independent draws of one pathway's counts, seeded with `seed`.
  NullMoments MonteCarlo(uint64_t n, int samples, uint64_t seed) const;

  // Upper bound of random draws one Monte Carlo sample costs (to budget MC against).
  uint64_t MonteCarloCostPerSample() const { return mc_cost_; }

  uint64_t total() const { return total_; }
  // Entropy of the population distribution c/M in nats.
  double population_entropy() const { return population_entropy_; }

 private:
  std::vector<uint64_t> column_total_;
  // Distinct values of c_j with their multiplicities.
  std::vector<std::pair<uint64_t, uint64_t>> groups_;
  uint64_t total_ = 0;
  double population_entropy_ = 0.0;
  double sum_q2_ = 0.0;          // sum q^2
  double sum_q2_1lnq_sq_ = 0.0;  // sum q^2 (1 + ln q)^2
  uint64_t mc_cost_ = 0;
};

}  // namespace monoroute::analysis

#endif  // MONOROUTE_SERVICES_ANALYSIS_NULL_MODEL_H_
