// BuildLayerGrid: token x pathway counts in one pass, then per pathway the lift ranking.
#include "services/analysis/explorer/layer_grid.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/container/flat_hash_map.h"
#include "services/analysis/pathway_mask.h"

namespace monoroute::analysis::explorer {
namespace {

// A (token, pathway) pair as one hash key: the pathway in the low 8 bits (P <= 256).
constexpr int kPathwayBits = 8;
static_assert(kMaxAnalysisPathways <= (1u << kPathwayBits), "pathway bits of a grid key");

}  // namespace

LayerGrid BuildLayerGrid(const LayerEvents& events, const Decoder& decode, int top_tokens,
                         uint32_t min_token_count) {
  LayerGrid g;
  g.layer = events.layer;
  g.events = events.size();
  const uint32_t P = events.num_pathways, k = events.top_k;
  std::vector<double> gate_sum(P, 0);
  std::vector<uint64_t> load(P, 0);
  absl::flat_hash_map<uint32_t, uint64_t> token_events;
  absl::flat_hash_map<uint64_t, uint64_t> token_pathway;  // (token, pathway) key -> count
  token_events.reserve(1 << 14);
  token_pathway.reserve(1 << 16);
  for (size_t i = 0; i < events.size(); ++i) {
    const uint32_t t = events.token_id[i];
    ++token_events[t];
    for (uint32_t j = 0; j < k; ++j) {
      const uint32_t p = events.pathways[i * k + j];
      ++load[p];
      gate_sum[p] += events.weights[i * k + j];
      ++token_pathway[(uint64_t{t} << kPathwayBits) | p];
    }
  }
  const double uniform = static_cast<double>(g.events) * k / std::max(1u, P);
  std::vector<std::vector<TokenLift>> lifts(P);
  for (const auto& [key, c] : token_pathway) {
    const uint32_t t = static_cast<uint32_t>(key >> kPathwayBits);
    const uint32_t p = static_cast<uint32_t>(key & ((1u << kPathwayBits) - 1));
    const uint64_t l = token_events[t];
    if (l < min_token_count || c < 2) continue;
    TokenLift r;
    r.token_id = t;
    r.count_in_pathway = c;
    r.count_in_layer = l;
    r.share_in_pathway = static_cast<double>(c) / static_cast<double>(load[p]);
    r.share_in_layer = static_cast<double>(l) / static_cast<double>(g.events);
    r.lift = r.share_in_pathway / r.share_in_layer;
    lifts[p].push_back(r);
  }
  double max_load = 0;
  for (uint32_t p = 0; p < P; ++p) {
    GridCell c;
    c.pathway = p;
    c.load = load[p];
    c.load_vs_uniform = uniform > 0 ? static_cast<double>(load[p]) / uniform : 0.0;
    c.mean_gate = load[p] ? gate_sum[p] / static_cast<double>(load[p])
                          : std::numeric_limits<double>::quiet_NaN();
    auto& rows = lifts[p];
    const size_t n = std::min(rows.size(), static_cast<size_t>(std::max(0, top_tokens)));
    std::partial_sort(rows.begin(), rows.begin() + n, rows.end(),
                      [](const TokenLift& a, const TokenLift& b) {
                        if (a.lift != b.lift) return a.lift > b.lift;
                        if (a.count_in_pathway != b.count_in_pathway) {
                          return a.count_in_pathway > b.count_in_pathway;
                        }
                        return a.token_id < b.token_id;
                      });
    rows.resize(n);
    for (TokenLift& r : rows) r.text = TokenText(decode, r.token_id);
    c.top_tokens = std::move(rows);
    max_load = std::max(max_load, static_cast<double>(load[p]));
    g.cells.push_back(std::move(c));
  }
  g.max_violation = uniform > 0 ? max_load / uniform - 1.0 : 0.0;
  return g;
}

}  // namespace monoroute::analysis::explorer
