// The report's answer in one sentence per layer: what the routing responds to, by how much, and
// how much more than each control, with intervals. Shared by the JSON (`summary.answers`), the
// PNG and (through the JSON) the CLI summary.
#ifndef MONOROUTE_SERVICES_ANALYSIS_REPORT_ANSWER_H_
#define MONOROUTE_SERVICES_ANALYSIS_REPORT_ANSWER_H_

#include <string>

#include "services/analysis/layer_analysis.h"

namespace monoroute::analysis {

// E.g. "Layer 2 responds to the previous token: I(pathway; previous token) exceeds its null by
// 0.120 nats [0.110, 0.130]; token MI vs fresh routers +0.050 [+0.040, +0.060]; ...".
std::string LayerAnswer(const LayerResult& layer);

// "the current token", "the previous token", "the next token", "position", "context (no single
// token explains it)", "nothing (no signal)".
std::string SourcePhrase(const std::string& routing_source);

}  // namespace monoroute::analysis

#endif  // MONOROUTE_SERVICES_ANALYSIS_REPORT_ANSWER_H_
