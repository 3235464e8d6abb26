// Category tables, measures and the stratified label permutation.
#include "services/analysis/category_stats.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "services/analysis/measures.h"

namespace monoroute::analysis {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double Entropy(const std::vector<uint64_t>& v, uint64_t total) {
  if (total == 0) return 0.0;
  double s = 0.0;
  for (uint64_t x : v) s += XLogX(x);
  const double n = static_cast<double>(total);
  return std::max(0.0, std::log(n) - s / n);
}

}  // namespace

CategoryLayout MakeCategoryLayout(const RoutingTable& table, const CategoryMap& map,
                                  int stratum_types) {
  CategoryLayout l;
  l.num_categories = map.names.size();
  for (uint32_t c = 0; c < table.columns(); ++c) {
    const int cat = map.Get(table.column_token[c]);
    if (cat >= 0 && static_cast<size_t>(cat) < l.num_categories) l.columns.push_back(c);
  }
  // By frequency (ties: token order), then cut into strata of `stratum_types` adjacent types (the
  // last one takes the remainder when it would be smaller than half a stratum).
  std::stable_sort(l.columns.begin(), l.columns.end(), [&](uint32_t a, uint32_t b) {
    return table.column_events[a] < table.column_events[b];
  });
  for (uint32_t c : l.columns) l.labels.push_back(map.Get(table.column_token[c]));
  const size_t n = l.columns.size();
  const size_t w = static_cast<size_t>(std::max(1, stratum_types));
  l.strata.push_back(0);
  for (size_t i = w; i < n; i += w) {
    if (n - i < (w + 1) / 2) break;
    l.strata.push_back(static_cast<uint32_t>(i));
  }
  l.strata.push_back(static_cast<uint32_t>(n));
  return l;
}

void PermuteLabels(const CategoryLayout& layout, Xoshiro256& rng, std::vector<int32_t>* labels) {
  *labels = layout.labels;
  for (size_t s = 0; s + 1 < layout.strata.size(); ++s) {
    const uint32_t lo = layout.strata[s];
    const uint32_t n = layout.strata[s + 1] - lo;
    for (uint32_t i = n; i > 1; --i) {
      const uint32_t j = static_cast<uint32_t>(rng.Below(i));
      std::swap((*labels)[lo + i - 1], (*labels)[lo + j]);
    }
  }
}

void CategoryJoint(const RoutingCounts& counts, const CategoryLayout& layout,
                   const std::vector<int32_t>& labels, std::vector<uint64_t>* joint) {
  const uint32_t P = counts.num_pathways;
  const size_t C = layout.num_categories;
  joint->assign(static_cast<size_t>(P) * C, 0);
  uint64_t* j = joint->data();
  for (size_t i = 0; i < layout.columns.size(); ++i) {
    const uint32_t* row = counts.cells.data() + static_cast<size_t>(layout.columns[i]) * P;
    const size_t c = static_cast<size_t>(labels[i]);
    for (uint32_t p = 0; p < P; ++p) j[p * C + c] += row[p];
  }
}

TypeProfiles MakeTypeProfiles(const RoutingCounts& counts, const CategoryLayout& layout,
                              uint32_t top_k, uint64_t min_events) {
  TypeProfiles t;
  const uint32_t P = counts.num_pathways;
  t.num_pathways = P;
  t.share.assign(layout.columns.size() * P, 0.0);
  t.eligible.assign(layout.columns.size(), false);
  const uint64_t min_routings = std::max<uint64_t>(1, min_events) * top_k;
  for (size_t i = 0; i < layout.columns.size(); ++i) {
    const size_t c = layout.columns[i];
    const uint64_t total = counts.column_total[c];
    if (total < min_routings) continue;
    t.eligible[i] = true;
    const double events = static_cast<double>(total) / top_k;
    for (uint32_t p = 0; p < P; ++p) t.share[i * P + p] = counts.cell(c, p) / events;
  }
  return t;
}

void CategoryTypeMeans(const TypeProfiles& profiles, const CategoryLayout& layout,
                       const std::vector<int32_t>& labels, std::vector<double>* means) {
  const uint32_t P = profiles.num_pathways;
  const size_t C = layout.num_categories;
  means->assign(static_cast<size_t>(P) * C, 0.0);
  std::vector<uint32_t> n(C, 0);
  double* m = means->data();
  for (size_t i = 0; i < labels.size(); ++i) {
    if (!profiles.eligible[i]) continue;
    const size_t c = static_cast<size_t>(labels[i]);
    ++n[c];
    const double* row = profiles.share.data() + i * P;
    for (uint32_t p = 0; p < P; ++p) m[p * C + c] += row[p];
  }
  for (uint32_t p = 0; p < P; ++p) {
    for (size_t c = 0; c < C; ++c) m[p * C + c] = n[c] ? m[p * C + c] / n[c] : kNaN;
  }
}

CategoryMeasures ComputeCategoryMeasures(const std::vector<uint64_t>& joint, uint32_t num_pathways,
                                         size_t num_categories, uint32_t top_k) {
  const uint32_t P = num_pathways;
  const size_t C = num_categories;
  CategoryMeasures m;
  m.pathway_total.assign(P, 0);
  m.pathway_kl.assign(P, kNaN);
  std::vector<uint64_t> cat_total(C, 0);
  double joint_xlogx = 0.0;
  for (uint32_t p = 0; p < P; ++p) {
    for (size_t c = 0; c < C; ++c) {
      const uint64_t x = joint[p * C + c];
      m.pathway_total[p] += x;
      cat_total[c] += x;
      joint_xlogx += XLogX(x);
    }
  }
  for (uint64_t x : m.pathway_total) m.total += x;
  if (m.total == 0) {
    m.mi = m.nmi = m.nmi_ceiling = m.ceiling = kNaN;
    return m;
  }
  const double n = static_cast<double>(m.total);
  m.h_pathway = Entropy(m.pathway_total, m.total);
  m.h_category = Entropy(cat_total, m.total);
  const double h_joint = std::max(0.0, std::log(n) - joint_xlogx / n);
  m.mi = std::max(0.0, m.h_pathway + m.h_category - h_joint);
  m.ceiling =
      std::max(0.0, std::min(m.h_category, m.h_pathway - std::log(static_cast<double>(top_k))));
  const double hs = m.h_pathway + m.h_category;
  m.nmi = hs > 0 ? 2.0 * m.mi / hs : kNaN;
  m.nmi_ceiling = hs > 0 ? 2.0 * m.ceiling / hs : kNaN;
  for (uint32_t p = 0; p < P; ++p) {
    const uint64_t np = m.pathway_total[p];
    if (np == 0) continue;
    double kl = 0.0;
    for (size_t c = 0; c < C; ++c) {
      const uint64_t x = joint[p * C + c];
      if (x == 0) continue;
      const double share = static_cast<double>(x) / static_cast<double>(np);
      kl += share * std::log(share * n / static_cast<double>(cat_total[c]));
    }
    m.pathway_kl[p] = std::max(0.0, kl);
  }
  return m;
}

}  // namespace monoroute::analysis
