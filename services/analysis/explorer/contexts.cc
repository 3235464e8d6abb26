// Contexts of a pathway: a routed token with its neighbours in the same sequence (decoded), the
// top contexts by gate and the gate-weight quantile groups.
#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "services/analysis/explorer/profile_parts.h"

namespace monoroute::analysis::explorer {

std::string TokenText(const Decoder& decode, uint32_t token_id) {
  std::string s = decode ? decode(token_id) : std::string();
  return s.empty() ? absl::StrCat("#", token_id) : s;
}

std::vector<size_t> EventsSelecting(const LayerEvents& events, uint32_t pathway) {
  std::vector<size_t> out;
  const uint32_t k = events.top_k;
  for (size_t i = 0; i < events.size(); ++i) {
    for (uint32_t j = 0; j < k; ++j) {
      if (events.pathways[i * k + j] == pathway) {
        out.push_back(i);
        break;
      }
    }
  }
  return out;
}

Context MakeContext(const LayerEvents& events, size_t i, uint32_t pathway, const Decoder& decode,
                    int context_tokens) {
  Context c;
  c.sequence_id = events.sequence_id[i];
  c.position = events.position[i];
  c.gate = events.GateOf(i, pathway);
  c.rank = events.RankOf(i, pathway);
  std::vector<std::pair<int, uint32_t>> others;  // (rank, pathway)
  for (uint32_t j = 0; j < events.top_k; ++j) {
    const uint32_t q = events.pathways[i * events.top_k + j];
    if (q != pathway) others.emplace_back(events.RankOf(i, q), q);
  }
  std::sort(others.begin(), others.end());
  for (const auto& [rank, q] : others) c.co_selected.push_back(q);
  c.next_token_id = events.next_token_id[i];
  c.next_text = TokenText(decode, c.next_token_id);
  // Neighbours: events of the same sequence within +-context_tokens positions (present ones).
  const size_t n = static_cast<size_t>(std::max(0, context_tokens));
  size_t begin = i;
  while (begin > 0 && i - begin < n && events.sequence_id[begin - 1] == c.sequence_id) --begin;
  size_t end = i + 1;
  while (end < events.size() && end - i <= n && events.sequence_id[end] == c.sequence_id) ++end;
  for (size_t e = begin; e < end; ++e) {
    c.tokens.push_back(
        {events.token_id[e], TokenText(decode, events.token_id[e]), events.GateOf(e, pathway)});
  }
  c.routed_index = i - begin;
  return c;
}

std::vector<Context> TopContexts(const LayerEvents& events, const std::vector<size_t>& selecting,
                                 uint32_t pathway, const Decoder& decode,
                                 const ExplorerOptions& options) {
  std::vector<std::pair<float, size_t>> by_gate;
  by_gate.reserve(selecting.size());
  for (size_t i : selecting) by_gate.emplace_back(events.GateOf(i, pathway), i);
  const size_t n = std::min(by_gate.size(), static_cast<size_t>(std::max(0, options.top_contexts)));
  std::partial_sort(by_gate.begin(), by_gate.begin() + n, by_gate.end(),
                    [](const auto& a, const auto& b) {
                      return a.first != b.first ? a.first > b.first : a.second < b.second;
                    });
  std::vector<Context> out;
  for (size_t r = 0; r < n; ++r) {
    out.push_back(MakeContext(events, by_gate[r].second, pathway, decode, options.context_tokens));
  }
  return out;
}

std::vector<QuantileGroup> QuantileGroups(const LayerEvents& events,
                                          const std::vector<size_t>& selecting, uint32_t pathway,
                                          const Decoder& decode, const ExplorerOptions& options) {
  std::vector<std::pair<float, size_t>> by_gate;
  for (size_t i : selecting) by_gate.emplace_back(events.GateOf(i, pathway), i);
  std::sort(by_gate.begin(), by_gate.end());
  std::vector<QuantileGroup> out;
  const size_t n = by_gate.size();
  const size_t g = static_cast<size_t>(std::max(1, options.quantile_groups));
  if (n == 0) return out;
  for (size_t q = g; q-- > 0;) {  // highest group first
    const size_t lo = q * n / g, hi = (q + 1) * n / g;
    if (hi <= lo) continue;
    QuantileGroup grp;
    grp.quantile_low = static_cast<double>(q) / static_cast<double>(g);
    grp.quantile_high = static_cast<double>(q + 1) / static_cast<double>(g);
    grp.gate_low = by_gate[lo].first;
    grp.gate_high = by_gate[hi - 1].first;
    grp.events = hi - lo;
    const size_t m =
        std::min(hi - lo, static_cast<size_t>(std::max(0, options.examples_per_group)));
    for (size_t e = 0; e < m; ++e) {  // evenly spaced through the group
      const size_t idx = lo + (e * (hi - lo)) / m;
      grp.examples.push_back(
          MakeContext(events, by_gate[idx].second, pathway, decode, options.context_tokens));
    }
    out.push_back(std::move(grp));
  }
  return out;
}

}  // namespace monoroute::analysis::explorer
