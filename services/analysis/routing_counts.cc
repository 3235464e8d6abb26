// CountRoutings / CountPermutedRoutings: one pass over the events; each event adds its weight to
// the P counters of its token column (a 64-byte row at P = 16, prefetched a few events ahead).
#include "services/analysis/routing_counts.h"

#include <algorithm>

namespace monoroute::analysis {
namespace {

constexpr uint32_t kPrefetch = 8;

template <uint32_t kWords>
inline void AddMask(MaskWidth<kWords> width, uint32_t* row, const uint64_t* m, uint32_t w) {
  ForEachPathway(width, m, [&](uint32_t p) { row[p] += w; });
}

// Fisher-Yates over the `len` masks at `buf` with `rng`.
template <uint32_t kWords>
void ShuffleMasks(MaskWidth<kWords> width, uint64_t* buf, uint32_t len, Xoshiro256& rng) {
  for (uint32_t i = len; i > 1; --i) {
    SwapMasks(width, buf, i - 1, static_cast<uint32_t>(rng.Below(i)));
  }
}

}  // namespace

void FinishCounts(RoutingCounts* out) {
  const uint32_t P = out->num_pathways;
  const size_t V = out->column_total.size();
  out->load.assign(P, 0);
  uint64_t total = 0;
  for (size_t c = 0; c < V; ++c) {
    const uint32_t* row = out->cells.data() + c * P;
    uint64_t s = 0;
    for (uint32_t p = 0; p < P; ++p) {
      s += row[p];
      out->load[p] += row[p];
    }
    out->column_total[c] = s;
    total += s;
  }
  out->total = total;
}

namespace {

void Reset(const RoutingTable& table, RoutingCounts* out) {
  out->num_pathways = table.num_pathways;
  out->cells.assign(table.columns() * table.num_pathways, 0);
  out->column_total.assign(table.columns(), 0);
}

// Adds every event's top-k mask into its column's cells (cells[col[i] * P ...]) with its block's
// weight (1 without weights; blocks of weight 0 skipped), prefetching a few events ahead.
template <uint32_t kWords>
void AddWeightedMasks(MaskWidth<kWords> width, const RoutingTable& table, const uint32_t* col,
                      const uint64_t* masks, const uint32_t* block_weight, uint32_t* cells) {
  const uint32_t P = table.num_pathways;
  const uint32_t W = width.words();
  const uint32_t n = static_cast<uint32_t>(table.events());
  for (size_t b = 0; b < table.blocks(); ++b) {
    const uint32_t w = block_weight != nullptr ? block_weight[b] : 1;
    if (w == 0) continue;
    const uint32_t end = table.block_begin[b + 1];
    for (uint32_t i = table.block_begin[b]; i < end; ++i) {
      if (i + kPrefetch < n) {
        __builtin_prefetch(cells + static_cast<size_t>(col[i + kPrefetch]) * P, 1);
      }
      AddMask(width, cells + static_cast<size_t>(col[i]) * P, masks + size_t{i} * W, w);
    }
  }
}

void AddWeightedMasks(const RoutingTable& table, const uint32_t* col, const uint64_t* masks,
                      const uint32_t* block_weight, uint32_t* cells) {
  DispatchMaskWidth(table.mask_words, [&](auto width) {
    AddWeightedMasks(width, table, col, masks, block_weight, cells);
  });
}

// CountPermutedRoutings' pass: each block's masks shuffled in `buf`, then counted.
template <uint32_t kWords>
void AddPermutedMasks(MaskWidth<kWords> width, const RoutingTable& table,
                      const uint32_t* block_weight, Xoshiro256& rng, uint32_t* cells) {
  const uint32_t P = table.num_pathways;
  const uint32_t W = width.words();
  const uint32_t* col = table.column.data();
  std::vector<uint64_t> buf;
  for (size_t b = 0; b < table.blocks(); ++b) {
    const uint32_t lo = table.block_begin[b], hi = table.block_begin[b + 1];
    // The shuffle consumes the stream whatever the weight, so a replicate's permutation does not
    // depend on the bootstrap weights.
    buf.assign(table.mask_row(lo), table.mask_row(hi));
    const uint32_t len = hi - lo;
    ShuffleMasks(width, buf.data(), len, rng);
    const uint32_t w = block_weight != nullptr ? block_weight[b] : 1;
    if (w == 0) continue;
    for (uint32_t j = 0; j < len; ++j) {
      if (j + kPrefetch < len) {
        __builtin_prefetch(cells + static_cast<size_t>(col[lo + j + kPrefetch]) * P, 1);
      }
      AddMask(width, cells + static_cast<size_t>(col[lo + j]) * P, buf.data() + size_t{j} * W, w);
    }
  }
}

}  // namespace

void CountRoutings(const RoutingTable& table, const uint32_t* block_weight, RoutingCounts* out) {
  Reset(table, out);
  AddWeightedMasks(table, table.column.data(), table.mask.data(), block_weight, out->cells.data());
  FinishCounts(out);
}

void CountPermutedRoutings(const RoutingTable& table, const uint32_t* block_weight, Xoshiro256& rng,
                           RoutingCounts* out) {
  Reset(table, out);
  DispatchMaskWidth(table.mask_words, [&](auto width) {
    AddPermutedMasks(width, table, block_weight, rng, out->cells.data());
  });
  FinishCounts(out);
}

void PermuteMasks(const RoutingTable& table, Xoshiro256& rng, std::vector<uint64_t>* masks) {
  *masks = table.mask;
  DispatchMaskWidth(table.mask_words, [&](auto width) {
    for (size_t b = 0; b < table.blocks(); ++b) {
      uint64_t* buf = masks->data() + size_t{table.block_begin[b]} * width.words();
      ShuffleMasks(width, buf, table.block_begin[b + 1] - table.block_begin[b], rng);
    }
  });
}

void CountKeyed(const RoutingTable& table, int key, const uint64_t* masks,
                const uint32_t* block_weight, RoutingCounts* out) {
  const uint32_t P = table.num_pathways;
  const size_t V = table.key_count(key);
  out->num_pathways = P;
  out->cells.assign(V * P, 0);
  out->column_total.assign(V, 0);
  AddWeightedMasks(table, table.keys(key), masks, block_weight, out->cells.data());
  FinishCounts(out);
}

}  // namespace monoroute::analysis
