// RunCategoryTest: label permutations (category MI and KL null levels, per-pathway type means),
// their standardisation and the max-T p-values.
#include "services/analysis/category_test.h"

#include <algorithm>
#include <cmath>

#include "common/base/hash.h"
#include "services/analysis/resampling.h"

namespace monoroute::analysis {
namespace {

constexpr uint64_t kCategoryStream = 0x63617467;

// Mean and sd over permutations of every (pathway, category) type mean.
struct Standardiser {
  size_t C = 0;
  std::vector<double> mean, sd;

  // Largest z over categories of pathway p in means `m` (arg: its category, may be null).
  double MaxZ(const double* m, uint32_t p, size_t* arg) const {
    double best = -INFINITY;
    for (size_t c = 0; c < C; ++c) {
      const size_t i = p * C + c;
      if (!(sd[i] > 0.0) || !std::isfinite(m[i])) continue;
      const double zz = (m[i] - mean[i]) / sd[i];
      if (zz > best) {
        best = zz;
        if (arg != nullptr) *arg = c;
      }
    }
    return best;
  }
};

Standardiser Standardise(const std::vector<double>& perm_means, int R, size_t PC, size_t C) {
  Standardiser s;
  s.C = C;
  s.mean.assign(PC, 0.0);
  s.sd.assign(PC, 0.0);
  std::vector<int> cnt(PC, 0);
  for (int r = 0; r < R; ++r) {
    for (size_t i = 0; i < PC; ++i) {
      const double v = perm_means[r * PC + i];
      if (std::isfinite(v)) {
        s.mean[i] += v;
        ++cnt[i];
      }
    }
  }
  for (size_t i = 0; i < PC; ++i) s.mean[i] = cnt[i] ? s.mean[i] / cnt[i] : kNaN;
  for (int r = 0; r < R; ++r) {
    for (size_t i = 0; i < PC; ++i) {
      const double v = perm_means[r * PC + i];
      if (std::isfinite(v)) s.sd[i] += (v - s.mean[i]) * (v - s.mean[i]);
    }
  }
  for (size_t i = 0; i < PC; ++i) s.sd[i] = cnt[i] > 1 ? std::sqrt(s.sd[i] / (cnt[i] - 1)) : 0;
  return s;
}

// Enrichment of category `arg` in row p: its mean share over what frequency-matched types get
// (the label-permutation mean: the same number of types drawn from the same frequency strata),
// so a category of frequent types is not "enriched" in a pathway that takes frequent types.
double Enrichment(const std::vector<double>& means, const Standardiser& st, uint32_t p, size_t C,
                  size_t arg) {
  const size_t i = p * C + arg;
  return st.mean[i] > 0 ? means[i] / st.mean[i] : kNaN;
}

}  // namespace

CategoryTestResult RunCategoryTest(const RoutingCounts& obs, const CategoryLayout& layout,
                                   uint32_t k, const AnalysisOptions& o, uint32_t layer) {
  const uint32_t P = obs.num_pathways;
  const size_t C = layout.num_categories;
  CategoryTestResult out;
  out.p_value.assign(P, kNaN);
  out.best_category.assign(P, -1);
  out.enrichment.assign(P, kNaN);
  out.null.pathway_category_kl.assign(P, kNaN);
  std::vector<uint64_t> joint;
  CategoryJoint(obs, layout, layout.labels, &joint);
  const CategoryMeasures cat_obs = ComputeCategoryMeasures(joint, P, C, k);
  // The smallest permutation p-value is 1 / (R + 1): with BH over P pathways a lone discovery
  // needs (R + 1) >= P / fdr, so R is raised to twice that when asked for fewer.
  const int min_r = static_cast<int>(std::ceil(2.0 * P / o.fdr)) - 1;
  const int R = cat_obs.total > 0 && o.category_permutations > 0
                    ? std::max(o.category_permutations, min_r)
                    : 0;
  out.permutations = R;
  if (R == 0) return out;
  const TypeProfiles profiles = MakeTypeProfiles(obs, layout, k, o.min_token_count);
  Xoshiro256 rng(HashPair(o.seed ^ kCategoryStream, layer));
  std::vector<int32_t> labels;
  std::vector<double> mi(R), kl_sum(P, 0.0), means;
  std::vector<int> kl_n(P, 0);
  const size_t PC = P * C;
  std::vector<double> perm_means(static_cast<size_t>(R) * PC);
  for (int r = 0; r < R; ++r) {
    PermuteLabels(layout, rng, &labels);
    CategoryJoint(obs, layout, labels, &joint);
    CategoryTypeMeans(profiles, layout, labels, &means);
    std::copy(means.begin(), means.end(), perm_means.begin() + static_cast<size_t>(r) * PC);
    const CategoryMeasures m = ComputeCategoryMeasures(joint, P, C, k);
    mi[r] = m.mi;
    for (uint32_t p = 0; p < P; ++p) {
      if (!std::isfinite(m.pathway_kl[p])) continue;
      kl_sum[p] += m.pathway_kl[p];
      ++kl_n[p];
    }
  }
  out.null.category_mi = Summarise(mi).mean;
  const Standardiser st = Standardise(perm_means, R, PC, C);
  CategoryTypeMeans(profiles, layout, layout.labels, &means);
  for (uint32_t p = 0; p < P; ++p) {
    if (!std::isfinite(cat_obs.pathway_kl[p]) || kl_n[p] == 0) continue;
    out.null.pathway_category_kl[p] = kl_sum[p] / kl_n[p];
    size_t arg = 0;
    const double t_obs = st.MaxZ(means.data(), p, &arg);
    if (!std::isfinite(t_obs)) continue;
    int ge = 0;
    for (int r = 0; r < R; ++r) {
      ge += st.MaxZ(perm_means.data() + static_cast<size_t>(r) * PC, p, nullptr) >= t_obs - 1e-12;
    }
    out.p_value[p] = (1.0 + ge) / (1.0 + R);
    out.best_category[p] = static_cast<int>(arg);
    out.enrichment[p] = Enrichment(means, st, p, C, arg);
  }
  return out;
}

}  // namespace monoroute::analysis
