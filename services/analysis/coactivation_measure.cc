// MeasureCoactivation: one counting pass over the pairs of each token's top-k set per replicate
// (the null draws work on the P x P counts alone), then EffectsOf.
#include "services/analysis/coactivation_measure.h"

#include <algorithm>
#include <cmath>

#include "common/base/hash.h"
#include "services/analysis/resampling.h"
#include "services/analysis/structure_effect.h"

namespace monoroute::analysis {
namespace {

constexpr uint64_t kCoactivationStream = 0x636f6163;  // mixed into the seed

// Together counts, [a * P + b] for a < b, of `table` with per-block weights (null: 1).
std::vector<double> PairCounts(const RoutingTable& table, const uint32_t* block_weight) {
  const uint32_t P = table.num_pathways;
  std::vector<double> together(size_t{P} * P, 0.0);
  uint32_t set[kMaxAnalysisPathways];
  DispatchMaskWidth(table.mask_words, [&](auto width) {
    for (size_t b = 0; b < table.blocks(); ++b) {
      const double w = block_weight != nullptr ? block_weight[b] : 1.0;
      if (w == 0) continue;
      for (uint32_t e = table.block_begin[b]; e < table.block_begin[b + 1]; ++e) {
        uint32_t n = 0;
        ForEachPathway(width, table.mask_row(e), [&](uint32_t p) { set[n++] = p; });
        for (uint32_t i = 0; i < n; ++i) {
          for (uint32_t j = i + 1; j < n; ++j) together[set[i] * P + set[j]] += w;
        }
      }
    }
  });
  return together;
}

// Loads (each pathway's tokens) and routings (tokens * k) implied by the pair counts.
struct Loads {
  std::vector<double> load;
  double routings = 0.0;
};

Loads LoadsOf(const std::vector<double>& together, uint32_t P, uint32_t k) {
  Loads l;
  l.load.assign(P, 0.0);
  for (uint32_t a = 0; a < P; ++a) {
    for (uint32_t b = a + 1; b < P; ++b) {
      l.load[a] += together[a * P + b] / (k - 1);
      l.load[b] += together[a * P + b] / (k - 1);
    }
  }
  for (double x : l.load) l.routings += x;
  return l;
}

// [distance, lift of each pair a < b in (a, b) order].
std::vector<double> Values(const std::vector<double>& together, uint32_t P, uint32_t k) {
  const std::vector<double> expected = PairExpectations(LoadsOf(together, P, k).load, k);
  std::vector<double> out(1, kNaN);
  double away = 0.0, pairs = 0.0;
  for (uint32_t a = 0; a < P; ++a) {
    for (uint32_t b = a + 1; b < P; ++b) {
      const double x = together[a * P + b];
      const double e = expected[a * P + b];
      pairs += x;
      if (std::isfinite(e) && e > 0) away += std::abs(x - e);
      out.push_back(std::isfinite(e) && e > 0 ? x / e : kNaN);
    }
  }
  if (pairs > 0) out[0] = away / (2.0 * pairs);
  return out;
}

// A binomial(n, p) draw: inversion for small means, else the rounded normal approximation.
double Binomial(double n, double p, Xoshiro256& rng) {
  if (!(p > 0) || !(n > 0)) return 0.0;
  if (p >= 1) return n;
  const double mean = n * p;
  if (mean < 30) {
    const double u = rng.Uniform();
    double pmf = std::exp(n * std::log1p(-p)), cdf = pmf, x = 0;
    while (u > cdf && x < n && pmf > 0) {
      pmf *= (n - x) / (x + 1) * p / (1 - p);
      cdf += pmf;
      ++x;
    }
    return x;
  }
  const double z = NormalQuantile(std::clamp(rng.Uniform(), 1e-12, 1 - 1e-12));
  return std::clamp(std::round(mean + z * std::sqrt(mean * (1 - p))), 0.0, n);
}

// One draw of the load-matched null at the loads of `together`.
std::vector<double> NullDraw(const std::vector<double>& together, uint32_t P, uint32_t k,
                             Xoshiro256& rng) {
  const Loads l = LoadsOf(together, P, k);
  const double tokens = std::round(l.routings / k);
  const std::vector<double> expected = PairExpectations(l.load, k);
  std::vector<double> out(size_t{P} * P, 0.0);
  for (uint32_t a = 0; a < P; ++a) {
    for (uint32_t b = a + 1; b < P; ++b) {
      const double e = expected[a * P + b];
      if (std::isfinite(e) && e > 0) out[a * P + b] = Binomial(tokens, e / tokens, rng);
    }
  }
  return out;
}

// At most kMaxListedPairs of `pairs` (see CoactivationResult), still in (a, b) order.
void KeepStrongestPairs(std::vector<CoactivationPair>* pairs) {
  if (pairs->size() <= kMaxListedPairs) return;
  auto excludes_null = [](const CoactivationPair& p) {
    return std::isfinite(p.lift.ci.low) && (p.lift.ci.low > 0 || p.lift.ci.high < 0);
  };
  const bool intervals = std::any_of(pairs->begin(), pairs->end(), [](const CoactivationPair& p) {
    return std::isfinite(p.lift.ci.low);
  });
  if (intervals) {
    pairs->erase(std::remove_if(pairs->begin(), pairs->end(),
                                [&](const CoactivationPair& p) { return !excludes_null(p); }),
                 pairs->end());
  }
  auto strength = [](const CoactivationPair& p) {
    return std::isfinite(p.lift.excess) ? std::abs(p.lift.excess) : -1.0;
  };
  const size_t n = std::min(pairs->size(), kMaxListedPairs);
  std::partial_sort(pairs->begin(), pairs->begin() + n, pairs->end(),
                    [&](const CoactivationPair& x, const CoactivationPair& y) {
                      if (strength(x) != strength(y)) return strength(x) > strength(y);
                      return std::make_pair(x.pathway_a, x.pathway_b) <
                             std::make_pair(y.pathway_a, y.pathway_b);
                    });
  pairs->resize(n);
  std::sort(pairs->begin(), pairs->end(), [](const CoactivationPair& x, const CoactivationPair& y) {
    return std::make_pair(x.pathway_a, x.pathway_b) < std::make_pair(y.pathway_a, y.pathway_b);
  });
}

std::vector<double> Minus(std::vector<double> a, const std::vector<double>& b) {
  for (size_t i = 0; i < a.size(); ++i) a[i] -= b[i];
  return a;
}

}  // namespace

std::vector<double> PairExpectations(const std::vector<double>& load, uint32_t k) {
  const size_t P = load.size();
  std::vector<double> out(P * P, 0.0);
  if (k < 2) return out;
  // x_a = t_a / (X - x_a), t_a = load_a (k - 1), X = sum x: a damped fixed point.
  std::vector<double> t(P), x(P);
  double total = 0.0;
  for (size_t a = 0; a < P; ++a) total += t[a] = load[a] * (k - 1);
  if (!(total > 0)) return out;
  for (size_t a = 0; a < P; ++a) x[a] = t[a] / std::sqrt(total);
  for (int it = 0; it < 1000; ++it) {
    double X = 0.0, change = 0.0;
    for (double v : x) X += v;
    for (size_t a = 0; a < P; ++a) {
      if (t[a] == 0 || !(X - x[a] > 0)) continue;
      const double next = std::sqrt(x[a] * t[a] / (X - x[a]));
      change = std::max(change, std::abs(next - x[a]) / x[a]);
      x[a] = next;
    }
    if (change < 1e-12) break;
  }
  for (size_t a = 0; a < P; ++a) {
    for (size_t b = 0; b < P; ++b) {
      if (a != b) out[a * P + b] = x[a] * x[b];
    }
  }
  return out;
}

CoactivationResult MeasureCoactivation(const RoutingTable& table, const AnalysisOptions& o,
                                       uint32_t layer) {
  CoactivationResult r;
  const uint32_t P = table.num_pathways, k = table.top_k;
  if (k < 2 || table.events() == 0) return r;
  const std::vector<double> together = PairCounts(table, nullptr);
  const std::vector<double> observed = Values(together, P, k);
  Xoshiro256 rng(HashPair(o.seed ^ kCoactivationStream, layer));
  std::vector<std::vector<double>> null, boot;
  for (int i = 0; i < o.null_replicates; ++i) {
    null.push_back(Values(NullDraw(together, P, k, rng), P, k));
  }
  const int B =
      o.bootstrap > 0 && table.blocks() >= static_cast<size_t>(o.min_blocks) ? o.bootstrap : 0;
  std::vector<uint32_t> w;
  for (int i = 0; i < B; ++i) {
    BlockWeights(table, o.seed, static_cast<uint32_t>(i), &w);
    const std::vector<double> t = PairCounts(table, w.data());
    boot.push_back(Minus(Values(t, P, k), Values(NullDraw(t, P, k, rng), P, k)));
  }
  const std::vector<Effect> e =
      EffectsOf(observed, ReplicateMeans(null, observed.size()), boot, o.confidence);
  r.distance = e[0];
  const std::vector<double> expected = PairExpectations(LoadsOf(together, P, k).load, k);
  size_t i = 1;
  for (uint32_t a = 0; a < P; ++a) {
    for (uint32_t b = a + 1; b < P; ++b, ++i) {
      const double ex = expected[a * P + b];
      if (!(ex > 0)) continue;
      r.pairs.push_back({a, b, static_cast<uint64_t>(together[a * P + b]), ex, e[i]});
    }
  }
  KeepStrongestPairs(&r.pairs);
  return r;
}

}  // namespace monoroute::analysis
