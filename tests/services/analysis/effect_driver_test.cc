// The effect driver in the realistic regime: Zipf tokens over 50,257 types, P = 16, k = 4,
// tokens dependent within sequences (repeats), at a fixed number of events. The estimand is the
// expected MI excess at that N (the fixed-N estimand every compared excess uses); 90-99% of the
// bootstrap intervals must cover it. Also: replicates and effects have the table's shape, and
// disabled measures stay NaN.
#include "services/analysis/effect_driver.h"

#include <gtest/gtest.h>

#include <iostream>

#include "services/analysis/synthetic_routing.h"

namespace monoroute::analysis {
namespace {

SyntheticRoutingOptions Zipf(uint64_t seed) {
  SyntheticRoutingOptions so;
  so.events = 64 * 1024;
  so.seq_len = 128;
  so.vocab = 50257;
  so.zipf = 1.1;
  so.num_pathways = 16;
  so.top_k = 4;
  so.tokens = SyntheticTokens::kCopy;
  so.copy_prob = 0.3;
  so.token_preference = 0.6;
  so.seed = seed;
  return so;
}

EffectRun RunTable(const RoutingTable& t, int bootstrap, uint64_t seed, LayerReplicates* reps) {
  MeasureContext ctx;
  ctx.table = &t;
  ctx.log_vocab = std::log(50257.0);
  ctx.sources = false;
  AnalysisOptions o;
  o.bootstrap = bootstrap;
  o.seed = seed;
  return RunEffects(ctx, o, 0, nullptr, reps);
}

TEST(EffectDriverTest, ShapesFollowTheMeasureTable) {
  SyntheticRoutingOptions so = Zipf(1);
  so.events = 8192;
  const RoutingTable t = *SyntheticRoutingTable(so);
  LayerReplicates reps;
  const EffectRun run = RunTable(t, 12, 1, &reps);
  EXPECT_EQ(run.bootstrap, 12);
  EXPECT_EQ(reps.count(), 12u);
  EXPECT_EQ(run.effects[kMi].size(), 1u);
  EXPECT_EQ(run.effects[kPathwayKl].size(), 16u);
  EXPECT_EQ(reps.by_measure[kPathwayKl][0].size(), 16u);
  EXPECT_TRUE(std::isfinite(run.effects[kMi][0].ci.low));
  // Sources were not asked for, and there are no categories.
  EXPECT_TRUE(std::isnan(run.effects[kMiPrevious][0].observed));
  EXPECT_TRUE(std::isnan(run.effects[kCategoryMi][0].observed));
  EXPECT_TRUE(reps.by_measure[kMiPrevious].empty());
  const Effect& e = run.effects[kMi][0];
  EXPECT_DOUBLE_EQ(e.excess, e.observed - e.null_mean);
}

TEST(EffectDriverTest, ZipfCoverageOfTheFixedNEstimand) {
  // The estimand: the mean excess over independent datasets of the same size (no bootstrap).
  const int kTruthSets = 100, kSims = 100;
  double truth = 0.0;
  for (int s = 0; s < kTruthSets; ++s) {
    const RoutingTable t = *SyntheticRoutingTable(Zipf(90000 + s));
    truth += RunTable(t, 0, s + 1, nullptr).effects[kMi][0].excess;
  }
  truth /= kTruthSets;
  int covered = 0;
  double mean = 0.0;
  for (int s = 0; s < kSims; ++s) {
    const RoutingTable t = *SyntheticRoutingTable(Zipf(10000 + s));
    const Effect e = RunTable(t, 100, s + 1, nullptr).effects[kMi][0];
    mean += e.excess / kSims;
    covered += CiCovers(e.ci, truth);
  }
  std::cout << "Zipf 50257 types, P 16, k 4, 65536 dependent events: estimand " << truth
            << ", mean estimate " << mean << ", coverage " << covered << "/" << kSims << "\n";
  EXPECT_GE(covered, 90);
  EXPECT_LE(covered, 99);
}

}  // namespace
}  // namespace monoroute::analysis
