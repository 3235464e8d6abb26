// What a pathway responds to, on synthetic routing whose source is known: the verdict rule on
// hand-made effects; a previous-token router on bigram text is attributed to the previous token
// (the current token adds nothing: I(P; t_i | t_{i-1}) covers 0) although its current-token MI
// is large; a current-token router on the same text is attributed to the current token; a
// token-blind router that follows a local state (inside a quote or not) flags no current-token
// pathway.
#include "services/analysis/source_attribution.h"

#include <gtest/gtest.h>

#include <iostream>

#include "services/analysis/layer_analysis.h"
#include "services/analysis/synthetic_routing.h"
#include "tests/services/analysis/analysis_test_util.h"

namespace monoroute::analysis {
namespace {

Effect E(double excess, double lo, double hi) {
  Effect e;
  e.excess = excess;
  e.ci = {lo, hi};
  return e;
}

TEST(SourceAttributionTest, RuleOnHandMadeEffects) {
  const Effect none = E(0.0, -0.01, 0.01), strong = E(0.3, 0.28, 0.32), mid = E(0.2, 0.18, 0.22);
  Effect m[4] = {none, none, none, none};
  EXPECT_EQ(RoutingSource(m, none, none, 0.005), "none");
  m[0] = strong;
  m[1] = mid;
  EXPECT_EQ(RoutingSource(m, strong, none, 0.005), "current_token");
  EXPECT_EQ(RoutingSource(m, none, mid, 0.005), "previous_token");
  EXPECT_EQ(RoutingSource(m, mid, mid, 0.005), "context");
  EXPECT_EQ(RoutingSource(m, none, none, 0.005), "current_token");  // redundant: the larger
  m[3] = E(0.5, 0.45, 0.55);
  EXPECT_EQ(RoutingSource(m, strong, none, 0.005), "position");
  // Without intervals the point excess decides.
  Effect p[4] = {E(0.1, kNaN, kNaN), Effect{}, Effect{}, Effect{}};
  EXPECT_EQ(RoutingSource(p, Effect{}, Effect{}, 0.005), "current_token");
  EXPECT_TRUE(Supported(E(0.1, 0.01, 0.2), 0.005));
  EXPECT_FALSE(Supported(E(0.1, 0.001, 0.2), 0.005));
}

LayerResult Analyze(const SyntheticRoutingOptions& so, int bootstrap = 100) {
  absl::StatusOr<RoutingTable> t = SyntheticRoutingTable(so);
  EXPECT_TRUE(t.ok()) << t.status();
  AnalysisOptions o;
  o.bootstrap = bootstrap;
  LayerContext ctx;
  ctx.vocab_size = so.vocab;
  absl::StatusOr<LayerResult> r = AnalyzeLayer(*t, ctx, o);
  EXPECT_TRUE(r.ok()) << r.status();
  return *std::move(r);
}

const Effect& SourceMiOf(const LayerResult& L, const std::string& source) {
  for (const SourceMi& s : L.sources) {
    if (s.source == source) return s.mi;
  }
  static const Effect kNone;
  ADD_FAILURE() << "no source " << source;
  return kNone;
}

TEST(SourceAttributionTest, PreviousTokenRoutingIsAttributedToThePreviousToken) {
  SyntheticRoutingOptions so = BigramText();
  so.route_by = SyntheticRouteBy::kPreviousToken;
  const LayerResult L = Analyze(so);
  std::cout << "previous-token router: MI(current) " << L.mi.excess << " MI(previous) "
            << SourceMiOf(L, "previous_token").excess << " current|previous "
            << L.current_given_previous.excess << " [" << L.current_given_previous.ci.low << ", "
            << L.current_given_previous.ci.high << "]\n";
  // What a current-token-only analysis would have published.
  EXPECT_GT(L.mi.ci.low, 0.05);
  EXPECT_EQ(L.routing_source, "previous_token");
  EXPECT_TRUE(CiCovers(L.current_given_previous.ci, 0.0))
      << L.current_given_previous.ci.low << " " << L.current_given_previous.ci.high;
  EXPECT_GT(SourceMiOf(L, "previous_token").excess, L.mi.excess);
  int current = 0;
  for (const PathwayResult& p : L.pathways) current += p.routing_source == "current_token";
  EXPECT_EQ(current, 0);
}

TEST(SourceAttributionTest, CurrentTokenRoutingIsAttributedToTheCurrentToken) {
  SyntheticRoutingOptions so = BigramText();
  so.route_by = SyntheticRouteBy::kCurrentToken;
  const LayerResult L = Analyze(so);
  EXPECT_EQ(L.routing_source, "current_token");
  EXPECT_TRUE(CiAbove(L.current_given_previous.ci, 0.05));
  EXPECT_FALSE(CiAbove(L.previous_given_current.ci, 0.005));
  int current = 0;
  for (const PathwayResult& p : L.pathways) {
    current += p.specialised_vs_null && p.routing_source == "current_token";
  }
  EXPECT_GE(current, 12);
}

TEST(SourceAttributionTest, LocalStateRouterFlagsNoCurrentTokenPathway) {
  SyntheticRoutingOptions so;
  so.events = 200000;
  so.seq_len = 128;
  so.vocab = 200;
  so.tokens = SyntheticTokens::kQuotes;
  so.quote_prob = 0.05;
  so.quote_shift = 0.8;
  so.route_by = SyntheticRouteBy::kLocalState;
  so.token_preference = 0.95;
  const LayerResult L = Analyze(so);
  int current = 0, flagged = 0;
  for (const PathwayResult& p : L.pathways) {
    flagged += p.specialised_vs_null;
    current += p.specialised_vs_null && p.routing_source == "current_token";
  }
  std::cout << "local-state router: MI(current) " << L.mi.excess << ", verdict " << L.routing_source
            << ", " << flagged << " pathways flagged vs null, " << current
            << " of them current-token\n";
  // A token-only analysis would call these pathways token-specialised.
  EXPECT_GE(flagged, 4);
  EXPECT_NE(L.routing_source, "current_token");
  EXPECT_EQ(current, 0);
}

}  // namespace
}  // namespace monoroute::analysis
