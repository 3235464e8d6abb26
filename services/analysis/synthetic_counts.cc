// SyntheticCounts: Zipf token totals, then binomial routing counts per (token, pathway).
#include "services/analysis/synthetic_counts.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace monoroute::analysis {

std::vector<CountTriple> SyntheticCounts(const SyntheticOptions& o) {
  std::mt19937_64 rng(o.seed);
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  std::normal_distribution<double> z(0.0, 1.0);
  const uint32_t P = std::max<uint32_t>(1, o.num_pathways);
  const uint32_t k = std::clamp<uint32_t>(o.top_k, 1, P);
  double norm = 0.0;
  for (uint32_t t = 0; t < o.vocab; ++t) norm += std::pow(t + 1.0, -o.zipf);
  std::vector<CountTriple> out;
  std::vector<double> w(P);
  std::vector<uint64_t> cnt(P);
  for (uint32_t t = 0; t < o.vocab; ++t) {
    const double expect = o.events * std::pow(t + 1.0, -o.zipf) / norm;
    const uint64_t occ = static_cast<uint64_t>(expect) + (u01(rng) < expect - std::floor(expect));
    if (occ == 0) continue;
    for (uint32_t p = 0; p < P; ++p) w[p] = std::exp(o.preference * z(rng));
    // Inclusion probabilities pi_p = k w_p / sum w, capped at 1 (excess re-spread), sum = k.
    std::vector<double>& pi = w;
    std::vector<bool> capped(P, false);
    for (int round = 0; round < 16; ++round) {
      double free_w = 0.0, fixed = 0.0;
      for (uint32_t p = 0; p < P; ++p) (capped[p] ? fixed : free_w) += capped[p] ? 1.0 : pi[p];
      bool changed = false;
      for (uint32_t p = 0; p < P; ++p) {
        if (capped[p]) continue;
        pi[p] = (k - fixed) * pi[p] / free_w;
        if (pi[p] >= 1.0) {
          pi[p] = 1.0;
          capped[p] = true;
          changed = true;
        }
      }
      if (!changed) break;
    }
    // Each pathway's count: Binomial(occurrences, pi_p) (its marginal under such routing).
    for (uint32_t p = 0; p < P; ++p) {
      std::binomial_distribution<uint64_t> bin(occ, std::clamp(pi[p], 0.0, 1.0));
      cnt[p] = bin(rng);
    }
    for (uint32_t p = 0; p < P; ++p) {
      if (cnt[p] > 0) out.push_back({p, t, cnt[p]});
    }
  }
  return out;
}

}  // namespace monoroute::analysis
