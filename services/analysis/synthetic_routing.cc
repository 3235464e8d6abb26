// Synthetic routing: Zipf tokens by inverse-CDF lookup, k-sets by weighted sampling without
// replacement, preferred sets from a hash of the token id.
#include "services/analysis/synthetic_routing.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "common/base/hash.h"
#include "common/base/status_macros.h"

namespace monoroute::analysis {
namespace {

// k distinct pathways drawn without replacement with weights `w` (sequential draws).
void WeightedSet(const std::vector<double>& w, uint32_t k, Xoshiro256& rng, uint32_t* out) {
  double avail[kMaxAnalysisPathways];
  const uint32_t P = static_cast<uint32_t>(w.size());
  double total = 0.0;
  for (uint32_t p = 0; p < P; ++p) total += (avail[p] = w[p]);
  for (uint32_t j = 0; j < k; ++j) {
    double u = rng.Uniform() * total;
    uint32_t p = 0;
    while (p + 1 < P && (avail[p] == 0.0 || u >= avail[p])) {
      if (avail[p] > 0.0) u -= avail[p];
      ++p;
    }
    while (avail[p] == 0.0) p = (p + 1) % P;  // rounding at the end of the range
    out[j] = p;
    total -= avail[p];
    avail[p] = 0.0;
  }
}

// A fixed random k-set for token t (a seeded partial shuffle of 0..P-1).
void PreferredSetInto(uint64_t seed, uint32_t t, uint32_t P, uint32_t k, uint32_t* out) {
  Xoshiro256 rng(HashPair(seed ^ 0x70726566ULL, t));
  uint32_t perm[kMaxAnalysisPathways];
  std::iota(perm, perm + P, 0u);
  for (uint32_t i = 0; i < k; ++i) {
    const uint32_t j = i + static_cast<uint32_t>(rng.Below(P - i));
    std::swap(perm[i], perm[j]);
    out[i] = perm[i];
  }
}

}  // namespace

std::vector<uint32_t> SyntheticPreferredSet(uint64_t model_seed, uint32_t token,
                                            uint32_t num_pathways, uint32_t top_k) {
  std::vector<uint32_t> set(top_k);
  PreferredSetInto(model_seed, token, num_pathways, top_k, set.data());
  return set;
}

std::vector<double> ZipfProbabilities(uint32_t vocab, double exponent) {
  std::vector<double> p(vocab);
  double s = 0.0;
  for (uint32_t i = 0; i < vocab; ++i) s += (p[i] = std::pow(i + 1.0, -exponent));
  for (double& x : p) x /= s;
  return p;
}

absl::StatusOr<SyntheticEvents> GenerateSyntheticEvents(const SyntheticRoutingOptions& o) {
  const uint32_t P = o.num_pathways, k = o.top_k;
  if (P == 0 || P > kMaxAnalysisPathways || k == 0 || k > P || o.vocab == 0 || o.seq_len == 0) {
    return absl::InvalidArgumentError(absl::StrCat("synthetic routing: bad sizes (P ", P, ", k ",
                                                   k, ", vocab ", o.vocab, ")"));
  }
  const std::vector<double> q = ZipfProbabilities(o.vocab, o.zipf);
  std::vector<double> cdf(q.size());
  std::partial_sum(q.begin(), q.end(), cdf.begin());
  std::vector<double> w(P);
  for (uint32_t p = 0; p < P; ++p) w[p] = std::exp(-o.pathway_skew * p / P);
  Xoshiro256 rng(o.seed);
  SyntheticEvents e;
  e.sequence_id.resize(o.events);
  e.token_id.resize(o.events);
  e.pathways.resize(o.events * k);
  for (uint64_t i = 0; i < o.events; ++i) {
    const double u = rng.Uniform();
    const uint32_t t = static_cast<uint32_t>(
        std::min<size_t>(std::lower_bound(cdf.begin(), cdf.end(), u) - cdf.begin(), o.vocab - 1));
    e.sequence_id[i] = i / o.seq_len;
    e.token_id[i] = t;
    uint32_t* set = &e.pathways[i * k];
    const int cat = o.categories != nullptr ? o.categories->Get(t) : -1;
    if (cat >= 0 && static_cast<uint32_t>(cat) < o.planted_categories &&
        rng.Uniform() < o.category_preference) {
      for (uint32_t j = 0; j < k; ++j) set[j] = (cat * k + j) % P;
    } else if (o.token_preference > 0.0 && rng.Uniform() < o.token_preference) {
      PreferredSetInto(o.model_seed, t, P, k, set);
    } else {
      WeightedSet(w, k, rng, set);
    }
  }
  return e;
}

absl::StatusOr<RoutingTable> SyntheticRoutingTable(const SyntheticRoutingOptions& o) {
  ASSIGN_OR_RETURN(SyntheticEvents e, GenerateSyntheticEvents(o));
  ASSIGN_OR_RETURN(RoutingTableBuilder b, RoutingTableBuilder::Create(o.num_pathways, o.top_k));
  RETURN_IF_ERROR(b.Add(e.token_id.size(), e.sequence_id.data(), e.token_id.data(),
                        e.pathways.data()));
  return b.Build();
}

CategoryMap RandomCategories(uint32_t vocab, uint32_t num_categories, double labelled_share,
                             uint64_t seed) {
  CategoryMap m;
  for (uint32_t c = 0; c < num_categories; ++c) m.names.push_back(absl::StrCat("c", c));
  m.category_of_token.assign(vocab, -1);
  Xoshiro256 rng(HashPair(seed, 0x63617473ULL));
  for (uint32_t t = 0; t < vocab; ++t) {
    if (rng.Uniform() < labelled_share) {
      m.category_of_token[t] = static_cast<int32_t>(rng.Below(num_categories));
    }
  }
  return m;
}

}  // namespace monoroute::analysis
