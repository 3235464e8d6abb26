// Pathway masks: how the analysis stores an event's top-k set. A set is a row of 64-bit words,
// bit p of word p / 64 set when pathway p was selected: one word when P <= 64 (the fast path), two
// for P <= 128, four for P <= 256. A buffer of masks is `events * words` words, row-major; the
// kernels take the word count once per call and dispatch to a version compiled for it
// (DispatchMaskWidth), so no hot loop branches on it. No gRPC, no LibTorch.
#ifndef MONOROUTE_SERVICES_ANALYSIS_PATHWAY_MASK_H_
#define MONOROUTE_SERVICES_ANALYSIS_PATHWAY_MASK_H_

#include <algorithm>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace monoroute::analysis {

// Words of the widest mask: 4 x 64 = 256 pathways, the most training allows.
inline constexpr uint32_t kMaxMaskWords = 4;

// Largest number of pathways the analysis handles.
inline constexpr uint32_t kMaxAnalysisPathways = 64 * kMaxMaskWords;

// OK when a layer of `num_pathways` pathways that routes each event to `top_k` of them fits the
// analysis (num_pathways in [1, kMaxAnalysisPathways], top_k in [1, num_pathways]); else
// INVALID_ARGUMENT naming the field.
inline absl::Status CheckLayerShape(uint32_t num_pathways, uint32_t top_k) {
  if (num_pathways == 0 || num_pathways > kMaxAnalysisPathways) {
    return absl::InvalidArgumentError(
        absl::StrCat("num_pathways: ", num_pathways, " not in [1, ", kMaxAnalysisPathways, "]"));
  }
  if (top_k == 0 || top_k > num_pathways) {
    return absl::InvalidArgumentError(
        absl::StrCat("top_k: ", top_k, " not in [1, num_pathways = ", num_pathways, "]"));
  }
  return absl::OkStatus();
}

// Words per mask for a layer of `num_pathways` pathways: 1 (P <= 64), 2 (P <= 128) or 4.
inline constexpr uint32_t MaskWords(uint32_t num_pathways) {
  return num_pathways <= 64 ? 1 : num_pathways <= 128 ? 2 : kMaxMaskWords;
}

// The word count of a kernel, a compile-time constant (1, 2 or 4).
template <uint32_t kWords>
struct MaskWidth {
  static_assert(kWords == 1 || kWords == 2 || kWords == kMaxMaskWords, "1, 2 or 4 words");
  static constexpr uint32_t words() { return kWords; }
};

// Calls f(MaskWidth<words>{}) (words: a MaskWords value): the one dispatch a kernel makes before
// its loops.
template <class F>
decltype(auto) DispatchMaskWidth(uint32_t words, F&& f) {
  if (words == 1) return f(MaskWidth<1>{});
  if (words == 2) return f(MaskWidth<2>{});
  return f(MaskWidth<kMaxMaskWords>{});
}

// Calls f(p) for every pathway p set in the mask at `row`, in ascending order.
template <uint32_t kWords, class F>
inline void ForEachPathway(MaskWidth<kWords> width, const uint64_t* row, F&& f) {
  for (uint32_t w = 0; w < width.words(); ++w) {
    for (uint64_t b = row[w]; b != 0; b &= b - 1) f(w * 64 + __builtin_ctzll(b));
  }
}

// Whether pathway p is set in the mask at `row` (words >= p / 64 + 1).
inline bool MaskHas(const uint64_t* row, uint32_t p) { return (row[p >> 6] >> (p & 63)) & 1; }

// Sets pathway p in the mask at `row`.
inline void MaskSet(uint64_t* row, uint32_t p) { row[p >> 6] |= uint64_t{1} << (p & 63); }

// Swaps the masks of rows a and b of a buffer (a row is width.words() words).
template <uint32_t kWords>
inline void SwapMasks(MaskWidth<kWords> width, uint64_t* masks, size_t a, size_t b) {
  const uint32_t n = width.words();
  for (uint32_t w = 0; w < n; ++w) std::swap(masks[a * n + w], masks[b * n + w]);
}

}  // namespace monoroute::analysis

#endif  // MONOROUTE_SERVICES_ANALYSIS_PATHWAY_MASK_H_
