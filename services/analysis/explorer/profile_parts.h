// The parts of BuildPathwayProfile, one per section of the pathway page (contexts.cc,
// token_lift.cc, coactivation.cc). Internal to the explorer core; pure functions.
#ifndef MONOROUTE_SERVICES_ANALYSIS_EXPLORER_PROFILE_PARTS_H_
#define MONOROUTE_SERVICES_ANALYSIS_EXPLORER_PROFILE_PARTS_H_

#include <cstdint>
#include <vector>

#include "services/analysis/explorer/pathway_profile.h"

namespace monoroute::analysis::explorer {

// Indices of the events of `events` that select `pathway`, in event order.
std::vector<size_t> EventsSelecting(const LayerEvents& events, uint32_t pathway);

// The `n` selecting events with the highest gate (ties: event order) as contexts.
std::vector<Context> TopContexts(const LayerEvents& events, const std::vector<size_t>& selecting,
                                 uint32_t pathway, const Decoder& decode,
                                 const ExplorerOptions& options);

// Gate-weight quantile groups of the selecting events with evenly spaced examples.
std::vector<QuantileGroup> QuantileGroups(const LayerEvents& events,
                                          const std::vector<size_t>& selecting, uint32_t pathway,
                                          const Decoder& decode, const ExplorerOptions& options);

// Tokens (next tokens when `next`) of the selecting events by lift over their share in the layer.
std::vector<TokenLift> TokensByLift(const LayerEvents& events, const std::vector<size_t>& selecting,
                                    bool next, const Decoder& decode,
                                    const ExplorerOptions& options);

// Same-layer partners against the load-matched null (analytic); sets *null_text.
std::vector<Partner> SameLayerPartners(const LayerEvents& events,
                                       const std::vector<size_t>& selecting, uint32_t pathway,
                                       std::string* null_text);

// Partners in `next` (the next routed layer) against the within-sequence permutation null of
// the next layer's top-k sets (simulated); sets *null_text.
std::vector<Partner> NextLayerPartners(const LayerEvents& events, const LayerEvents& next,
                                       uint32_t pathway, const ExplorerOptions& options,
                                       std::string* null_text);

// The pathway's load per step bucket of events.step_loads against its uniform share.
std::vector<LoadBucket> LoadOverTraining(const LayerEvents& events, uint32_t pathway);

}  // namespace monoroute::analysis::explorer

#endif  // MONOROUTE_SERVICES_ANALYSIS_EXPLORER_PROFILE_PARTS_H_
