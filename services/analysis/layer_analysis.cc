// AnalyzeLayer: one pass over the CSR rows per measure; the permutation null per pathway.
#include "services/analysis/layer_analysis.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "services/analysis/null_model.h"

namespace monoroute::analysis {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double ZScore(double value, double mean, double sd) {
  if (!std::isfinite(value) || !std::isfinite(mean) || !(sd > 0.0)) return kNaN;
  return (value - mean) / sd;
}

// A per-pathway seed derived from the user's seed (splitmix64 of a mix).
uint64_t DeriveSeed(uint64_t seed, uint64_t a, uint64_t b) {
  uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (a * 1000003ULL + b + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Max share of a category vector among its categorised total; NaN when empty.
double MaxShare(const std::vector<uint64_t>& v, size_t categories) {
  uint64_t total = 0, best = 0;
  for (size_t c = 0; c < categories; ++c) {
    total += v[c];
    best = std::max(best, v[c]);
  }
  return total == 0 ? kNaN : static_cast<double>(best) / static_cast<double>(total);
}

}  // namespace

double EntropyNats(const std::vector<uint64_t>& counts) {
  uint64_t total = 0;
  for (uint64_t c : counts) total += c;
  if (total == 0) return 0.0;
  const double n = static_cast<double>(total);
  double h = 0.0;
  for (uint64_t c : counts) {
    if (c == 0) continue;
    const double p = static_cast<double>(c) / n;
    h -= p * std::log(p);
  }
  return h;
}

double NormalisedMutualInformation(const std::vector<uint64_t>& joint, size_t rows, size_t cols) {
  std::vector<uint64_t> row_sum(rows, 0), col_sum(cols, 0);
  uint64_t total = 0;
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < cols; ++c) {
      const uint64_t v = joint[r * cols + c];
      row_sum[r] += v;
      col_sum[c] += v;
      total += v;
    }
  }
  if (total == 0) return 0.0;
  const double hr = EntropyNats(row_sum), hc = EntropyNats(col_sum);
  if (hr <= 0.0 || hc <= 0.0) return 0.0;
  const double n = static_cast<double>(total);
  double mi = 0.0;
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < cols; ++c) {
      const uint64_t v = joint[r * cols + c];
      if (v == 0) continue;
      const double pxy = static_cast<double>(v) / n;
      mi += pxy * std::log(pxy * n * n /
                           (static_cast<double>(row_sum[r]) * static_cast<double>(col_sum[c])));
    }
  }
  return std::clamp(2.0 * mi / (hr + hc), 0.0, 1.0);
}

