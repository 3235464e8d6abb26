// AnalyzeLayer: observed measures, the routing null, the block bootstrap, the category
// label-permutation null and the FDR-controlled flags; CompareWithControl.
#include "services/analysis/layer_analysis.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/base/hash.h"
#include "common/base/status_macros.h"
#include "services/analysis/measures.h"
#include "services/analysis/resampling.h"
#include "services/analysis/routing_counts.h"

namespace monoroute::analysis {
namespace {

// Streams of the seeded draws (mixed into the user's seed).
constexpr uint64_t kNullStream = 0x6e756c6c;
constexpr uint64_t kBootNullStream = 0x626f6f74;
constexpr uint64_t kCategoryStream = 0x63617467;

// Every measure of one count matrix, in the form the replicates compare.
struct Point {
  std::vector<double> entropy, kl;
  double mi = kNaN;
  double mean_purity = kNaN;
  double mean_kl = kNaN;
  double token_specialisation = kNaN;
};

Point Measure(const RoutingCounts& counts, uint32_t top_k, uint64_t min_events, double log_vocab,
              TokenSpecialisation* per_token = nullptr) {
  Point pt;
  const PathwaySums sums = ComputePathwaySums(counts);
  pt.entropy = PathwayEntropies(counts, sums);
  pt.kl = PathwayKl(counts, sums);
  pt.mi = MutualInformation(counts, pt.kl);
  double purity = 0.0, kl = 0.0;
  int active = 0;
  for (uint32_t p = 0; p < counts.num_pathways; ++p) {
    if (counts.load[p] == 0) continue;
    purity += 1.0 - pt.entropy[p] / log_vocab;
    kl += pt.kl[p];
    ++active;
  }
  if (active > 0) {
    pt.mean_purity = purity / active;
    pt.mean_kl = kl / active;
  }
  TokenSpecialisation ts =
      ComputeTokenSpecialisation(counts, top_k, min_events, per_token != nullptr);
  pt.token_specialisation = ts.mean;
  if (per_token != nullptr) *per_token = std::move(ts);
  return pt;
}

// point +- z * se; NaN bounds when se is unknown.
Interval Around(double point, double se, double z) {
  if (!std::isfinite(point) || !std::isfinite(se)) return {};
  return {point - z * se, point + z * se};
}

double Column(const std::vector<std::vector<double>>& m, size_t j, std::vector<double>* tmp) {
  tmp->clear();
  for (const auto& row : m) tmp->push_back(row[j]);
  return Summarise(*tmp).sd;
}

// One-sided p-value of "effect > threshold" from an estimate and its standard error.
double OneSidedP(double estimate, double threshold, double se) {
  if (!std::isfinite(estimate) || !(se > 0.0)) return kNaN;
  return NormalUpperTail((estimate - threshold) / se);
}

void FillTopTokens(const RoutingTable& table, const RoutingCounts& counts, uint32_t p,
                   const LayerContext& ctx, int top, PathwayResult* r) {
  std::vector<std::pair<uint32_t, uint32_t>> cells;  // (count, column)
  for (size_t c = 0; c < counts.columns(); ++c) {
    const uint32_t x = counts.cell(c, p);
    if (x > 0) cells.emplace_back(x, static_cast<uint32_t>(c));
  }
  r->distinct_tokens = cells.size();
  const size_t k = std::min<size_t>(cells.size(), static_cast<size_t>(std::max(0, top)));
  std::partial_sort(cells.begin(), cells.begin() + k, cells.end(), [](auto a, auto b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  for (size_t i = 0; i < k; ++i) {
    TokenCountResult t;
    t.token_id = table.column_token[cells[i].second];
    t.count = cells[i].first;
    t.share = static_cast<double>(t.count) / static_cast<double>(r->load);
    if (ctx.decode) t.token = ctx.decode(t.token_id);
    r->top_tokens.push_back(std::move(t));
  }
}

}  // namespace

absl::Status ValidateAnalysisOptions(const AnalysisOptions& o) {
  auto bad = [](const std::string& what) { return absl::InvalidArgumentError("options." + what); };
  if (o.top_tokens < 0 || o.top_tokens > 1000) return bad("top_tokens: must be in [0, 1000]");
  if (!(o.utilisation_threshold >= 0.0 && o.utilisation_threshold <= 16.0)) {
    return bad("utilisation_threshold: must be in [0, 16]");
  }
  if (o.null_replicates < 2 || o.null_replicates > 1000) {
    return bad("null_replicates: must be in [2, 1000]");
  }
  if (o.bootstrap < 0 || o.bootstrap > 10000) return bad("bootstrap: must be in [0, 10000]");
  if (o.min_blocks < 2) return bad("min_blocks: must be >= 2");
  if (o.category_permutations < 0 || o.category_permutations > 100000) {
    return bad("category_permutations: must be in [0, 100000]");
  }
  if (o.category_strata < 1 || o.category_strata > 1000) {
    return bad("category_strata: must be in [1, 1000]");
  }
  if (!(o.min_effect_nats >= 0.0) || !std::isfinite(o.min_effect_nats)) {
    return bad("min_effect_nats: must be a finite number >= 0");
  }
  if (!(o.min_category_enrichment >= 1.0) || !std::isfinite(o.min_category_enrichment)) {
    return bad("min_category_enrichment: must be a finite number >= 1");
  }
  if (!(o.fdr > 0.0 && o.fdr < 1.0)) return bad("fdr: must be in (0, 1)");
  if (!(o.confidence > 0.0 && o.confidence < 1.0)) return bad("confidence: must be in (0, 1)");
  if (o.training_ranges < 0 || o.training_ranges > 64) {
    return bad("training_ranges: must be in [0, 64]");
  }
  if (o.threads < 0 || o.threads > 256) return bad("threads: must be in [0, 256]");
  if (o.max_events_per_layer == 0) return bad("max_events_per_layer: must be > 0");
  return absl::OkStatus();
}

absl::StatusOr<LayerResult> AnalyzeLayer(const RoutingTable& table, const LayerContext& ctx,
                                         const AnalysisOptions& o, LayerReplicates* reps) {
  RETURN_IF_ERROR(ValidateAnalysisOptions(o));
  const uint32_t P = table.num_pathways;
  const uint32_t k = table.top_k;
  if (k == 0 || k > P) {
    return absl::InvalidArgumentError(
        absl::StrCat("layer ", ctx.layer, ": top_k ", k, " not in [1, ", P, "]"));
  }
  if (table.events() == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("layer ", ctx.layer, ": no routings recorded in the selection"));
  }
  const double z = NormalQuantile(0.5 + o.confidence / 2.0);
  const double log_vocab = std::log(static_cast<double>(std::max<uint32_t>(2, ctx.vocab_size)));

  LayerResult L;
  L.layer = ctx.layer;
  L.num_pathways = P;
  L.top_k = k;
  L.events = table.events();
  L.routings = L.events * k;
  L.blocks = table.blocks();
  L.distinct_tokens = table.columns();
  L.purity_normaliser_nats = log_vocab;
  L.mi_ceiling_nats = std::log(static_cast<double>(P) / k);
  L.null_replicates = o.null_replicates;

  // Observed.
  RoutingCounts obs;
  CountRoutings(table, nullptr, &obs);
  TokenSpecialisation ts;
  const Point pt = Measure(obs, k, o.min_token_count, log_vocab, &ts);
  L.mi_nats = pt.mi;
  L.mean_purity = pt.mean_purity;
  L.mean_kl_nats = pt.mean_kl;
  L.token_specialisation = pt.token_specialisation;
  L.token_specialisation_weighted = ts.weighted;
  L.eligible_tokens = ts.eligible;
  L.load = obs.load;
  const double M = static_cast<double>(obs.total);
  uint64_t max_load = 0;
  for (uint64_t n : obs.load) max_load = std::max(max_load, n);
  L.max_violation = static_cast<double>(max_load) / (M / P) - 1.0;
  {
    double h = 0.0;
    for (uint64_t n : obs.load) h -= n ? (n / M) * std::log(n / M) : 0.0;
    L.load_entropy_normalised = P > 1 ? h / std::log(static_cast<double>(P)) : 0.0;
  }

  // Routing null: top-k sets permuted within blocks.
  std::vector<std::vector<double>> null_h(o.null_replicates), null_kl(o.null_replicates);
  std::vector<double> null_mi, null_purity, null_mean_kl, null_ts;
  {
    Xoshiro256 rng(HashPair(o.seed ^ kNullStream, ctx.layer));
    RoutingCounts cnt;
    for (int r = 0; r < o.null_replicates; ++r) {
      CountPermutedRoutings(table, nullptr, rng, &cnt);
      Point q = Measure(cnt, k, o.min_token_count, log_vocab);
      null_mi.push_back(q.mi);
      null_purity.push_back(q.mean_purity);
      null_mean_kl.push_back(q.mean_kl);
      null_ts.push_back(q.token_specialisation);
      null_h[r] = std::move(q.entropy);
      null_kl[r] = std::move(q.kl);
    }
  }
  L.mi_null_mean = Summarise(null_mi).mean;
  L.mi_excess_nats = L.mi_nats - L.mi_null_mean;
  L.mi_excess_normalised = L.mi_excess_nats / L.mi_ceiling_nats;
  L.mean_purity_null = Summarise(null_purity).mean;
  L.mean_purity_excess = L.mean_purity - L.mean_purity_null;
  L.mean_kl_null = Summarise(null_mean_kl).mean;
  L.mean_kl_excess_nats = L.mean_kl_nats - L.mean_kl_null;
  L.token_specialisation_chance = Summarise(null_ts).mean;
  L.token_specialisation_excess = L.token_specialisation - L.token_specialisation_chance;

  // Categories: layout, observed table, label-permutation null.
  const CategoryMap* cats = ctx.categories;
  const bool with_cats = cats != nullptr && !cats->names.empty();
  CategoryLayout layout;
  CategoryMeasures cat_obs;
  std::vector<uint64_t> cat_total;  // routings per category
  std::vector<double> cat_null_kl_mean(P, kNaN), cat_p(P, kNaN), cat_enrichment(P, kNaN);
  std::vector<int> cat_best(P, -1);
  double cat_null_mi = kNaN;
  if (with_cats) {
    layout = MakeCategoryLayout(table, *cats, o.category_strata);
    std::vector<uint64_t> joint;
    CategoryJoint(obs, layout, layout.labels, &joint);
    cat_obs = ComputeCategoryMeasures(joint, P, layout.num_categories, k);
    cat_total.assign(layout.num_categories, 0);
    for (uint32_t p = 0; p < P; ++p) {
      for (size_t c = 0; c < layout.num_categories; ++c) {
        cat_total[c] += joint[p * layout.num_categories + c];
      }
    }
    L.category_tokens = layout.columns.size();
    L.category_routings = cat_obs.total;
    if (cat_obs.total > 0) {
      L.category_mi_nats = cat_obs.mi;
      L.category_mi_ceiling_nats = cat_obs.ceiling;
      L.category_nmi = cat_obs.nmi;
      L.category_nmi_ceiling = cat_obs.nmi_ceiling;
    }
    // The smallest permutation p-value is 1 / (R + 1): with BH over P pathways a lone discovery
    // needs (R + 1) >= P / fdr, so R is raised to twice that when asked for fewer.
    const int min_r = static_cast<int>(std::ceil(2.0 * P / o.fdr)) - 1;
    const int R = cat_obs.total > 0 && o.category_permutations > 0
                      ? std::max(o.category_permutations, min_r)
                      : 0;
    L.category_permutations = R;
    if (R > 0) {
      // Max-T permutation test of enrichment over token types: m[p][c] = mean share of category
      // c's types routed to p; z standardises it by its permutation mean and sd; a pathway's
      // statistic is its largest z, compared with the same maximum in every permutation (exact
      // under the null, one test per pathway whatever the number of categories).
      const size_t C = layout.num_categories;
      const TypeProfiles profiles = MakeTypeProfiles(obs, layout, k, o.min_token_count);
      Xoshiro256 rng(HashPair(o.seed ^ kCategoryStream, ctx.layer));
      std::vector<int32_t> labels;
      std::vector<double> mi(R), kl_sum(P, 0.0), means;
      std::vector<int> kl_n(P, 0);
      std::vector<double> perm_means(static_cast<size_t>(R) * P * C);
      for (int r = 0; r < R; ++r) {
        PermuteLabels(layout, rng, &labels);
        CategoryJoint(obs, layout, labels, &joint);
        CategoryTypeMeans(profiles, layout, labels, &means);
        std::copy(means.begin(), means.end(), perm_means.begin() + static_cast<size_t>(r) * P * C);
        CategoryMeasures m = ComputeCategoryMeasures(joint, P, C, k);
        mi[r] = m.mi;
        for (uint32_t p = 0; p < P; ++p) {
          if (!std::isfinite(m.pathway_kl[p])) continue;
          kl_sum[p] += m.pathway_kl[p];
          ++kl_n[p];
        }
      }
      cat_null_mi = Summarise(mi).mean;
      L.category_mi_null_mean = cat_null_mi;
      const double denom = cat_obs.ceiling - cat_null_mi;
      L.category_ami = denom > 1e-12 ? (cat_obs.mi - cat_null_mi) / denom : kNaN;
      std::vector<double> mean(P * C, 0.0), sd(P * C, 0.0);
      std::vector<int> cnt(P * C, 0);
      for (int r = 0; r < R; ++r) {
        for (size_t i = 0; i < P * C; ++i) {
          const double v = perm_means[r * P * C + i];
          if (std::isfinite(v)) {
            mean[i] += v;
            ++cnt[i];
          }
        }
      }
      for (size_t i = 0; i < P * C; ++i) mean[i] = cnt[i] ? mean[i] / cnt[i] : kNaN;
      for (int r = 0; r < R; ++r) {
        for (size_t i = 0; i < P * C; ++i) {
          const double v = perm_means[r * P * C + i];
          if (std::isfinite(v)) sd[i] += (v - mean[i]) * (v - mean[i]);
        }
      }
      for (size_t i = 0; i < P * C; ++i) sd[i] = cnt[i] > 1 ? std::sqrt(sd[i] / (cnt[i] - 1)) : 0;
      auto max_z = [&](const double* m, uint32_t p, size_t* arg) {
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
      };
      CategoryTypeMeans(profiles, layout, layout.labels, &means);
      for (uint32_t p = 0; p < P; ++p) {
        if (!std::isfinite(cat_obs.pathway_kl[p]) || kl_n[p] == 0) continue;
        cat_null_kl_mean[p] = kl_sum[p] / kl_n[p];
        size_t arg = 0;
        const double t_obs = max_z(means.data(), p, &arg);
        if (!std::isfinite(t_obs)) continue;
        int ge = 0;
        for (int r = 0; r < R; ++r) {
          ge += max_z(perm_means.data() + static_cast<size_t>(r) * P * C, p, nullptr) >=
                t_obs - 1e-12;
        }
        cat_p[p] = (1.0 + ge) / (1.0 + R);
        cat_best[p] = static_cast<int>(arg);
        // Enrichment against the pathway's typical category (the median of its category means),
        // so categories that merely avoid other pathways' specialities do not look enriched.
        std::vector<double> row;
        for (size_t c = 0; c < C; ++c) {
          if (std::isfinite(means[p * C + c])) row.push_back(means[p * C + c]);
        }
        double typical = kNaN;
        if (!row.empty()) {
          std::nth_element(row.begin(), row.begin() + row.size() / 2, row.end());
          typical = row[row.size() / 2];
          // Most categories never reach this pathway: fall back to their mean.
          if (typical <= 0) typical = std::accumulate(row.begin(), row.end(), 0.0) / row.size();
        }
        cat_enrichment[p] = typical > 0 ? means[p * C + arg] / typical : kNaN;
      }
    }
  }

  // Block bootstrap: e_r = measure(w * data) - measure(w * permuted data).
  const bool boot = o.bootstrap > 0 && table.blocks() >= static_cast<size_t>(o.min_blocks);
  const int B = boot ? o.bootstrap : 0;
  L.bootstrap_replicates = B;
  LayerReplicates local;
  LayerReplicates& R = reps != nullptr ? *reps : local;
  R = LayerReplicates{};
  std::vector<std::vector<double>> e_purity;
  std::vector<std::vector<double>> e_cat_kl;
  if (B > 0) {
    std::vector<uint32_t> w;
    std::vector<int32_t> labels;
    std::vector<uint64_t> joint;
    RoutingCounts cw, cn;
    for (int r = 0; r < B; ++r) {
      BlockWeights(table, o.seed, static_cast<uint32_t>(r), &w);
      CountRoutings(table, w.data(), &cw);
      Xoshiro256 rng(HashPair(HashPair(o.seed ^ kBootNullStream, ctx.layer), r));
      CountPermutedRoutings(table, w.data(), rng, &cn);
      const Point a = Measure(cw, k, o.min_token_count, log_vocab);
      const Point b = Measure(cn, k, o.min_token_count, log_vocab);
      R.mi.push_back(a.mi - b.mi);
      R.mean_kl.push_back(a.mean_kl - b.mean_kl);
      R.mean_purity.push_back(a.mean_purity - b.mean_purity);
      R.token_specialisation.push_back(a.token_specialisation - b.token_specialisation);
      std::vector<double> kl(P), pur(P);
      for (uint32_t p = 0; p < P; ++p) {
        kl[p] = a.kl[p] - b.kl[p];
        pur[p] = (b.entropy[p] - a.entropy[p]) / log_vocab;
      }
      R.pathway_kl.push_back(std::move(kl));
      e_purity.push_back(std::move(pur));
      if (with_cats && L.category_permutations > 0) {
        CategoryJoint(cw, layout, layout.labels, &joint);
        const CategoryMeasures ca = ComputeCategoryMeasures(joint, P, layout.num_categories, k);
        PermuteLabels(layout, rng, &labels);
        CategoryJoint(cw, layout, labels, &joint);
        const CategoryMeasures cb = ComputeCategoryMeasures(joint, P, layout.num_categories, k);
        const double denom = ca.ceiling - cat_null_mi;
        R.category_ami.push_back(denom > 1e-12 ? (ca.mi - cb.mi) / denom : kNaN);
        std::vector<double> ck(P);
        for (uint32_t p = 0; p < P; ++p) ck[p] = ca.pathway_kl[p] - cb.pathway_kl[p];
        e_cat_kl.push_back(std::move(ck));
      }
    }
    L.mi_excess_ci = Around(L.mi_excess_nats, Summarise(R.mi).sd, z);
    L.mean_kl_excess_ci = Around(L.mean_kl_excess_nats, Summarise(R.mean_kl).sd, z);
    L.mean_purity_excess_ci = Around(L.mean_purity_excess, Summarise(R.mean_purity).sd, z);
    L.token_specialisation_excess_ci =
        Around(L.token_specialisation_excess, Summarise(R.token_specialisation).sd, z);
    if (!R.category_ami.empty()) {
      L.category_ami_ci = Around(L.category_ami, Summarise(R.category_ami).sd, z);
    }
  }

  // Pathways.
  L.pathways.resize(P);
  std::vector<uint64_t> owned(P, 0);
  std::vector<double> owned_sum(P, 0.0);
  for (size_t c = 0; c < ts.owner.size(); ++c) {
    if (ts.owner[c] == kNoOwner) continue;
    ++owned[ts.owner[c]];
    owned_sum[ts.owner[c]] += ts.share[c];
  }
  uint32_t utilised = 0;
  std::vector<double> p_values(P, kNaN), cat_p_for_bh(P, kNaN);
  std::vector<double> tmp;
  for (uint32_t p = 0; p < P; ++p) {
    PathwayResult& r = L.pathways[p];
    r.layer = ctx.layer;
    r.pathway = p;
    r.load = obs.load[p];
    r.load_share = obs.load[p] / M;
    r.utilised = r.load > 0 && r.load_share >= o.utilisation_threshold / P;
    utilised += r.utilised;
    r.owned_tokens = owned[p];
    r.mean_token_specialisation = owned[p] ? owned_sum[p] / owned[p] : kNaN;
    if (r.load == 0) continue;
    r.entropy_nats = pt.entropy[p];
    r.purity = 1.0 - pt.entropy[p] / log_vocab;
    std::vector<double> hs, kls;
    for (int i = 0; i < o.null_replicates; ++i) {
      hs.push_back(null_h[i][p]);
      kls.push_back(null_kl[i][p]);
    }
    const MeanSd hn = Summarise(hs), kn = Summarise(kls);
    r.purity_null_mean = 1.0 - hn.mean / log_vocab;
    r.purity_excess = r.purity - r.purity_null_mean;
    r.kl_nats = pt.kl[p];
    r.kl_null_mean = kn.mean;
    r.kl_null_sd = kn.sd;
    r.kl_z = kn.sd > 0 ? (r.kl_nats - kn.mean) / kn.sd : kNaN;
    r.kl_excess_nats = r.kl_nats - r.kl_null_mean;
    if (B > 0) {
      const double se = Column(R.pathway_kl, p, &tmp);
      r.kl_excess_ci = Around(r.kl_excess_nats, se, z);
      r.purity_excess_ci = Around(r.purity_excess, Column(e_purity, p, &tmp), z);
      r.p_value = OneSidedP(r.kl_excess_nats, o.min_effect_nats, se);
      p_values[p] = r.p_value;
    }
    if (!ctx.summary_only) FillTopTokens(table, obs, p, ctx, o.top_tokens, &r);
    if (with_cats && cat_obs.total > 0) {
      r.category_routings = cat_obs.pathway_total[p];
      r.category_kl_nats = cat_obs.pathway_kl[p];
      r.category_kl_null_mean = cat_null_kl_mean[p];
      r.category_kl_excess = r.category_kl_nats - r.category_kl_null_mean;
      if (!e_cat_kl.empty()) {
        r.category_kl_excess_ci = Around(r.category_kl_excess, Column(e_cat_kl, p, &tmp), z);
      }
      r.category_p_value = cat_p[p];
      cat_p_for_bh[p] = cat_p[p];
      // Category distribution of the pathway.
      std::vector<uint64_t> y(layout.num_categories, 0);
      for (size_t i = 0; i < layout.columns.size(); ++i) {
        y[layout.labels[i]] += obs.cell(layout.columns[i], p);
      }
      std::vector<size_t> order;
      for (size_t c = 0; c < y.size(); ++c) {
        if (y[c] > 0) order.push_back(c);
      }
      std::sort(order.begin(), order.end(),
                [&](size_t a, size_t b) { return y[a] != y[b] ? y[a] > y[b] : a < b; });
      if (!order.empty() && r.category_routings > 0) {
        r.top_category = cats->names[order[0]];
        r.category_purity = static_cast<double>(y[order[0]]) / r.category_routings;
        if (cat_best[p] >= 0) {
          r.enriched_category = cats->names[cat_best[p]];
          r.enrichment = cat_enrichment[p];
        }
      }
      if (!ctx.summary_only) {
        for (size_t c : order) {
          r.categories.push_back({cats->names[c], y[c],
                                  static_cast<double>(y[c]) / static_cast<double>(r.category_routings)});
        }
      }
    }
  }
  L.utilisation = static_cast<double>(utilised) / P;

  // FDR-controlled flags over the layer's pathways.
  if (B > 0) {
    const std::vector<double> q = BenjaminiHochberg(p_values);
    L.specialised_reference = "null";
    for (uint32_t p = 0; p < P; ++p) {
      PathwayResult& r = L.pathways[p];
      r.q_value = q[p];
      r.specialised_vs_null = std::isfinite(q[p]) && q[p] <= o.fdr;
      r.specialised = r.specialised_vs_null;
      L.specialised_pathways += r.specialised;
    }
  }
  if (with_cats && L.category_permutations > 0) {
    const std::vector<double> q = BenjaminiHochberg(cat_p_for_bh);
    for (uint32_t p = 0; p < P; ++p) {
      PathwayResult& r = L.pathways[p];
      r.category_q_value = q[p];
      r.category_specialised = std::isfinite(q[p]) && q[p] <= o.fdr &&
                               r.enrichment >= o.min_category_enrichment;
      L.category_specialised_pathways += r.category_specialised;
    }
  }
  return L;
}

void CompareWithControl(const std::string& name, const std::string& split,
                        const LayerResult& control, const LayerReplicates& cr,
                        const LayerReplicates& tr, const AnalysisOptions& o,
                        LayerResult* trained) {
  const double z = NormalQuantile(0.5 + o.confidence / 2.0);
  ControlComparison c;
  c.control = name;
  c.split = split;
  c.events = control.events;
  c.mi_excess_nats = control.mi_excess_nats;
  c.mi_excess_ci = control.mi_excess_ci;
  c.mean_kl_excess_nats = control.mean_kl_excess_nats;
  c.mean_kl_excess_ci = control.mean_kl_excess_ci;
  c.mean_purity_excess = control.mean_purity_excess;
  c.token_specialisation = control.token_specialisation;
  c.token_specialisation_excess = control.token_specialisation_excess;
  c.token_specialisation_excess_ci = control.token_specialisation_excess_ci;
  c.category_ami = control.category_ami;
  c.category_ami_ci = control.category_ami_ci;
  c.max_violation = control.max_violation;
  for (const PathwayResult& p : control.pathways) c.specialised_vs_null_pathways += p.specialised_vs_null;
  c.category_specialised_pathways = control.category_specialised_pathways;
  const bool paired = !tr.mi.empty() && tr.mi.size() == cr.mi.size();
  auto delta = [&](double a, double b, const std::vector<double>& ra,
                   const std::vector<double>& rb, double* d, Interval* ci) {
    *d = a - b;
    if (!paired || ra.size() != rb.size() || ra.empty()) return;
    std::vector<double> diff(ra.size());
    for (size_t i = 0; i < ra.size(); ++i) diff[i] = ra[i] - rb[i];
    *ci = Around(*d, Summarise(diff).sd, z);
  };
  delta(trained->mi_excess_nats, control.mi_excess_nats, tr.mi, cr.mi, &c.mi_excess_delta,
        &c.mi_excess_delta_ci);
  delta(trained->mean_kl_excess_nats, control.mean_kl_excess_nats, tr.mean_kl, cr.mean_kl,
        &c.mean_kl_excess_delta, &c.mean_kl_excess_delta_ci);
  delta(trained->mean_purity_excess, control.mean_purity_excess, tr.mean_purity, cr.mean_purity,
        &c.mean_purity_excess_delta, &c.mean_purity_excess_delta_ci);
  delta(trained->token_specialisation_excess, control.token_specialisation_excess,
        tr.token_specialisation, cr.token_specialisation, &c.token_specialisation_excess_delta,
        &c.token_specialisation_excess_delta_ci);
  delta(trained->category_ami, control.category_ami, tr.category_ami, cr.category_ami,
        &c.category_ami_delta, &c.category_ami_delta_ci);
  trained->controls.push_back(c);

  // Per pathway against the fresh routers' typical pathway: the pathway's KL excess minus the
  // control's mean pathway KL excess, paired over the same resampled sequences.
  if (name != "fresh_routers" || !paired || !std::isfinite(control.mean_kl_excess_nats)) return;
  const uint32_t P = trained->num_pathways;
  std::vector<double> p_values(P, kNaN);
  std::vector<double> diff(tr.pathway_kl.size());
  for (uint32_t p = 0; p < P; ++p) {
    PathwayResult& r = trained->pathways[p];
    if (r.load == 0) continue;
    r.kl_excess_vs_control_nats = r.kl_excess_nats - control.mean_kl_excess_nats;
    for (size_t i = 0; i < diff.size(); ++i) {
      const std::vector<double>& ck = cr.pathway_kl[i];
      double s = 0.0;
      int n = 0;
      for (size_t q = 0; q < ck.size(); ++q) {
        if (std::isfinite(ck[q])) {
          s += ck[q];
          ++n;
        }
      }
      diff[i] = n > 0 ? tr.pathway_kl[i][p] - s / n : kNaN;
    }
    const double se = Summarise(diff).sd;
    r.kl_excess_vs_control_ci = Around(r.kl_excess_vs_control_nats, se, z);
    p_values[p] = OneSidedP(r.kl_excess_vs_control_nats, o.min_effect_nats, se);
  }
  const std::vector<double> q = BenjaminiHochberg(p_values);
  trained->specialised_reference = "fresh_routers";
  trained->specialised_pathways = 0;
  for (uint32_t p = 0; p < P; ++p) {
    PathwayResult& r = trained->pathways[p];
    r.control_q_value = q[p];
    r.specialised_vs_control = std::isfinite(q[p]) && q[p] <= o.fdr;
    r.specialised = r.specialised_vs_null && r.specialised_vs_control;
    trained->specialised_pathways += r.specialised;
  }
}

}  // namespace monoroute::analysis
