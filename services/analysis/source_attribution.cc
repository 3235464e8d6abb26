// RoutingSource: the strongest supported marginal source, refined between the two tokens by the
// conditionals.
#include "services/analysis/source_attribution.h"

#include "services/analysis/routing_table.h"

namespace monoroute::analysis {

bool Supported(const Effect& e, double min_nats) {
  if (std::isfinite(e.ci.low)) return e.ci.low > min_nats;
  return std::isfinite(e.excess) && e.excess > min_nats;
}

std::string RoutingSource(const Effect marginal[4], const Effect& cgp, const Effect& pgc,
                          double min_nats) {
  int best = -1;
  for (int s = kCurrentToken; s <= kPosition; ++s) {
    if (!Supported(marginal[s], min_nats)) continue;
    if (best < 0 || marginal[s].excess > marginal[best].excess) best = s;
  }
  if (best < 0) return "none";
  if (best == kNextToken || best == kPosition) return SourceKeyName(best);
  const bool current_adds = Supported(cgp, min_nats);
  const bool previous_adds = Supported(pgc, min_nats);
  if (current_adds && previous_adds) return "context";
  if (current_adds) return SourceKeyName(kCurrentToken);
  if (previous_adds) return SourceKeyName(kPreviousToken);
  return SourceKeyName(best);
}

}  // namespace monoroute::analysis
