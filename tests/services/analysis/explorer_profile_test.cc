// The explorer core on a planted run (explorer_planted.h): the pathway profile finds the planted
// token's contexts, gates, lifts and partners with the values the construction implies; the
// event builder validates and deduplicates.
#include <gtest/gtest.h>

#include <cmath>

#include "services/analysis/coactivation_measure.h"
#include "services/analysis/explorer/layer_grid.h"
#include "services/analysis/explorer/pathway_profile.h"
#include "services/analysis/explorer/profile_parts.h"
#include "tests/services/analysis/explorer_planted.h"

namespace monoroute::analysis::explorer {
namespace {

using testing::kDragon;
using testing::kDragonPosition;
using testing::PlantedRun;
using testing::PlantedText;

TEST(ExplorerProfileTest, PlantedPathwayContextsAndGates) {
  const RunEvents run = PlantedRun(40);
  ExplorerOptions o;
  o.top_contexts = 10;
  o.context_tokens = 3;
  auto p = BuildPathwayProfile(run, 0, 5, PlantedText, o);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->layer_events, 800u);
  EXPECT_EQ(p->load, 40u);  // exactly the dragons
  EXPECT_NEAR(p->load_vs_uniform, 40.0 / (800.0 * 2 / 8), 1e-12);
  EXPECT_NEAR(p->mean_gate, 0.9, 1e-6);
  ASSERT_EQ(p->top_contexts.size(), 10u);
  for (const Context& c : p->top_contexts) {
    EXPECT_EQ(c.position, kDragonPosition);
    EXPECT_NEAR(c.gate, 0.9, 1e-6);
    EXPECT_EQ(c.rank, 1);
    EXPECT_EQ(c.co_selected, std::vector<uint32_t>({1}));
    EXPECT_EQ(c.next_text, " flew");
    ASSERT_EQ(c.tokens.size(), 7u);  // 3 before, the token, 3 after
    EXPECT_EQ(c.routed_index, 3u);
    EXPECT_EQ(c.tokens[3].text, " dragon");
    EXPECT_NEAR(c.tokens[3].gate, 0.9, 1e-6);
    EXPECT_EQ(c.tokens[2].gate, 0.0f);  // pathway 5 fires on nothing else
  }
  // Ties on the gate keep event order: sequences 0..9.
  for (size_t i = 0; i < p->top_contexts.size(); ++i) {
    EXPECT_EQ(p->top_contexts[i].sequence_id, i);
  }
  // Every gate is 0.9f (0.89999998 as a double, so bin 17 of 20): one bin holds them all.
  const size_t bin = static_cast<size_t>(static_cast<double>(0.9f) * 20);
  EXPECT_EQ(p->gate_histogram.counts[bin], 40u);
  uint64_t total = 0;
  for (uint64_t c : p->gate_histogram.counts) total += c;
  EXPECT_EQ(total, 40u);
  ASSERT_EQ(p->quantile_groups.size(), 5u);
  EXPECT_EQ(p->quantile_groups[0].events, 8u);
  EXPECT_NEAR(p->quantile_groups[0].gate_high, 0.9, 1e-6);
}

TEST(ExplorerProfileTest, LiftTablesAndPartners) {
  const RunEvents run = PlantedRun(40);
  auto p = BuildPathwayProfile(run, 0, 5, PlantedText, ExplorerOptions{});
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->tokens_by_lift.size(), 1u);  // only the dragon reaches pathway 5
  const TokenLift& t = p->tokens_by_lift[0];
  EXPECT_EQ(t.token_id, kDragon);
  EXPECT_EQ(t.count_in_pathway, 40u);
  EXPECT_EQ(t.count_in_layer, 40u);
  EXPECT_NEAR(t.lift, 1.0 / (40.0 / 800.0), 1e-9);  // share 1 in the pathway, 1/20 in the layer
  ASSERT_FALSE(p->next_tokens_by_lift.empty());
  EXPECT_EQ(p->next_tokens_by_lift[0].text, " flew");
  // Same layer: pathway 1 is the dragon's only partner; the null is the core's load-matched
  // pair expectation (coactivation_measure.h) at the layer's loads.
  ASSERT_FALSE(p->same_layer_partners.empty());
  const Partner& s = p->same_layer_partners[0];
  EXPECT_EQ(s.pathway, 1u);
  EXPECT_EQ(s.together, 40u);
  const LayerEvents& l0 = *run.Layer(0);
  std::vector<double> load(l0.num_pathways, 0.0);
  for (uint32_t q : l0.pathways) load[q] += 1;
  EXPECT_NEAR(s.expected, PairExpectations(load, l0.top_k)[5 * l0.num_pathways + 1], 1e-9);
  EXPECT_NEAR(s.lift, 40.0 / s.expected, 1e-9);
  EXPECT_NE(p->same_layer_null.find("load-matched"), std::string::npos);
  // Next routed layer (2): the dragons select pathway 3 there.
  ASSERT_TRUE(p->has_next_layer);
  EXPECT_EQ(p->next_layer, 2u);
  ASSERT_FALSE(p->next_layer_partners.empty());
  EXPECT_EQ(p->next_layer_partners[0].pathway, 3u);
  EXPECT_EQ(p->next_layer_partners[0].together, 40u);
  EXPECT_GT(p->next_layer_partners[0].lift, 2.0);
  EXPECT_NE(p->next_layer_null.find("permutation"), std::string::npos);
}

