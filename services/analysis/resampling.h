// Resampling for the analysis (the routing null's permutation lives with the counting kernel,
// routing_counts.h): the block bootstrap (Poisson(1) weight per block, keyed so that a run and its controls
// resample the same sequences), summary statistics of replicates, normal quantiles and the
// Benjamini-Hochberg procedure. No gRPC, no LibTorch.
#ifndef MONOROUTE_SERVICES_ANALYSIS_RESAMPLING_H_
#define MONOROUTE_SERVICES_ANALYSIS_RESAMPLING_H_

#include <cstdint>
#include <vector>

#include "common/base/hash.h"
#include "services/analysis/routing_table.h"

namespace monoroute::analysis {

// The Poisson(1) weight of the block with `key` in bootstrap replicate `replicate` of `seed`:
// equal keys get equal weights in every table, so paired comparisons resample the same
// sequences. Deterministic and thread-safe.
uint32_t PoissonBlockWeight(uint64_t seed, uint32_t replicate, uint64_t key);

// The weights of every block of `table` for one replicate (resized).
void BlockWeights(const RoutingTable& table, uint64_t seed, uint32_t replicate,
                  std::vector<uint32_t>* weights);

// Mean and sample standard deviation of the finite values (NaN when fewer than 1 / 2).
struct MeanSd {
  double mean = 0.0;
  double sd = 0.0;
  int n = 0;
};
MeanSd Summarise(const std::vector<double>& values);

// Standard normal quantile (Acklam's rational approximation refined by one Halley step;
// |error| < 1e-12) and upper tail probability.
double NormalQuantile(double p);
double NormalUpperTail(double z);

// Benjamini-Hochberg adjusted p-values (q-values) of `p` (NaN entries are ignored and stay NaN).
// Rejecting q <= alpha controls the false-discovery rate at alpha for independent or positively
// dependent tests.
std::vector<double> BenjaminiHochberg(const std::vector<double>& p);

}  // namespace monoroute::analysis

#endif  // MONOROUTE_SERVICES_ANALYSIS_RESAMPLING_H_
