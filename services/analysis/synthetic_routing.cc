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

namespace {

// Draws the token stream one event at a time.
class TokenStream {
 public:
  explicit TokenStream(const SyntheticRoutingOptions& o) : o_(o) {
    const std::vector<double> q = ZipfProbabilities(o.vocab, o.zipf);
    cdf_.resize(q.size());
    std::partial_sum(q.begin(), q.end(), cdf_.begin());
  }
  // The next token of the sequence at `position` (0 starts a new sequence); `inside`: the quote
  // state after it.
  uint32_t Next(uint32_t position, Xoshiro256& rng) {
    if (position == 0) {
      seq_.clear();
      inside_ = false;
    }
    uint32_t t = Zipf(rng);
    switch (o_.tokens) {
      case SyntheticTokens::kIid:
        break;
      case SyntheticTokens::kBigram:
        if (!seq_.empty() && rng.Uniform() >= o_.bigram_noise) {
          const uint64_t h = HashPair(o_.model_seed ^ 0x62696772ULL, seq_.back());
          t = static_cast<uint32_t>(
              SplitMix64(h + rng.Below(std::max<uint32_t>(1, o_.bigram_branching))) % o_.vocab);
        }
        break;
      case SyntheticTokens::kCopy:
        if (!seq_.empty() && rng.Uniform() < o_.copy_prob) t = seq_[rng.Below(seq_.size())];
        break;
      case SyntheticTokens::kQuotes:
        if (rng.Uniform() < o_.quote_prob) {
          t = 0;
          inside_ = !inside_;
        } else {
          // Inside a quote a share of the words come from other words (the draw shifted by
          // vocab / 2): a token says something about the state, but not all of it.
          const bool shifted = inside_ && rng.Uniform() < o_.quote_shift;
          t = std::max<uint32_t>(1, shifted ? (t + o_.vocab / 2) % o_.vocab : t);
        }
        break;
    }
    seq_.push_back(t);
    return t;
  }
  bool inside() const { return inside_; }
  // The token before the current one, kNoToken at a sequence's start.
  uint32_t previous() const { return seq_.size() >= 2 ? seq_[seq_.size() - 2] : kNoToken; }

 private:
  uint32_t Zipf(Xoshiro256& rng) {
    const double u = rng.Uniform();
    return static_cast<uint32_t>(std::min<size_t>(
        std::lower_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin(), o_.vocab - 1));
  }
  const SyntheticRoutingOptions& o_;
  std::vector<double> cdf_;
  std::vector<uint32_t> seq_;
  bool inside_ = false;
};

// The key whose preferred set the routing follows (kNoToken: none, route at random).
uint32_t RouteKey(const SyntheticRoutingOptions& o, const TokenStream& s, uint32_t t) {
  switch (o.route_by) {
    case SyntheticRouteBy::kCurrentToken:
      return t;
    case SyntheticRouteBy::kPreviousToken:
      return s.previous();
    case SyntheticRouteBy::kLocalState:
      return s.inside() ? 1u << 30 : (1u << 30) + 1;
    case SyntheticRouteBy::kFrequency:
      return t;  // drawn from FrequencyWeights, not a preferred set
  }
  return t;
}

// Weights of a frequency-only router for token t (rank t + 1): smooth in log rank.
void FrequencyWeights(const SyntheticRoutingOptions& o, uint32_t t, std::vector<double>* w) {
  const uint32_t P = o.num_pathways;
  const double x = std::log(t + 1.0), span = std::log(static_cast<double>(o.vocab));
  w->resize(P);
  for (uint32_t p = 0; p < P; ++p) {
    const double c = span * (p + 0.5) / P, d = (x - c) / 0.7;
    (*w)[p] = std::exp(-0.5 * d * d) + 1e-9;
  }
}

}  // namespace

