// MeasureLocality: one pass over each sequence (observed overlaps, adjacent pairs and the exact
// permutation expectation per sequence), then the bootstrap reweights the per-sequence sums.
#include "services/analysis/locality_measure.h"

#include <vector>

#include "services/analysis/resampling.h"
#include "services/analysis/structure_effect.h"

namespace monoroute::analysis {
namespace {

// One sequence's sums: adjacent pairs, their summed overlaps and the overlaps' expectation.
struct BlockSums {
  double pairs = 0.0;
  double overlap = 0.0;
  double expected = 0.0;
};

template <uint32_t kWords>
BlockSums SumBlock(MaskWidth<kWords> width, const RoutingTable& t, size_t b,
                   std::vector<uint32_t>* count) {
  BlockSums s;
  const uint32_t begin = t.block_begin[b], end = t.block_begin[b + 1];
  double same = 0.0;  // sum_p c_p (c_p - 1)
  for (uint32_t e = begin; e < end; ++e) {
    ForEachPathway(width, t.mask_row(e), [&](uint32_t p) {
      uint32_t& c = (*count)[p];
      same += 2.0 * c;
      ++c;
    });
    if (e > begin && t.position[e] == t.position[e - 1] + 1) {
      s.pairs += 1;
      const uint64_t *now = t.mask_row(e), *before = t.mask_row(e - 1);
      for (uint32_t w = 0; w < width.words(); ++w) {
        s.overlap += __builtin_popcountll(now[w] & before[w]);
      }
    }
  }
  for (uint32_t e = begin; e < end; ++e) {
    ForEachPathway(width, t.mask_row(e), [&](uint32_t p) { (*count)[p] = 0; });
  }
  const double n = end - begin;
  if (n >= 2) s.expected = s.pairs * same / (n * (n - 1));
  return s;
}

// {observed, null level} of the blocks' sums with weights (null: 1).
std::vector<double> Shares(const std::vector<BlockSums>& sums, const uint32_t* w, uint32_t k) {
  double pairs = 0.0, overlap = 0.0, expected = 0.0;
  for (size_t b = 0; b < sums.size(); ++b) {
    const double x = w != nullptr ? w[b] : 1.0;
    pairs += x * sums[b].pairs;
    overlap += x * sums[b].overlap;
    expected += x * sums[b].expected;
  }
  if (!(pairs > 0)) return {kNaN, kNaN};
  return {overlap / (pairs * k), expected / (pairs * k)};
}

}  // namespace

Effect MeasureLocality(const RoutingTable& table, const AnalysisOptions& o) {
  if (table.events() == 0 || table.top_k == 0) return {};
  std::vector<uint32_t> count(table.num_pathways, 0);
  std::vector<BlockSums> sums(table.blocks());
  DispatchMaskWidth(table.mask_words, [&](auto width) {
    for (size_t b = 0; b < table.blocks(); ++b) sums[b] = SumBlock(width, table, b, &count);
  });
  const uint32_t k = table.top_k;
  const std::vector<double> observed = Shares(sums, nullptr, k);
  std::vector<std::vector<double>> boot;
  const int B =
      o.bootstrap > 0 && table.blocks() >= static_cast<size_t>(o.min_blocks) ? o.bootstrap : 0;
  std::vector<uint32_t> w;
  for (int r = 0; r < B; ++r) {
    BlockWeights(table, o.seed, static_cast<uint32_t>(r), &w);
    const std::vector<double> s = Shares(sums, w.data(), k);
    boot.push_back({s[0] - s[1]});
  }
  return EffectsOf({observed[0]}, {observed[1]}, boot, o.confidence)[0];
}

}  // namespace monoroute::analysis
