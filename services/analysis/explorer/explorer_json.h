// The explorer's data as JSON: the /api documents (the same data the pages show; field by field
// in docs/explorer.md) and the Neuronpedia upload format of the static export. nlohmann::json
// stays inside the .cc. Pure functions; thread-safe.
#ifndef MONOROUTE_SERVICES_ANALYSIS_EXPLORER_EXPLORER_JSON_H_
#define MONOROUTE_SERVICES_ANALYSIS_EXPLORER_EXPLORER_JSON_H_

#include <string>
#include <vector>

#include "services/analysis/explorer/layer_grid.h"
#include "services/analysis/explorer/pages.h"
#include "services/analysis/explorer/pathway_profile.h"
#include "services/analysis/explorer/try_routing.h"

namespace monoroute::analysis::explorer {

// Version of the /api documents; bumped on any incompatible change.
inline constexpr int kExplorerApiVersion = 1;

std::string ProfileToJson(const PathwayProfile& p);
std::string RunsToJson(const std::vector<RunListing>& runs);
// The overview: run, split, the layer grids and (verbatim) the report document, or null.
std::string OverviewToJson(const OverviewInput& in, const std::string& report_json);
std::string TryToJson(const TryResult& r);
// {"error": {"code": <http code>, "message": ...}}.
std::string ErrorJson(int http_code, const std::string& message);

// One layer's pathways in the batch format SAEDashboard writes for Neuronpedia uploads
// ({"model_id", "layer", "sae_set", "features": [...]}, one feature per pathway with
// "feature_index", "activations" [{"bin_min", "bin_max", "bin_contains", "tokens", "values",
// "qualifying_token_index"}], "frac_nonzero", "freq_hist_data_bar_heights/values",
// "pos_str"/"pos_values" and "neg_str"/"neg_values" = the logit tables (tokens the pathway raises
// / lowers; empty when not computed), tokens by lift in "monoroute_tokens_by_lift_str/_values",
// correlated_features_indices = same-layer partners by lift, their lifts in
// "monoroute_partner_lift").
std::string NeuronpediaBatchJson(const std::string& model_id, const std::string& sae_set,
                                 uint32_t layer, const std::vector<PathwayProfile>& pathways);

}  // namespace monoroute::analysis::explorer

#endif  // MONOROUTE_SERVICES_ANALYSIS_EXPLORER_EXPLORER_JSON_H_
