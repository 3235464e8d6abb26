// Router saturation: events of two tables matched by (sequence key, position), per sequence the
// count of equal top-k sets, a Poisson block bootstrap over sequences for the interval.
#include "services/analysis/router_saturation.h"

#include <algorithm>
#include <cmath>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "services/analysis/resampling.h"

namespace monoroute::analysis {
namespace {

constexpr std::string_view kPrefix = "eval@step";

// Per sequence of `at` that `reference` also has: events matched and events whose sets agree.
struct BlockAgreement {
  uint64_t key = 0;
  uint64_t matched = 0;
  uint64_t equal = 0;
};

std::vector<BlockAgreement> MatchBlocks(const RoutingTable& at, const RoutingTable& reference) {
  absl::flat_hash_map<uint64_t, uint32_t> ref_block;
  ref_block.reserve(reference.blocks());
  for (uint32_t b = 0; b < reference.blocks(); ++b) ref_block.emplace(reference.block_key[b], b);
  std::vector<BlockAgreement> out;
  for (uint32_t b = 0; b < at.blocks(); ++b) {
    auto it = ref_block.find(at.block_key[b]);
    if (it == ref_block.end()) continue;
    BlockAgreement a{at.block_key[b], 0, 0};
    ForEachSamePosition(at, b, reference, it->second, [&](uint32_t i, uint32_t j) {
      ++a.matched;
      if (std::equal(at.mask_row(i), at.mask_row(i) + at.mask_words, reference.mask_row(j))) {
        ++a.equal;
      }
    });
    if (a.matched > 0) out.push_back(a);
  }
  return out;
}

}  // namespace

std::string CheckpointEvalSplit(int64_t step) { return absl::StrCat(std::string(kPrefix), step); }

std::optional<int64_t> CheckpointEvalStep(std::string_view split) {
  if (split.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  const std::string_view digits = split.substr(kPrefix.size());
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), ::isdigit)) return std::nullopt;
  int64_t step = 0;
  if (!absl::SimpleAtoi(std::string(digits), &step) || step < 0) return std::nullopt;
  return step;
}

double ChanceTopKAgreement(uint32_t num_pathways, uint32_t top_k) {
  if (top_k == 0 || top_k > num_pathways) return kNaN;
  // C(P, k) in floating point (P <= a few hundred: exact enough for a chance level).
  double c = 1.0;
  for (uint32_t i = 1; i <= top_k; ++i) c = c * (num_pathways - top_k + i) / i;
  return 1.0 / c;
}

absl::StatusOr<LayerSaturation> TopKAgreement(const RoutingTable& at, const RoutingTable& reference,
                                              const SaturationOptions& options) {
  if (at.num_pathways != reference.num_pathways || at.top_k != reference.top_k ||
      at.mask_words != reference.mask_words) {
    return absl::InvalidArgumentError(absl::StrCat(
        "router saturation: num_pathways/top_k differ between checkpoint (", at.num_pathways, "/",
        at.top_k, ") and final routing (", reference.num_pathways, "/", reference.top_k, ")"));
  }
  if (!(options.confidence > 0 && options.confidence < 1)) {
    return absl::InvalidArgumentError("router saturation: confidence must be in (0, 1)");
  }
  LayerSaturation s;
  s.chance = ChanceTopKAgreement(at.num_pathways, at.top_k);
  const std::vector<BlockAgreement> blocks = MatchBlocks(at, reference);
  uint64_t equal = 0;
  for (const BlockAgreement& b : blocks) {
    s.events += b.matched;
    equal += b.equal;
  }
  if (s.events == 0) return s;
  s.saturation = static_cast<double>(equal) / static_cast<double>(s.events);
  if (options.bootstrap == 0) return s;
  std::vector<double> reps;
  reps.reserve(options.bootstrap);
  for (uint32_t r = 0; r < options.bootstrap; ++r) {
    double num = 0, den = 0;
    for (const BlockAgreement& b : blocks) {
      const uint32_t w = PoissonBlockWeight(options.seed, r, b.key);
      num += static_cast<double>(w) * static_cast<double>(b.equal);
      den += static_cast<double>(w) * static_cast<double>(b.matched);
    }
    if (den > 0) reps.push_back(num / den);
  }
  if (reps.size() < 2) return s;
  std::sort(reps.begin(), reps.end());
  const double tail = (1.0 - options.confidence) / 2;
  auto at_q = [&](double q) {
    const size_t i = static_cast<size_t>(std::floor(q * static_cast<double>(reps.size() - 1)));
    return reps[std::min(i, reps.size() - 1)];
  };
  s.ci = {at_q(tail), at_q(1.0 - tail)};
  return s;
}

absl::StatusOr<std::vector<SaturationPoint>> RouterSaturation(
    const std::map<int64_t, std::map<uint32_t, RoutingTable>>& by_step,
    const std::map<uint32_t, RoutingTable>& final_tables, const SaturationOptions& options) {
  std::vector<SaturationPoint> out;
  for (const auto& [step, layers] : by_step) {
    SaturationPoint p;
    p.step = step;
    for (const auto& [layer, table] : layers) {
      auto f = final_tables.find(layer);
      if (f == final_tables.end() || table.events() == 0) continue;
      ASSIGN_OR_RETURN(LayerSaturation s, TopKAgreement(table, f->second, options));
      s.layer = layer;
      p.layers.push_back(s);
    }
    if (!p.layers.empty()) out.push_back(std::move(p));
  }
  return out;
}

}  // namespace monoroute::analysis
