// MeasureCrossLayer: the tokens of both layers paired by (sequence key, position) once, each
// token's two top-k sets as pathway lists; every replicate is one counting pass of the k x k'
// pairs into a P x P' joint.
#include "services/analysis/cross_layer_measure.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "common/base/hash.h"
#include "services/analysis/resampling.h"
#include "services/analysis/structure_effect.h"

namespace monoroute::analysis {
namespace {

constexpr uint64_t kCrossLayerStream = 0x63726f73;  // mixed into the seed
// Permutations behind the null level: one counting pass each; the level varies across
// permutations far less than the interval's width (the bootstrap pairs each resample with a
// permutation of its own), so a few suffice.
constexpr int kNullReplicates = 2;

// The paired tokens: per token its pathways in each layer, grouped by sequence.
struct Paired {
  uint32_t P = 0, Q = 0, ka = 0, kb = 0;
  std::vector<uint8_t> a, b;          // tokens * ka, tokens * kb
  std::vector<uint32_t> block_begin;  // CSR over sequences
  std::vector<uint64_t> block_key;
  size_t tokens() const { return ka ? a.size() / ka : 0; }
};

// Appends the pathways of a mask row (P <= 256: each fits a byte).
void AppendSet(uint32_t words, const uint64_t* row, std::vector<uint8_t>* out) {
  DispatchMaskWidth(words, [&](auto width) {
    ForEachPathway(width, row, [&](uint32_t p) { out->push_back(static_cast<uint8_t>(p)); });
  });
}

Paired Pair(const RoutingTable& A, const RoutingTable& B, uint64_t max_tokens) {
  Paired p{A.num_pathways, B.num_pathways, A.top_k, B.top_k, {}, {}, {0}, {}};
  absl::flat_hash_map<uint64_t, uint32_t> in_a, in_b;
  for (uint32_t i = 0; i < A.blocks(); ++i) in_a.emplace(A.block_key[i], i);
  for (uint32_t i = 0; i < B.blocks(); ++i) in_b.emplace(B.block_key[i], i);
  for (uint64_t key : SharedSequenceKeys(A, {&B}, max_tokens)) {
    const auto fa = in_a.find(key), fb = in_b.find(key);
    if (fa == in_a.end() || fb == in_b.end()) continue;
    ForEachSamePosition(A, fa->second, B, fb->second, [&](uint32_t x, uint32_t y) {
      AppendSet(A.mask_words, A.mask_row(x), &p.a);
      AppendSet(B.mask_words, B.mask_row(y), &p.b);
    });
    if (p.tokens() > p.block_begin.back()) {
      p.block_begin.push_back(static_cast<uint32_t>(p.tokens()));
      p.block_key.push_back(key);
    }
  }
  return p;
}

// I(pathway in l; pathway in l') of the tokens with weights per sequence (null: 1), the next
// layer's sets taken in the order `order` (null: paired).
double JointMi(const Paired& p, const uint32_t* w, const uint32_t* order,
               std::vector<uint64_t>* J) {
  J->assign(size_t{p.P} * p.Q, 0);
  for (size_t s = 0; s + 1 < p.block_begin.size(); ++s) {
    const uint64_t x = w != nullptr ? w[s] : 1;
    if (x == 0) continue;
    for (uint32_t t = p.block_begin[s]; t < p.block_begin[s + 1]; ++t) {
      const uint8_t* ra = &p.a[size_t{t} * p.ka];
      const uint8_t* rb = &p.b[size_t{order != nullptr ? order[t] : t} * p.kb];
      for (uint32_t i = 0; i < p.ka; ++i) {
        uint64_t* row = &(*J)[size_t{ra[i]} * p.Q];
        for (uint32_t j = 0; j < p.kb; ++j) row[rb[j]] += x;
      }
    }
  }
  std::vector<double> rows(p.P, 0.0), cols(p.Q, 0.0);
  double total = 0.0;
  for (uint32_t i = 0; i < p.P; ++i) {
    for (uint32_t j = 0; j < p.Q; ++j) {
      const double v = static_cast<double>((*J)[size_t{i} * p.Q + j]);
      rows[i] += v;
      cols[j] += v;
      total += v;
    }
  }
  if (!(total > 0)) return kNaN;
  double mi = 0.0;
  for (uint32_t i = 0; i < p.P; ++i) {
    for (uint32_t j = 0; j < p.Q; ++j) {
      const double v = static_cast<double>((*J)[size_t{i} * p.Q + j]);
      if (v > 0) mi += v / total * std::log(v * total / (rows[i] * cols[j]));
    }
  }
  return std::max(0.0, mi);
}

// The next layer's sets permuted among the tokens of each sequence.
void Permute(const Paired& p, Xoshiro256& rng, std::vector<uint32_t>* order) {
  order->resize(p.tokens());
  for (size_t s = 0; s + 1 < p.block_begin.size(); ++s) {
    const uint32_t begin = p.block_begin[s], n = p.block_begin[s + 1] - begin;
    for (uint32_t i = 0; i < n; ++i) (*order)[begin + i] = begin + i;
    for (uint32_t i = n; i > 1; --i) {
      std::swap((*order)[begin + i - 1], (*order)[begin + rng.Below(i)]);
    }
  }
}

}  // namespace

CrossLayerResult MeasureCrossLayer(const RoutingTable& layer, const RoutingTable& next,
                                   uint32_t layer_id, uint32_t next_id, const AnalysisOptions& o) {
  CrossLayerResult r;
  r.next_layer = next_id;
  const Paired p = Pair(layer, next, o.estimand_events);
  r.tokens = p.tokens();
  if (r.tokens == 0) return r;
  std::vector<uint64_t> J;
  std::vector<uint32_t> order, w;
  Xoshiro256 rng(HashPair(o.seed ^ kCrossLayerStream, layer_id));
  const double observed = JointMi(p, nullptr, nullptr, &J);
  std::vector<std::vector<double>> null, boot;
  for (int i = 0; i < std::min(o.null_replicates, kNullReplicates); ++i) {
    Permute(p, rng, &order);
    null.push_back({JointMi(p, nullptr, order.data(), &J)});
  }
  const size_t blocks = p.block_key.size();
  const int B = o.bootstrap > 0 && blocks >= static_cast<size_t>(o.min_blocks) ? o.bootstrap : 0;
  w.resize(blocks);
  for (int i = 0; i < B; ++i) {
    for (size_t s = 0; s < blocks; ++s) {
      w[s] = PoissonBlockWeight(o.seed, static_cast<uint32_t>(i), p.block_key[s]);
    }
    Permute(p, rng, &order);
    boot.push_back({JointMi(p, w.data(), nullptr, &J) - JointMi(p, w.data(), order.data(), &J)});
  }
  r.mi = EffectsOf({observed}, ReplicateMeans(null, 1), boot, o.confidence)[0];
  return r;
}

}  // namespace monoroute::analysis
