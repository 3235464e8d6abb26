// BuildPathwayProfile: validation, load and gate summaries, the histogram, and the sections of
// profile_parts.h.
#include "services/analysis/explorer/pathway_profile.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "services/analysis/explorer/profile_parts.h"

namespace monoroute::analysis::explorer {
namespace {

absl::Status CheckOptions(const ExplorerOptions& o) {
  // Each bounded knob with its closed range.
  struct Bound {
    const char* field;
    int value;
    int low;
    int high;
  };
  const Bound bounds[] = {{"context_tokens", o.context_tokens, 0, 256},
                          {"top_contexts", o.top_contexts, 0, 1000},
                          {"quantile_groups", o.quantile_groups, 1, 100},
                          {"examples_per_group", o.examples_per_group, 0, 100},
                          {"histogram_bins", o.histogram_bins, 1, 1000},
                          {"top_tokens", o.top_tokens, 0, 10000},
                          {"null_replicates", o.null_replicates, 1, 1000}};
  for (const Bound& b : bounds) {
    if (b.value < b.low || b.value > b.high) {
      return absl::InvalidArgumentError(
          absl::StrCat(b.field, ": must be in [", b.low, ", ", b.high, "]"));
    }
  }
  return absl::OkStatus();
}

Histogram GateHistogram(const LayerEvents& events, const std::vector<size_t>& selecting,
                        uint32_t pathway, int bins, double* mean_gate) {
  Histogram h;
  h.counts.assign(static_cast<size_t>(bins), 0);
  double sum = 0;
  for (size_t i : selecting) {
    const double g = std::clamp<double>(events.GateOf(i, pathway), 0.0, 1.0);
    sum += g;
    const size_t b = std::min(static_cast<size_t>(g * bins), h.counts.size() - 1);
    ++h.counts[b];
  }
  *mean_gate = selecting.empty() ? std::numeric_limits<double>::quiet_NaN()
                                 : sum / static_cast<double>(selecting.size());
  return h;
}

}  // namespace

absl::StatusOr<PathwayProfile> BuildPathwayProfile(const RunEvents& run, uint32_t layer,
                                                   uint32_t pathway, const Decoder& decode,
                                                   const ExplorerOptions& options) {
  if (absl::Status s = CheckOptions(options); !s.ok()) return s;
  const LayerEvents* events = run.Layer(layer);
  if (events == nullptr) {
    return absl::OutOfRangeError(
        absl::StrCat("layer: ", layer, " is not a routed layer of run ", run.run_id));
  }
  if (pathway >= run.num_pathways) {
    return absl::OutOfRangeError(absl::StrCat("pathway: ", pathway, " >= num_pathways ",
                                              run.num_pathways, " of run ", run.run_id));
  }
  PathwayProfile p;
  p.run_id = run.run_id;
  p.split = run.split;
  p.layer = layer;
  p.pathway = pathway;
  p.num_pathways = run.num_pathways;
  p.top_k = run.top_k;
  p.layer_events = events->size();
  const std::vector<size_t> selecting = EventsSelecting(*events, pathway);
  p.load = selecting.size();
  const double uniform =
      static_cast<double>(p.layer_events) * run.top_k / std::max(1u, run.num_pathways);
  p.load_vs_uniform = uniform > 0 ? static_cast<double>(p.load) / uniform : 0.0;
  p.density =
      p.layer_events ? static_cast<double>(p.load) / static_cast<double>(p.layer_events) : 0.0;
  p.gate_histogram =
      GateHistogram(*events, selecting, pathway, options.histogram_bins, &p.mean_gate);
  p.top_contexts = TopContexts(*events, selecting, pathway, decode, options);
  p.quantile_groups = QuantileGroups(*events, selecting, pathway, decode, options);
  p.tokens_by_lift = TokensByLift(*events, selecting, false, decode, options);
  p.next_tokens_by_lift = TokensByLift(*events, selecting, true, decode, options);
  p.load_over_training = LoadOverTraining(*events, pathway);
  p.same_layer_partners = SameLayerPartners(*events, selecting, pathway, &p.same_layer_null);
  if (const LayerEvents* next = run.NextLayer(layer); next != nullptr) {
    p.has_next_layer = true;
    p.next_layer = next->layer;
    p.next_layer_partners = NextLayerPartners(*events, *next, pathway, options, &p.next_layer_null);
  }
  return p;
}

}  // namespace monoroute::analysis::explorer