absl::StatusOr<LayerResult> AnalyzeLayer(const CountMatrix& counts, const LayerContext& context,
                                         const AnalysisOptions& options) {
  const uint32_t P = counts.num_pathways();
  if (context.top_k == 0 || context.top_k > P) {
    return absl::InvalidArgumentError(
        absl::StrCat("layer ", context.layer, ": top_k ", context.top_k, " not in [1, ", P, "]"));
  }
  if (counts.total() == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("layer ", context.layer, ": no routings recorded in the selection"));
  }
  LayerResult L;
  L.layer = context.layer;
  L.num_pathways = P;
  L.top_k = context.top_k;
  L.routings = counts.total();
  L.events = counts.total() / context.top_k;
  L.distinct_tokens = counts.num_columns();
  L.load = counts.loads();
  L.token_specialisation_chance = static_cast<double>(context.top_k) / P;
  const double M = static_cast<double>(counts.total());
  // Purity normaliser: ln(distinct tokens routed in this layer and selection).
  const double log_v = std::log(static_cast<double>(counts.num_columns()));
  const auto& col_total = counts.column_total();
  const auto& col_token = counts.column_token();
  const auto& cell_col = counts.cell_column();
  const auto& cell_cnt = counts.cell_count();

  PermutationNull null(col_total);
  uint32_t active = 0;
  for (uint32_t p = 0; p < P; ++p) active += counts.load(p) > 0;
  const bool use_mc =
      options.null_samples >= 2 && static_cast<double>(options.null_samples) * active *
                                           static_cast<double>(null.MonteCarloCostPerSample()) <=
                                       options.mc_budget;
  L.null_method = use_mc ? "closed_form_mean+monte_carlo_std" : "closed_form";
  L.null_samples = use_mc ? options.null_samples : 0;

  // Per-token argmax pathway (for per-token specialisation).
  const size_t V = counts.num_columns();
  std::vector<uint64_t> col_max(V, 0);
  std::vector<uint32_t> col_arg(V, 0);
  for (uint32_t p = 0; p < P; ++p) {
    for (size_t i = counts.row_begin(p); i < counts.row_end(p); ++i) {
      const uint32_t j = cell_col[i];
      if (cell_cnt[i] > col_max[j]) {
        col_max[j] = cell_cnt[i];
        col_arg[j] = p;
      }
    }
  }
  const uint64_t min_routings = options.min_token_count * context.top_k;
  std::vector<uint64_t> owned(P, 0);
  std::vector<double> owned_spec(P, 0.0);
  double spec_sum = 0.0, spec_wsum = 0.0, spec_w = 0.0;
  for (size_t j = 0; j < V; ++j) {
    if (col_total[j] < std::max<uint64_t>(min_routings, 1)) continue;
    // Share of the token's occurrences whose top-k contains its most frequent pathway.
    const double s = std::min(
        1.0, static_cast<double>(col_max[j]) * context.top_k / static_cast<double>(col_total[j]));
    ++L.eligible_tokens;
    spec_sum += s;
    spec_wsum += s * static_cast<double>(col_total[j]);
    spec_w += static_cast<double>(col_total[j]);
    ++owned[col_arg[j]];
    owned_spec[col_arg[j]] += s;
  }
  L.token_specialisation = L.eligible_tokens ? spec_sum / L.eligible_tokens : kNaN;
  L.token_specialisation_weighted = spec_w > 0 ? spec_wsum / spec_w : kNaN;

  // Categories: per-column category, population per category (+ a last "none" class).
  const CategoryMap* cats = context.categories;
  const size_t C = cats ? cats->names.size() : 0;
  std::vector<int> col_cat;
  std::vector<uint64_t> cat_population(C + 1, 0);
  std::vector<uint64_t> joint;  // P x C
  if (cats) {
    col_cat.resize(V);
    for (size_t j = 0; j < V; ++j) {
      int c = cats->Get(col_token[j]);
      if (c < 0 || static_cast<size_t>(c) >= C) c = -1;
      col_cat[j] = c;
      cat_population[c < 0 ? C : c] += col_total[j];
    }
    joint.assign(static_cast<size_t>(P) * C, 0);
  }

  L.pathways.resize(P);
  uint64_t utilised = 0;
  double purity_sum = 0, purity_null_sum = 0, purity_var_sum = 0;
  double kl_sum = 0, kl_null_sum = 0, kl_var_sum = 0;
  uint64_t cat_best_sum = 0, cat_total_sum = 0;
  for (uint32_t p = 0; p < P; ++p) {
    PathwayResult& R = L.pathways[p];
    R.layer = context.layer;
    R.pathway = p;
    R.load = counts.load(p);
    R.load_share = static_cast<double>(R.load) / M;
    R.distinct_tokens = counts.row_end(p) - counts.row_begin(p);
    R.utilised = R.load_share >= options.utilisation_threshold / P && R.load > 0;
    utilised += R.utilised;
    R.owned_tokens = owned[p];
    R.mean_token_specialisation = owned[p] ? owned_spec[p] / owned[p] : kNaN;
    R.category_purity = R.null_category_purity_mean = R.null_category_purity_std =
        R.category_purity_z = kNaN;
    if (R.load == 0) {
      R.entropy_nats = R.entropy_bits = R.normalised_entropy = R.purity = R.kl_nats = kNaN;
      R.null_purity_mean = R.null_purity_std = R.purity_z = kNaN;
      R.null_kl_mean = R.null_kl_std = R.kl_z = kNaN;
      continue;
    }
    const double n = static_cast<double>(R.load);
    double h = 0.0, kl = 0.0;
    for (size_t i = counts.row_begin(p); i < counts.row_end(p); ++i) {
      const double pr = static_cast<double>(cell_cnt[i]) / n;
      const double q = static_cast<double>(col_total[cell_col[i]]) / M;
      const double lp = std::log(pr);
      h -= pr * lp;
      kl += pr * (lp - std::log(q));
    }
    R.entropy_nats = h;
    R.entropy_bits = h / std::log(2.0);
    R.kl_nats = std::max(0.0, kl);
    NullMoments nm = null.ClosedForm(R.load);
    if (use_mc) {
      const NullMoments mc =
          null.MonteCarlo(R.load, options.null_samples, DeriveSeed(options.seed, context.layer, p));
      nm.entropy_std = mc.entropy_std;
      nm.kl_std = mc.kl_std;
    }
    if (V > 1) {
      R.normalised_entropy = h / log_v;
      R.null_purity_mean = 1.0 - nm.entropy_mean / log_v;
      R.null_purity_std = nm.entropy_std / log_v;
    } else {  // a single token: every pathway is trivially pure
      R.normalised_entropy = 0.0;
      R.null_purity_mean = 1.0;
      R.null_purity_std = 0.0;
    }
    R.purity = 1.0 - R.normalised_entropy;
    R.purity_z = ZScore(R.purity, R.null_purity_mean, R.null_purity_std);
    R.null_kl_mean = nm.kl_mean;
    R.null_kl_std = nm.kl_std;
    R.kl_z = ZScore(R.kl_nats, R.null_kl_mean, R.null_kl_std);
    R.specialised = std::isfinite(R.purity_z) && R.purity_z >= options.z_threshold;
    L.specialised_pathways += R.specialised;
    purity_sum += R.purity;
    purity_null_sum += R.null_purity_mean;
    purity_var_sum += R.null_purity_std * R.null_purity_std;
    kl_sum += R.kl_nats;
    kl_null_sum += R.null_kl_mean;
    kl_var_sum += R.null_kl_std * R.null_kl_std;

    // Top tokens: partial sort of the row by count (ties: lower id first).
    std::vector<size_t> idx;
    idx.reserve(counts.row_end(p) - counts.row_begin(p));
    for (size_t i = counts.row_begin(p); i < counts.row_end(p); ++i) idx.push_back(i);
    const size_t k = std::min<size_t>(idx.size(), std::max(0, options.top_tokens));
    std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](size_t a, size_t b) {
      if (cell_cnt[a] != cell_cnt[b]) return cell_cnt[a] > cell_cnt[b];
      return cell_col[a] < cell_col[b];
    });
    for (size_t t = 0; t < k; ++t) {
      TokenCountResult tc;
      tc.token_id = col_token[cell_col[idx[t]]];
      tc.count = cell_cnt[idx[t]];
      tc.share = static_cast<double>(tc.count) / n;
      if (context.decode) tc.token = context.decode(tc.token_id);
      R.top_tokens.push_back(std::move(tc));
    }

    if (cats) {
      std::vector<uint64_t> y(C + 1, 0);
      for (size_t i = counts.row_begin(p); i < counts.row_end(p); ++i) {
        const int c = col_cat[cell_col[i]];
        y[c < 0 ? C : c] += cell_cnt[i];
      }
      uint64_t categorised = 0, best = 0;
      for (size_t c = 0; c < C; ++c) {
        joint[static_cast<size_t>(p) * C + c] = y[c];
        categorised += y[c];
        best = std::max(best, y[c]);
      }
      cat_best_sum += best;
      cat_total_sum += categorised;
      std::vector<size_t> order;
      for (size_t c = 0; c < C; ++c) {
        if (y[c] > 0) order.push_back(c);
      }
      std::sort(order.begin(), order.end(),
                [&](size_t a, size_t b) { return y[a] != y[b] ? y[a] > y[b] : a < b; });
      for (size_t c : order) {
        R.categories.push_back(
            {cats->names[c], y[c], static_cast<double>(y[c]) / static_cast<double>(categorised)});
      }
      R.category_purity = MaxShare(y, C);
      if (options.category_null_samples >= 2 && std::isfinite(R.category_purity)) {
        Rng rng(DeriveSeed(options.seed ^ 0x5bd1e995ULL, context.layer, p));
        std::vector<uint64_t> draw;
        double s = 0, s2 = 0;
        int used = 0;
        for (int i = 0; i < options.category_null_samples; ++i) {
          SampleMultivariateHypergeometric(cat_population, R.load, rng, &draw);
          const double v = MaxShare(draw, C);
          if (!std::isfinite(v)) continue;
          s += v;
          s2 += v * v;
          ++used;
        }
        if (used >= 2) {
          R.null_category_purity_mean = s / used;
          R.null_category_purity_std = std::sqrt(std::max(0.0, (s2 - s * s / used) / (used - 1)));
          R.category_purity_z =
              ZScore(R.category_purity, R.null_category_purity_mean, R.null_category_purity_std);
        }
      }
    }
  }
  L.utilisation = static_cast<double>(utilised) / P;
  L.load_entropy_normalised = P > 1 ? EntropyNats(L.load) / std::log(static_cast<double>(P)) : 0;
  if (active > 0) {
    L.mean_purity = purity_sum / active;
    L.null_purity_mean = purity_null_sum / active;
    // Pathways treated as independent under the null (their covariance is negative, so this
    // over-estimates the spread and under-states |z|).
    L.null_purity_std = std::sqrt(purity_var_sum) / active;
    L.purity_z = ZScore(L.mean_purity, L.null_purity_mean, L.null_purity_std);
    L.mean_kl_nats = kl_sum / active;
    L.null_kl_mean = kl_null_sum / active;
    L.null_kl_std = std::sqrt(kl_var_sum) / active;
    L.kl_z = ZScore(L.mean_kl_nats, L.null_kl_mean, L.null_kl_std);
  }
  if (cats) {
    L.category_nmi = NormalisedMutualInformation(joint, P, C);
    L.category_purity = cat_total_sum > 0
                            ? static_cast<double>(cat_best_sum) / static_cast<double>(cat_total_sum)
                            : kNaN;
  } else {
    L.category_nmi = L.category_purity = kNaN;
  }
  return L;
}

}  // namespace monoroute::analysis
