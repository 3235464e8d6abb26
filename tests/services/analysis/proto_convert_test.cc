// The report's field list (report_fields.h) and analysis.proto agree: every visited field exists
// in the message with a compatible type, and every non-reserved proto field is visited.
#include "services/analysis/proto_convert.h"

#include <gtest/gtest.h>

#include <set>

#include "google/protobuf/descriptor.h"
#include "services/analysis/report_fields.h"

namespace monoroute::analysis {
namespace {

struct Names {
  std::set<std::string> names;
  template <typename T>
  void operator()(const char* n, const T&) {
    names.insert(n);
  }
  template <typename S>
  void List(const char* n, const std::vector<S>&) {
    names.insert(n);
  }
};

std::set<std::string> ProtoNames(const google::protobuf::Descriptor* d) {
  std::set<std::string> s;
  for (int i = 0; i < d->field_count(); ++i) s.insert(d->field(i)->name());
  return s;
}

TEST(ProtoConvertTest, FieldListsMatchTheProto) {
  LayerResult L;
  L.controls.resize(1);
  L.pathways.resize(1);
  L.pathways[0].top_tokens.resize(1);
  L.pathways[0].categories.resize(1);
  L.sources.resize(1);
  L.pathways[0].sources.resize(1);
  std::vector<std::string> missing;
  v1::LayerSummary ls;
  ToProto(L, &ls, &missing);
  v1::PathwaySummary ps;
  ToProto(L.pathways[0], &ps, &missing);
  EXPECT_TRUE(missing.empty()) << missing.front();
  Names layer, pathway, control;
  VisitSummaryFields(L, layer);
  VisitFields(L.pathways[0], pathway);
  VisitFields(L.controls[0], control);
  EXPECT_EQ(layer.names, ProtoNames(v1::LayerSummary::descriptor()));
  EXPECT_EQ(pathway.names, ProtoNames(v1::PathwaySummary::descriptor()));
  EXPECT_EQ(control.names, ProtoNames(v1::ControlComparison::descriptor()));
  Names effect_source, token;
  VisitFields(L.sources[0], effect_source);
  EXPECT_EQ(effect_source.names, ProtoNames(v1::SourceMi::descriptor()));
  VisitFields(L.pathways[0].top_tokens[0], token);
  EXPECT_EQ(token.names, ProtoNames(v1::TokenCount::descriptor()));
  std::vector<SaturationPoint> sat(1);
  sat[0].layers.resize(1);
  v1::ReportResponse report;
  ToProto(sat, &report, &missing);
  EXPECT_TRUE(missing.empty()) << missing.front();
  Names point, layer_sat;
  VisitFields(sat[0], point);
  VisitFields(sat[0].layers[0], layer_sat);
  EXPECT_EQ(point.names, ProtoNames(v1::SaturationPoint::descriptor()));
  EXPECT_EQ(layer_sat.names, ProtoNames(v1::LayerSaturation::descriptor()));
  EXPECT_EQ(ProtoNames(v1::Effect::descriptor()),
            (std::set<std::string>{"observed", "null_mean", "excess", "ci"}));
}

TEST(ProtoConvertTest, ValuesTravel) {
  LayerResult L;
  L.layer = 4;
  L.mi.observed = 0.3;
  L.mi.ci = {0.1, 0.2};
  L.sources.push_back({"previous_token", L.mi});
  L.load = {1, 2, 3};
  L.specialised_reference = "fresh_routers";
  ControlComparison c;
  c.control = "dense_slices";
  c.mi_delta.excess = 0.5;
  L.controls.push_back(c);
  v1::LayerSummary ls;
  ToProto(L, &ls);
  EXPECT_EQ(ls.layer(), 4u);
  EXPECT_DOUBLE_EQ(ls.mi().ci().high(), 0.2);
  EXPECT_DOUBLE_EQ(ls.mi().observed(), 0.3);
  ASSERT_EQ(ls.sources_size(), 1);
  EXPECT_EQ(ls.sources(0).source(), "previous_token");
  EXPECT_EQ(ls.load_size(), 3);
  EXPECT_EQ(ls.specialised_reference(), "fresh_routers");
  ASSERT_EQ(ls.controls_size(), 1);
  EXPECT_EQ(ls.controls(0).control(), "dense_slices");
  EXPECT_DOUBLE_EQ(ls.controls(0).mi_delta().excess(), 0.5);
  EXPECT_TRUE(std::isnan(ls.mi().excess()));  // undefined stays NaN on the wire
}

TEST(ProtoConvertTest, OptionsDefaultsAndErrors) {
  v1::AnalysisOptions p;
  auto o = OptionsFromProto(p, 2);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->bootstrap, AnalysisOptions().bootstrap);
  p.set_bootstrap(0);
  p.set_min_effect_nats(0.0);
  o = OptionsFromProto(p, 2);
  EXPECT_EQ(o->bootstrap, 0);
  EXPECT_EQ(o->min_effect_nats, 0.0);
  p.set_fdr(2.0);
  o = OptionsFromProto(p, 2);
  EXPECT_EQ(o.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(o.status().message().find("fdr"), std::string::npos);
  v1::AnalysisOptions big;
  big.set_bootstrap(1000000);
  EXPECT_EQ(OptionsFromProto(big, 2).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace monoroute::analysis
