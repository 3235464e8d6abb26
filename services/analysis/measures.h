// The measures of one layer's routing counts, one function each: pathway entropy, KL to the
// layer's token unigram, mutual information I(pathway; token) and per-token specialisation.
// Pure functions of RoutingCounts, so the observed data, every null replicate and every
// bootstrap replicate go through the same code. No gRPC, no LibTorch.
#ifndef MONOROUTE_SERVICES_ANALYSIS_MEASURES_H_
#define MONOROUTE_SERVICES_ANALYSIS_MEASURES_H_

#include <cmath>
#include <cstdint>
#include <vector>

#include "services/analysis/routing_counts.h"

namespace monoroute::analysis {

// x ln x for a count (0 for 0); exact to double rounding. Thread-safe.
double XLogX(uint64_t x);

// Counts below kSmallCount take ln x and x ln x from tables (the same doubles std::log gives).
inline constexpr uint32_t kSmallCount = 1 << 16;
// ln x for x in [0, kSmallCount) (ln 0 = -inf) and x ln x (0 for 0); built once, thread-safe.
const double* LogTable();
const double* XLogXTable();
// ln x of a count through LogTable() when small (`log_table` = LogTable(), hoisted by callers).
inline double LogCount(uint64_t x, const double* log_table) {
  return x < kSmallCount ? log_table[x] : std::log(static_cast<double>(x));
}

// Per pathway: S1 = sum_t x ln x and S2 = sum_t x ln c_t over its cells (x = cell, c_t = the
// column total): the sufficient sums of entropy and KL.
struct PathwaySums {
  std::vector<double> xlogx;
  std::vector<double> xlogc;
};
PathwaySums ComputePathwaySums(const RoutingCounts& counts);

// Plug-in entropy (nats) of each pathway's token distribution; NaN for a pathway without load.
std::vector<double> PathwayEntropies(const RoutingCounts& counts, const PathwaySums& sums);

// KL (nats) of each pathway's token distribution to the layer's token distribution over
// routings (c_t / M): token specialisation corrected for token frequency; NaN without load.
std::vector<double> PathwayKl(const RoutingCounts& counts, const PathwaySums& sums);

// I(pathway; token) over the layer's routings = sum_p (load_p / M) KL_p (nats). Bounded by
// ln(P / k): every token's k routings go to k distinct pathways, so H(pathway | token) >= ln k.
double MutualInformation(const RoutingCounts& counts, const std::vector<double>& kl);

// Per-token specialisation (OLMoE style): for each token with at least `min_events` events,
// s_t = (routings of t to its most frequent pathway) / (events of t): the share of its
// occurrences whose top-k holds that pathway.
struct TokenSpecialisation {
  // Mean of s_t over eligible tokens (NaN when none), and the event-weighted mean.
  double mean = 0.0;
  double weighted = 0.0;
  uint64_t eligible = 0;
  // Per column when asked for: its most frequent pathway (ties: lowest; kNoOwner when not
  // eligible) and s_t.
  std::vector<uint32_t> owner;
  std::vector<double> share;
};
inline constexpr uint32_t kNoOwner = ~uint32_t{0};
TokenSpecialisation ComputeTokenSpecialisation(const RoutingCounts& counts, uint32_t top_k,
                                               uint64_t min_events, bool per_token);

}  // namespace monoroute::analysis

#endif  // MONOROUTE_SERVICES_ANALYSIS_MEASURES_H_
