// Helpers shared by the pages_*.cc files (not part of the explorer's interface).
#ifndef MONOROUTE_SERVICES_ANALYSIS_EXPLORER_PAGES_INTERNAL_H_
#define MONOROUTE_SERVICES_ANALYSIS_EXPLORER_PAGES_INTERNAL_H_

#include <string>

#include "services/analysis/explorer/pages.h"

namespace monoroute::analysis::explorer {

// The header's links for `links` (runs, the run, try).
std::string Nav(const SiteLinks& links);

// A context as one line: tokens shaded by this pathway's gate, the routed token marked with its
// tooltip (gate, rank, co-selected pathways, next token).
std::string ContextHtml(const Context& c, uint32_t top_k);

}  // namespace monoroute::analysis::explorer

#endif  // MONOROUTE_SERVICES_ANALYSIS_EXPLORER_PAGES_INTERNAL_H_
