// Tests of the field-list <-> protobuf reflection helpers (common/service/proto_fields.h) on real
// service messages: scalars converted to the field's type, enums, repeated scalars and messages,
// string maps, nested messages, and names the message lacks or types it does not match recorded.
#include "common/service/proto_fields.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "monoroute/recorder/v1/recorder.pb.h"
#include "monoroute/trainer/v1/trainer.pb.h"

namespace monoroute::proto_fields_test {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

enum class State { kQueued = 0, kRunning = 2 };

struct Eval {
  int64_t step = 0;
  double val_loss = 0;
};
template <typename V>
void VisitFields(const Eval& e, V& v) {
  v("step", e.step);
  v("val_loss", e.val_loss);
}

struct JobLike {
  std::string id;
  State state = State::kQueued;
  int resumes = 0;
  bool cancel_requested = false;
  std::vector<Eval> evals;
  std::vector<std::string> warnings;
};
template <typename V>
void VisitFields(const JobLike& j, V& v) {
  v("id", j.id);
  v("state", j.state);
  v("resumes", j.resumes);
  v("cancel_requested", j.cancel_requested);
  v("evals", j.evals);
  v("warnings", j.warnings);
}

struct SpecLike {
  std::string run_id;
  std::vector<uint32_t> routed_layers;
  uint64_t step_bucket = 0;
  std::map<std::string, std::string> labels;
};
template <typename S, typename V>
auto VisitFields(S& s, V& v) -> decltype(s.routed_layers, void()) {
  v("run_id", s.run_id);
  v("routed_layers", s.routed_layers);
  v("step_bucket", s.step_bucket);
  v("labels", s.labels);
}

TEST(ProtoFieldsTest, WriterSetsScalarsEnumsAndRepeatedMessages) {
  JobLike j{"job-1", State::kRunning, 3, true, {{5, 2.5}, {9, 1.25}}, {"w1", "w2"}};
  trainer::v1::Job p;
  std::vector<std::string> missing;
  ProtoFieldWriter w(&p, &missing);
  VisitFields(j, w);
  EXPECT_THAT(missing, IsEmpty());
  EXPECT_EQ(p.id(), "job-1");
  EXPECT_EQ(p.state(), trainer::v1::JobState(2));
  EXPECT_EQ(p.resumes(), 3);
  EXPECT_TRUE(p.cancel_requested());
  ASSERT_EQ(p.evals_size(), 2);
  EXPECT_EQ(p.evals(1).step(), 9);
  EXPECT_EQ(p.evals(1).val_loss(), 1.25);
  EXPECT_THAT(p.warnings(), ElementsAre("w1", "w2"));
}

TEST(ProtoFieldsTest, ReaderAndWriterRoundTripRepeatedScalarsAndMaps) {
  SpecLike s{"run", {0, 2, 4}, uint64_t{1} << 40, {{"a", "1"}, {"b", "2"}}};
  recorder::v1::RunSpec p;
  std::vector<std::string> missing;
  ProtoFieldWriter w(&p, &missing);
  VisitFields(s, w);
  SpecLike back;
  ProtoFieldReader r(p, &missing);
  VisitFields(back, r);
  EXPECT_THAT(missing, IsEmpty());
  EXPECT_EQ(back.run_id, "run");
  EXPECT_THAT(back.routed_layers, ElementsAre(0u, 2u, 4u));
  EXPECT_EQ(back.step_bucket, uint64_t{1} << 40);
  EXPECT_EQ(back.labels, s.labels);
}

struct Wrong {
  double run_id = 1.5;      // a string field
  int not_a_field = 1;      // absent from the message
  std::string top_k = "4";  // a uint32 field
};
template <typename S, typename V>
auto VisitFields(S& s, V& v) -> decltype(s.not_a_field, void()) {
  v("run_id", s.run_id);
  v("not_a_field", s.not_a_field);
  v("top_k", s.top_k);
}

TEST(ProtoFieldsTest, MissingNamesAndMismatchedTypesAreRecordedAndSkipped) {
  Wrong x;
  recorder::v1::RunSpec p;
  p.set_run_id("kept");
  std::vector<std::string> missing;
  ProtoFieldWriter w(&p, &missing);
  VisitFields(x, w);
  EXPECT_THAT(missing,
              ElementsAre("RunSpec.run_id (type)", "RunSpec.not_a_field", "RunSpec.top_k (type)"));
  EXPECT_EQ(p.run_id(), "kept");
  EXPECT_EQ(p.top_k(), 0u);
  missing.clear();
  ProtoFieldReader r(p, &missing);
  VisitFields(x, r);
  EXPECT_THAT(missing,
              ElementsAre("RunSpec.run_id (type)", "RunSpec.not_a_field", "RunSpec.top_k (type)"));
  EXPECT_EQ(x.run_id, 1.5);
}

}  // namespace
}  // namespace monoroute::proto_fields_test
