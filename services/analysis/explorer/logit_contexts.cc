// LogitContextsOf: the recorded prefix of each context (consecutive positions of its sequence).
#include <algorithm>

#include "services/analysis/explorer/pathway_logits.h"

namespace monoroute::analysis::explorer {

std::vector<LogitContext> LogitContextsOf(const LayerEvents& events,
                                          const std::vector<std::pair<uint64_t, uint32_t>>& at,
                                          const std::vector<float>& gates, uint32_t max_tokens) {
  std::vector<LogitContext> out;
  const size_t limit = std::max<uint32_t>(1, max_tokens);
  for (size_t c = 0; c < at.size(); ++c) {
    const size_t i = events.Find(at[c].first, at[c].second);
    if (i >= events.size()) continue;
    size_t begin = i;
    while (begin > 0 && i - begin + 1 < limit && events.sequence_id[begin - 1] == at[c].first &&
           events.position[begin - 1] + 1 == events.position[begin]) {
      --begin;
    }
    LogitContext lc;
    lc.token_ids.assign(events.token_id.begin() + static_cast<std::ptrdiff_t>(begin),
                        events.token_id.begin() + static_cast<std::ptrdiff_t>(i + 1));
    lc.gate = c < gates.size() ? gates[c] : 0.0f;
    out.push_back(std::move(lc));
  }
  return out;
}

}  // namespace monoroute::analysis::explorer
