// Test support: a run with a planted pathway for the explorer tests. Layer 0 pathway 5 is
// selected with gate 0.9 (rank 1) exactly on the token " dragon" (id 100), always together with
// pathway 1 (gate 0.1); in layer 2 the same tokens (and only they) select pathway 3 (gate 0.6).
// Every other token routes at random among the other pathways (gate 0.5 each). With
// num_pathways P > 8 the same run is spread over P pathways: planted pathway q is
// PlantedPathway(q, P) (5 -> 149 at P = 200), the others unused. Header-only.
#ifndef MONOROUTE_TESTS_SERVICES_ANALYSIS_EXPLORER_PLANTED_H_
#define MONOROUTE_TESTS_SERVICES_ANALYSIS_EXPLORER_PLANTED_H_

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "services/analysis/explorer/run_events.h"

namespace monoroute::analysis::explorer::testing {

inline constexpr uint32_t kDragon = 100;
inline constexpr uint32_t kDragonPosition = 5;

// Columnar events of one layer (what a recorder batch holds).
struct PlantedColumns : events::EventColumns {
  // The step of each event.
  std::vector<uint64_t> step;
};

// Pathway q (0..7) of the planted run spread over `num_pathways` (>= 8) pathways.
inline uint32_t PlantedPathway(uint32_t q, uint32_t num_pathways) {
  const uint32_t stride = num_pathways / 8;
  return q * stride + stride - 1;
}

// `sequences` sequences of 20 tokens; token ids 10..29 except position 5 = kDragon; the next
// token after the dragon is id 42. P = 8 (spread over num_pathways), k = 2.
inline PlantedColumns PlantedLayer(uint32_t layer, int sequences, uint64_t seed,
                                   uint32_t num_pathways = 8) {
  PlantedColumns c;
  std::mt19937_64 rng(seed);
  for (int s = 0; s < sequences; ++s) {
    for (uint32_t pos = 0; pos < 20; ++pos) {
      const bool dragon = pos == kDragonPosition;
      const uint32_t tok = dragon ? kDragon : 10 + static_cast<uint32_t>(rng() % 20);
      c.step.push_back(7);
      c.sequence_id.push_back(static_cast<uint64_t>(s));
      c.position.push_back(pos);
      c.token_id.push_back(tok);
      c.next_token_id.push_back(pos + 1 == kDragonPosition ? kDragon : dragon ? 42 : 11);
      const uint32_t special = layer == 0 ? 5 : 3;  // only the dragon reaches it
      auto random_other = [&](uint32_t avoid) {
        uint32_t a;
        do a = static_cast<uint32_t>(rng() % 8);
        while (a == special || a == avoid);
        return a;
      };
      if (dragon && layer == 0) {
        c.pathways.insert(c.pathways.end(), {5, 1});
        c.weights.insert(c.weights.end(), {0.9f, 0.1f});
      } else if (dragon) {
        c.pathways.insert(c.pathways.end(), {3, random_other(3)});
        c.weights.insert(c.weights.end(), {0.6f, 0.4f});
      } else {
        const uint32_t a = random_other(special);
        const uint32_t b = random_other(a);
        c.pathways.insert(c.pathways.end(), {a, b});
        c.weights.insert(c.weights.end(), {0.5f, 0.5f});
      }
    }
  }
  for (uint32_t& p : c.pathways) p = PlantedPathway(p, num_pathways);
  return c;
}

// The planted run: routed layers 0 and 2, `sequences` sequences, split "valid".
inline RunEvents PlantedRun(int sequences = 40, uint32_t num_pathways = 8) {
  RunEvents run;
  run.run_id = "planted";
  run.split = "valid";
  run.splits = {"train", "valid", "valid/fresh_routers"};
  run.num_pathways = num_pathways;
  run.top_k = 2;
  run.vocab_size = 1000;
  for (uint32_t layer : {0u, 2u}) {
    auto b = LayerEventsBuilder::Create(layer, num_pathways, 2);
    const PlantedColumns c = PlantedLayer(layer, sequences, 11 + layer, num_pathways);
    (void)b->Add(events::ViewOf(c), c.step);
    run.layers.push_back(b->Build());
  }
  return run;
}

// Token texts: kDragon " dragon", 42 " flew", others " w<id>".
inline std::string PlantedText(uint32_t id) {
  if (id == kDragon) return " dragon";
  if (id == 42) return " flew";
  return " w" + std::to_string(id);
}

}  // namespace monoroute::analysis::explorer::testing

#endif  // MONOROUTE_TESTS_SERVICES_ANALYSIS_EXPLORER_PLANTED_H_
