// Measures over dense routing counts: one pass per measure over the cells.
#include "services/analysis/measures.h"

#include <cmath>
#include <limits>

namespace monoroute::analysis {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr uint32_t kTableSize = kSmallCount;

}  // namespace

const double* XLogXTable() {
  static const double* table = [] {
    double* t = new double[kTableSize];
    t[0] = 0.0;
    for (uint32_t x = 1; x < kTableSize; ++x) t[x] = x * std::log(static_cast<double>(x));
    return t;
  }();
  return table;
}

const double* LogTable() {
  static const double* table = [] {
    double* t = new double[kTableSize];
    for (uint32_t x = 0; x < kTableSize; ++x) t[x] = std::log(static_cast<double>(x));
    return t;
  }();
  return table;
}

double XLogX(uint64_t x) {
  if (x < kTableSize) return XLogXTable()[x];
  const double d = static_cast<double>(x);
  return d * std::log(d);
}

PathwaySums ComputePathwaySums(const RoutingCounts& counts) {
  const uint32_t P = counts.num_pathways;
  const double* table = XLogXTable();
  const double* log_table = LogTable();
  PathwaySums s;
  s.xlogx.assign(P, 0.0);
  s.xlogc.assign(P, 0.0);
  const uint32_t* cells = counts.cells.data();
  for (size_t c = 0; c < counts.columns(); ++c) {
    if (counts.column_total[c] == 0) continue;
    const double logc = LogCount(counts.column_total[c], log_table);
    const uint32_t* row = cells + c * P;
    for (uint32_t p = 0; p < P; ++p) {
      const uint32_t x = row[p];
      if (x == 0) continue;
      s.xlogx[p] += x < kTableSize ? table[x] : XLogX(x);
      s.xlogc[p] += x * logc;
    }
  }
  return s;
}

std::vector<double> PathwayEntropies(const RoutingCounts& counts, const PathwaySums& sums) {
  std::vector<double> h(counts.num_pathways, kNaN);
  for (uint32_t p = 0; p < counts.num_pathways; ++p) {
    if (counts.load[p] == 0) continue;
    const double n = static_cast<double>(counts.load[p]);
    h[p] = std::max(0.0, std::log(n) - sums.xlogx[p] / n);
  }
  return h;
}

std::vector<double> PathwayKl(const RoutingCounts& counts, const PathwaySums& sums) {
  std::vector<double> kl(counts.num_pathways, kNaN);
  if (counts.total == 0) return kl;
  const double log_m = std::log(static_cast<double>(counts.total));
  for (uint32_t p = 0; p < counts.num_pathways; ++p) {
    if (counts.load[p] == 0) continue;
    const double n = static_cast<double>(counts.load[p]);
    kl[p] = std::max(0.0, (sums.xlogx[p] - sums.xlogc[p]) / n + log_m - std::log(n));
  }
  return kl;
}

double MutualInformation(const RoutingCounts& counts, const std::vector<double>& kl) {
  if (counts.total == 0) return kNaN;
  double mi = 0.0;
  for (uint32_t p = 0; p < counts.num_pathways; ++p) {
    if (counts.load[p] == 0) continue;
    mi += static_cast<double>(counts.load[p]) / static_cast<double>(counts.total) * kl[p];
  }
  return std::max(0.0, mi);
}

TokenSpecialisation ComputeTokenSpecialisation(const RoutingCounts& counts, uint32_t top_k,
                                               uint64_t min_events, bool per_token) {
  TokenSpecialisation r;
  const uint32_t P = counts.num_pathways;
  const size_t V = counts.columns();
  if (per_token) {
    r.owner.assign(V, kNoOwner);
    r.share.assign(V, kNaN);
  }
  const uint64_t min_routings = std::max<uint64_t>(1, min_events) * top_k;
  double sum = 0.0, wsum = 0.0, w = 0.0;
  for (size_t c = 0; c < V; ++c) {
    const uint64_t total = counts.column_total[c];
    if (total < min_routings) continue;
    const uint32_t* row = counts.cells.data() + c * P;
    uint32_t best = 0, arg = 0;
    for (uint32_t p = 0; p < P; ++p) {
      if (row[p] > best) {
        best = row[p];
        arg = p;
      }
    }
    // events = total / k; s = best / events.
    const double s = std::min(1.0, static_cast<double>(best) * top_k / static_cast<double>(total));
    ++r.eligible;
    sum += s;
    wsum += s * static_cast<double>(total);
    w += static_cast<double>(total);
    if (per_token) {
      r.owner[c] = arg;
      r.share[c] = s;
    }
  }
  r.mean = r.eligible ? sum / static_cast<double>(r.eligible) : kNaN;
  r.weighted = w > 0 ? wsum / w : kNaN;
  return r;
}

}  // namespace monoroute::analysis
