// Token tables of a pathway: each token's share among the tokens selecting the pathway over its
// share in the layer (lift), for the routed token and for the next token.
#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "services/analysis/explorer/profile_parts.h"

namespace monoroute::analysis::explorer {

std::vector<TokenLift> TokensByLift(const LayerEvents& events, const std::vector<size_t>& selecting,
                                    bool next, const Decoder& decode,
                                    const ExplorerOptions& options) {
  const std::vector<uint32_t>& ids = next ? events.next_token_id : events.token_id;
  absl::flat_hash_map<uint32_t, uint64_t> in_layer, in_pathway;
  for (uint32_t t : ids) ++in_layer[t];
  for (size_t i : selecting) ++in_pathway[ids[i]];
  const double load = static_cast<double>(selecting.size());
  const double total = static_cast<double>(ids.size());
  std::vector<TokenLift> rows;
  for (const auto& [t, c] : in_pathway) {
    const uint64_t l = in_layer[t];
    if (l < options.min_token_count || c < 2) continue;
    TokenLift r;
    r.token_id = t;
    r.count_in_pathway = c;
    r.count_in_layer = l;
    r.share_in_pathway = static_cast<double>(c) / load;
    r.share_in_layer = static_cast<double>(l) / total;
    r.lift = r.share_in_pathway / r.share_in_layer;
    rows.push_back(r);
  }
  std::sort(rows.begin(), rows.end(), [](const TokenLift& a, const TokenLift& b) {
    if (a.lift != b.lift) return a.lift > b.lift;
    if (a.count_in_pathway != b.count_in_pathway) return a.count_in_pathway > b.count_in_pathway;
    return a.token_id < b.token_id;
  });
  rows.resize(std::min(rows.size(), static_cast<size_t>(std::max(0, options.top_tokens))));
  for (TokenLift& r : rows) r.text = TokenText(decode, r.token_id);
  return rows;
}

}  // namespace monoroute::analysis::explorer
