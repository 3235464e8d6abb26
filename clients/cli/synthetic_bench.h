// The synthetic routing events that `monoroute bench analysis` and `bench explorer` time: how many,
// over how many routed layers, of what shape, and how many timed repeats; their flags, their check
// and each layer's generator options (services/analysis/synthetic_routing.h). Header-only (the CLI
// globs only cmd_*.cc).
#ifndef MONOROUTE_CLIENTS_CLI_SYNTHETIC_BENCH_H_
#define MONOROUTE_CLIENTS_CLI_SYNTHETIC_BENCH_H_

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdint>
#include <string>

#include "services/analysis/synthetic_routing.h"

namespace monoroute::cli {

// Size and shape of a benchmark's synthetic events (each command sets its own defaults).
struct SyntheticBenchShape {
  // Events in total, split evenly over the layers (--events).
  uint64_t events = 1000000;
  // Routed layers (--layers).
  uint32_t layers = 4;
  // Pathways per layer (--pathways).
  uint32_t pathways = 16;
  // Pathways per event (--top-k).
  uint32_t top_k = 4;
  // Timed repeats (--repeats).
  int repeats = 5;

  // Events of one layer (at least 1).
  uint64_t events_per_layer() const { return std::max<uint64_t>(1, events / std::max(layers, 1u)); }

  // True when every count is > 0, top_k is in [1, pathways] and pathways <= max_pathways.
  bool Valid(uint32_t max_pathways = UINT32_MAX) const {
    return layers > 0 && pathways > 0 && pathways <= max_pathways && top_k > 0 &&
           top_k <= pathways && events > 0 && repeats >= 1;
  }

  // The generator options of one layer: its events, pathways and top-k, the rest at defaults.
  analysis::SyntheticRoutingOptions LayerOptions() const {
    analysis::SyntheticRoutingOptions so;
    so.events = events_per_layer();
    so.num_pathways = pathways;
    so.top_k = top_k;
    return so;
  }
};

// Adds --events, --layers, --pathways, --top-k and --repeats (described by `repeats_help`) to
// `sub`, each showing its default.
inline void AddSyntheticShapeFlags(CLI::App* sub, SyntheticBenchShape* s,
                                   const std::string& repeats_help) {
  sub->add_option("--events", s->events, "events in total (split evenly over layers)")
      ->capture_default_str();
  sub->add_option("--layers", s->layers, "routed layers")->capture_default_str();
  sub->add_option("--pathways", s->pathways, "pathways per layer")->capture_default_str();
  sub->add_option("--top-k", s->top_k, "pathways per event")->capture_default_str();
  sub->add_option("--repeats", s->repeats, repeats_help)->capture_default_str();
}

}  // namespace monoroute::cli

#endif  // MONOROUTE_CLIENTS_CLI_SYNTHETIC_BENCH_H_