TEST(ExplorerProfileTest, TokenBlindPathwayHasNoLiftStructure) {
  const RunEvents run = PlantedRun(200);
  auto p = BuildPathwayProfile(run, 0, 2, PlantedText, ExplorerOptions{});
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_FALSE(p->tokens_by_lift.empty());
  // Random routing among 7 pathways: every ordinary token's lift is near 20/19 (the dragon
  // never routes here, so the others' shares grow by 20/19); no token stands out.
  for (const TokenLift& t : p->tokens_by_lift) EXPECT_LT(t.lift, 1.6) << t.text;
  EXPECT_EQ(p->has_next_layer, true);
  auto last = BuildPathwayProfile(run, 2, 3, PlantedText, ExplorerOptions{});
  ASSERT_TRUE(last.ok());
  EXPECT_FALSE(last->has_next_layer);
}

TEST(ExplorerProfileTest, LayerGridMatchesProfiles) {
  const RunEvents run = PlantedRun(40);
  const LayerGrid g = BuildLayerGrid(*run.Layer(0), PlantedText, 3, 5);
  ASSERT_EQ(g.cells.size(), 8u);
  EXPECT_EQ(g.cells[5].load, 40u);
  ASSERT_FALSE(g.cells[5].top_tokens.empty());
  EXPECT_EQ(g.cells[5].top_tokens[0].text, " dragon");
  uint64_t total = 0, max_load = 0;
  for (const GridCell& c : g.cells) {
    total += c.load;
    max_load = std::max(max_load, c.load);
  }
  EXPECT_EQ(total, 1600u);
  EXPECT_NEAR(g.max_violation, max_load / (1600.0 / 8) - 1, 1e-12);
}

TEST(ExplorerProfileTest, PathwaysBeyond64) {
  // The planted run spread over 200 pathways: the dragon's pathway is 149.
  const uint32_t P = 200, dragon = testing::PlantedPathway(5, P);
  ASSERT_EQ(dragon, 149u);
  const RunEvents run = PlantedRun(40, P);
  auto p = BuildPathwayProfile(run, 0, dragon, PlantedText, ExplorerOptions{});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->load, 40u);
  EXPECT_NEAR(p->load_vs_uniform, 40.0 / (800.0 * 2 / P), 1e-12);
  EXPECT_NEAR(p->mean_gate, 0.9, 1e-6);
  ASSERT_EQ(p->tokens_by_lift.size(), 1u);
  EXPECT_EQ(p->tokens_by_lift[0].token_id, kDragon);
  ASSERT_FALSE(p->same_layer_partners.empty());
  EXPECT_EQ(p->same_layer_partners[0].pathway, testing::PlantedPathway(1, P));
  EXPECT_EQ(p->same_layer_partners[0].together, 40u);
  ASSERT_FALSE(p->next_layer_partners.empty());
  EXPECT_EQ(p->next_layer_partners[0].pathway, testing::PlantedPathway(3, P));
  ASSERT_FALSE(p->top_contexts.empty());
  EXPECT_EQ(p->top_contexts[0].co_selected, std::vector<uint32_t>({testing::PlantedPathway(1, P)}));
  // The layer grid keys (token, pathway) pairs with room for 256 pathways.
  const LayerGrid g = BuildLayerGrid(*run.Layer(0), PlantedText, 3, 5);
  ASSERT_EQ(g.cells.size(), P);
  EXPECT_EQ(g.cells[dragon].load, 40u);
  ASSERT_EQ(g.cells[dragon].top_tokens.size(), 1u);
  EXPECT_EQ(g.cells[dragon].top_tokens[0].text, " dragon");
  uint64_t total = 0;
  for (const GridCell& c : g.cells) {
    total += c.load;
    // Only the 8 planted pathways hold events, and no (token, pathway) key aliases another.
    if ((c.pathway + 1) % (P / 8) != 0) {
      EXPECT_EQ(c.load, 0u) << c.pathway;
      EXPECT_TRUE(c.top_tokens.empty()) << c.pathway;
    }
  }
  EXPECT_EQ(total, 1600u);
}