absl::StatusOr<SyntheticEvents> GenerateSyntheticEvents(const SyntheticRoutingOptions& o) {
  const uint32_t P = o.num_pathways, k = o.top_k;
  if (P == 0 || P > kMaxAnalysisPathways || k == 0 || k > P || o.vocab < 2 || o.seq_len == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("synthetic routing: bad sizes (P ", P, ", k ", k, ", vocab ", o.vocab, ")"));
  }
  std::vector<double> w(P);
  for (uint32_t p = 0; p < P; ++p) w[p] = std::exp(-o.pathway_skew * p / P);
  Xoshiro256 rng(o.seed);
  TokenStream stream(o);
  std::vector<double> fw;
  SyntheticEvents e;
  e.sequence_id.resize(o.events);
  e.position.resize(o.events);
  e.token_id.resize(o.events);
  e.pathways.resize(o.events * k);
  for (uint64_t i = 0; i < o.events; ++i) {
    const uint32_t pos = static_cast<uint32_t>(i % o.seq_len);
    const uint32_t t = stream.Next(pos, rng);
    e.sequence_id[i] = i / o.seq_len;
    e.position[i] = pos;
    e.token_id[i] = t;
    uint32_t* set = &e.pathways[i * k];
    const int cat = o.categories != nullptr ? o.categories->Get(t) : -1;
    const uint32_t key = RouteKey(o, stream, t);
    if (cat >= 0 && static_cast<uint32_t>(cat) < o.planted_categories &&
        rng.Uniform() < o.category_preference) {
      for (uint32_t j = 0; j < k; ++j) set[j] = (cat * k + j) % P;
    } else if (o.token_preference > 0.0 && key != kNoToken && rng.Uniform() < o.token_preference) {
      if (o.route_by == SyntheticRouteBy::kFrequency) {
        FrequencyWeights(o, t, &fw);
        WeightedSet(fw, k, rng, set);
      } else if (o.skew_preferred_sets) {
        Xoshiro256 pref(HashPair(o.model_seed ^ 0x736b6577ULL, key));
        WeightedSet(w, k, pref, set);
      } else {
        PreferredSetInto(o.model_seed, key, P, k, set);
      }
    } else {
      WeightedSet(w, k, rng, set);
    }
  }
  e.next_token_id.resize(o.events);
  for (uint64_t i = 0; i < o.events; ++i) {
    e.next_token_id[i] = i + 1 < o.events ? e.token_id[i + 1] : 0;
  }
  e.weights.assign(o.events * k, 1.0f / static_cast<float>(k));
  return e;
}

RoutingTable HashRouting(const RoutingTable& table, int source, uint64_t seed) {
  RoutingTable t = table;
  const uint32_t P = t.num_pathways, k = t.top_k;
  const uint32_t W = t.mask_words;
  std::vector<uint64_t> mask_of(t.key_count(source) * W, 0);
  uint32_t set[kMaxAnalysisPathways];
  for (size_t key = 0; key < t.key_count(source); ++key) {
    PreferredSetInto(HashPair(seed ^ 0x68617368ULL, source), static_cast<uint32_t>(key), P, k, set);
    for (uint32_t j = 0; j < k; ++j) MaskSet(mask_of.data() + key * W, set[j]);
  }
  const uint32_t* keys = t.keys(source);
  for (size_t i = 0; i < t.events(); ++i) {
    std::copy_n(mask_of.data() + size_t{keys[i]} * W, W, t.mask.data() + i * W);
  }
  return t;
}

absl::StatusOr<RoutingTable> SyntheticRoutingTable(const SyntheticRoutingOptions& o) {
  ASSIGN_OR_RETURN(SyntheticEvents e, GenerateSyntheticEvents(o));
  ASSIGN_OR_RETURN(RoutingTableBuilder b, RoutingTableBuilder::Create(o.num_pathways, o.top_k));
  RETURN_IF_ERROR(b.Add(e.token_id.size(), e.sequence_id.data(), e.token_id.data(),
                        e.pathways.data(), e.position.data()));
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
