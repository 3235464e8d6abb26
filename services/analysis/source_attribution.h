// The routing-source verdict: which source (current token, previous token, next token, position)
// the evidence says a layer's or a pathway's routing responds to, "context" when none explains
// it alone and "none" when there is no signal. The rule is in docs/analysis.md ("Sources").
#ifndef MONOROUTE_SERVICES_ANALYSIS_SOURCE_ATTRIBUTION_H_
#define MONOROUTE_SERVICES_ANALYSIS_SOURCE_ATTRIBUTION_H_

#include <string>

#include "services/analysis/effect.h"

namespace monoroute::analysis {

// True when `e` shows an excess above `min_nats`: its interval's lower bound when it has one,
// else its point excess.
bool Supported(const Effect& e, double min_nats);

// `marginal[s]` for s = current token, previous token, next token, position (I(P; s) or a
// pathway's KL per source); the conditionals I(P; t_i | t_{i-1}) and I(P; t_{i-1} | t_i).
std::string RoutingSource(const Effect marginal[4], const Effect& current_given_previous,
                          const Effect& previous_given_current, double min_nats);

}  // namespace monoroute::analysis

#endif  // MONOROUTE_SERVICES_ANALYSIS_SOURCE_ATTRIBUTION_H_
