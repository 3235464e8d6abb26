// Timing helpers of the `monoroute` commands that measure or report durations (the `bench`
// commands, explore, demo, the balancing study): seconds on the steady clock since a start and the
// median of repeated timings. Header-only (the CLI globs only cmd_*.cc). Thread-compatible.
#ifndef MONOROUTE_CLIENTS_CLI_BENCH_TIMING_H_
#define MONOROUTE_CLIENTS_CLI_BENCH_TIMING_H_

#include <algorithm>
#include <chrono>
#include <vector>

namespace monoroute::cli {

// Seconds from `start` to now on the steady clock.
inline double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The median of `v` (the upper middle value for an even count); `v` must not be empty.
inline double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace monoroute::cli

#endif  // MONOROUTE_CLIENTS_CLI_BENCH_TIMING_H_