TEST(ExplorerProfileTest, Errors) {
  const RunEvents run = PlantedRun(5);
  auto bad_layer = BuildPathwayProfile(run, 1, 0, PlantedText, ExplorerOptions{});
  EXPECT_EQ(bad_layer.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_NE(bad_layer.status().message().find("layer"), std::string::npos);
  auto bad_pathway = BuildPathwayProfile(run, 0, 8, PlantedText, ExplorerOptions{});
  EXPECT_EQ(bad_pathway.status().code(), absl::StatusCode::kOutOfRange);
  ExplorerOptions o;
  o.quantile_groups = 0;
  EXPECT_EQ(BuildPathwayProfile(run, 0, 0, PlantedText, o).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ExplorerProfileTest, LogitContextsArePrefixesEndingAtTheRoutedToken) {
  const RunEvents run = PlantedRun(10);
  const LayerEvents& l0 = *run.Layer(0);
  std::vector<LogitContext> c =
      LogitContextsOf(l0, {{3, kDragonPosition}, {99, 0}, {4, 19}}, {0.9f, 0.5f, 0.25f}, 8);
  ASSERT_EQ(c.size(), 2u);  // sequence 99 is not recorded
  ASSERT_EQ(c[0].token_ids.size(), kDragonPosition + 1);
  EXPECT_EQ(c[0].token_ids.back(), kDragon);
  EXPECT_EQ(c[0].token_ids.front(), l0.token_id[l0.Find(3, 0)]);
  EXPECT_FLOAT_EQ(c[0].gate, 0.9f);
  ASSERT_EQ(c[1].token_ids.size(), 8u);  // capped: positions 12..19
  EXPECT_EQ(c[1].token_ids.front(), l0.token_id[l0.Find(4, 12)]);
  EXPECT_FLOAT_EQ(c[1].gate, 0.25f);
}

// A layer (P = 4, k = 1) recorded at steps 0..steps-1, 10 tokens per step, every step of the same
// 10 (sequence, position) windows; pathway 0 takes every token from step `from` on, pathway
// 1 + (token % 3) before.
LayerEvents SteppedLayer(uint64_t steps, uint64_t from) {
  auto b = LayerEventsBuilder::Create(0, 4, 1);
  for (uint64_t s = 0; s < steps; ++s) {
    events::EventColumns c;
    for (uint32_t t = 0; t < 10; ++t) {
      c.sequence_id.push_back(t / 5);
      c.position.push_back(t % 5);
      c.token_id.push_back(t);
      c.next_token_id.push_back(0);
      c.pathways.push_back(s >= from ? 0 : 1 + t % 3);
      c.weights.push_back(1.0f);
    }
    EXPECT_TRUE(b->Add(events::ViewOf(c), std::vector<uint64_t>(10, s)).ok());
  }
  return b->Build();
}

TEST(ExplorerProfileTest, LoadOverTrainingPerStepAgainstUniform) {
  const LayerEvents e = SteppedLayer(10, 6);
  EXPECT_EQ(e.size(), 10u);                // deduplicated windows ...
  ASSERT_EQ(e.step_loads.buckets(), 10u);  // ... but every recorded event counted per step
  const std::vector<LoadBucket> load = LoadOverTraining(e, 0);
  ASSERT_EQ(load.size(), 10u);
  for (uint64_t s = 0; s < 10; ++s) {
    EXPECT_EQ(load[s].step_low, s);
    EXPECT_EQ(load[s].step_high, s);
    EXPECT_EQ(load[s].events, 10u);
    EXPECT_EQ(load[s].selecting, s >= 6 ? 10u : 0u);
    EXPECT_DOUBLE_EQ(load[s].load_vs_uniform, s >= 6 ? 4.0 : 0.0);  // uniform = 10 * 1 / 4
  }
  // Pathways 1..3 before step 6: tokens 0..9 -> 1 + t % 3 = 4, 3, 3 tokens.
  EXPECT_EQ(LoadOverTraining(e, 1)[0].selecting, 4u);
  EXPECT_DOUBLE_EQ(LoadOverTraining(e, 2)[5].load_vs_uniform, 3.0 / 2.5);
  EXPECT_TRUE(LoadOverTraining(e, 4).empty());  // no such pathway
  // The planted run: one step.
  const RunEvents run = PlantedRun(10);
  auto p = BuildPathwayProfile(run, 0, 5, PlantedText, ExplorerOptions{});
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->load_over_training.size(), 1u);
  EXPECT_EQ(p->load_over_training[0].step_low, 7u);
  EXPECT_EQ(p->load_over_training[0].selecting, 10u);
}

TEST(ExplorerProfileTest, LoadOverTrainingBucketsManySteps) {
  const LayerEvents e = SteppedLayer(200, 100);
  ASSERT_EQ(e.step_loads.buckets(), StepLoads::kMaxBuckets);
  const std::vector<LoadBucket> load = LoadOverTraining(e, 0);
  uint64_t events = 0, selecting = 0;
  for (size_t b = 0; b < load.size(); ++b) {
    if (b > 0) EXPECT_EQ(load[b].step_low, load[b - 1].step_high + 1);  // contiguous ranges
    events += load[b].events;
    selecting += load[b].selecting;
  }
  EXPECT_EQ(load.front().step_low, 0u);
  EXPECT_EQ(load.back().step_high, 199u);
  EXPECT_EQ(events, 2000u);
  EXPECT_EQ(selecting, 1000u);
  EXPECT_DOUBLE_EQ(load.front().load_vs_uniform, 0.0);
  EXPECT_DOUBLE_EQ(load.back().load_vs_uniform, 4.0);
}

TEST(ExplorerEventsTest, BuilderValidatesAndDeduplicates) {
  EXPECT_FALSE(LayerEventsBuilder::Create(0, 0, 1).ok());
  EXPECT_FALSE(LayerEventsBuilder::Create(0, 257, 1).ok());
  EXPECT_TRUE(LayerEventsBuilder::Create(0, 256, 128).ok());
  EXPECT_FALSE(LayerEventsBuilder::Create(0, 4, 5).ok());
  auto b = LayerEventsBuilder::Create(0, 4, 2);
  ASSERT_TRUE(b.ok());
  const uint64_t step[] = {1, 9, 3};
  const uint64_t seq[] = {2, 2, 1};
  const uint32_t pos[] = {0, 0, 4};
  const uint32_t tok[] = {7, 8, 9};
  const uint32_t next[] = {0, 0, 0};
  const uint32_t pw[] = {0, 1, 2, 3, 1, 0};
  const float gates[] = {0.6f, 0.4f, 0.3f, 0.7f, 0.5f, 0.5f};
  ASSERT_TRUE(b->Add({seq, pos, tok, next, pw, gates}, step).ok());
  const LayerEvents e = b->Build();
  ASSERT_EQ(e.size(), 2u);  // (2, 0) twice: the step-9 copy is kept
  EXPECT_EQ(e.sequence_id[0], 1u);
  EXPECT_EQ(e.token_id[1], 8u);
  EXPECT_EQ(e.RankOf(1, 3), 1);  // by gate: 0.7 beats 0.3
  EXPECT_EQ(e.RankOf(1, 2), 2);
  EXPECT_EQ(e.RankOf(1, 0), 0);
  EXPECT_EQ(e.Find(2, 0), 1u);
  EXPECT_EQ(e.Find(2, 1), e.size());
  // The first event, with these pathways and gates.
  auto first = [&](absl::Span<const uint32_t> p, absl::Span<const float> g) {
    return events::EventColumnsView{absl::MakeConstSpan(seq, 1),
                                    absl::MakeConstSpan(pos, 1),
                                    absl::MakeConstSpan(tok, 1),
                                    absl::MakeConstSpan(next, 1),
                                    p.first(2),
                                    g.first(2)};
  };
  const absl::Span<const uint64_t> one_step(step, 1);
  const uint32_t bad[] = {0, 0};
  auto s = b->Add(first(bad, gates), one_step);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("repeated"), std::string::npos);
  const uint32_t big[] = {0, 4};
  EXPECT_EQ(b->Add(first(big, gates), one_step).code(), absl::StatusCode::kInvalidArgument);
  const float nan_gate[] = {std::nanf(""), 0.5f};
  EXPECT_EQ(b->Add(first(pw, nan_gate), one_step).code(), absl::StatusCode::kInvalidArgument);
  s = b->Add(first(pw, gates), absl::MakeConstSpan(step, 2));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "step has 2 entries, token_id has 1");
  s = b->Add({absl::MakeConstSpan(seq, 1), absl::MakeConstSpan(pos, 1), absl::MakeConstSpan(tok, 1),
              absl::MakeConstSpan(next, 1), pw, absl::MakeConstSpan(gates, 2)},
             one_step);
  EXPECT_EQ(s.message(), "pathways has 6 entries, expected 2 (1 events x top_k 2)");
  b->set_max_events(0);
  EXPECT_EQ(b->Add(first(pw, gates), one_step).code(), absl::StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace monoroute::analysis::explorer
