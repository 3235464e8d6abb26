// Tests of LayoutDifferences and MergeRunLabels: every layout field named with both values, labels
// added, a changed label refused (long values cut in the message), merged labels bounded.
#include "services/recorder/run_spec_merge.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "services/recorder/batch_validator.h"
#include "tests/services/recorder/recorder_test_util.h"

namespace monoroute::recorder {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::TestSpec;

TEST(LayoutDifferencesTest, NamesEachFieldWithBothValues) {
  const RunSpecData a = TestSpec("r");
  EXPECT_TRUE(LayoutDifferences(a, a).empty());
  RunSpecData b = a;
  b.labels["extra"] = "x";  // labels are not layout
  EXPECT_TRUE(LayoutDifferences(a, b).empty());
  b.routed_layers = {0, 2};
  b.num_pathways = 8;
  b.top_k = 2;
  b.vocab_size = 50;
  b.store_raw_events = false;
  b.step_bucket = 7;
  b.raw_retention_steps = 100;
  EXPECT_THAT(LayoutDifferences(a, b),
              ElementsAre("routed_layers: stored [0,2,4,6], requested [0,2]",
                          "num_pathways: stored 16, requested 8", "top_k: stored 4, requested 2",
                          "vocab_size: stored 1000, requested 50",
                          "store_raw_events: stored true, requested false",
                          "step_bucket: stored 10, requested 7",
                          "raw_retention_steps: stored 0, requested 100"));
}

TEST(MergeRunLabelsTest, AddsMissingKeysAndIsIdempotent) {
  const RunSpecData stored = TestSpec("r");
  std::map<std::string, std::string> merged;
  size_t added = 9;
  ASSERT_TRUE(MergeRunLabels(stored, stored, &merged, &added).ok());
  EXPECT_EQ(added, 0u);
  EXPECT_EQ(merged, stored.labels);
  RunSpecData fewer = stored;  // a re-declaration without a stored key keeps it
  fewer.labels.clear();
  ASSERT_TRUE(MergeRunLabels(stored, fewer, &merged, &added).ok());
  EXPECT_EQ(added, 0u);
  EXPECT_EQ(merged, stored.labels);
  RunSpecData more = stored;
  more.labels["checkpoint"] = "/ckpt/a";
  ASSERT_TRUE(MergeRunLabels(stored, more, &merged, &added).ok());
  EXPECT_EQ(added, 1u);
  EXPECT_EQ(merged, more.labels);
}

TEST(MergeRunLabelsTest, RefusesAChangedLabelNamingKeyAndValues) {
  const RunSpecData stored = TestSpec("r");
  RunSpecData req = stored;
  req.labels["model"] = "other";
  std::map<std::string, std::string> merged;
  size_t added = 0;
  absl::Status s = MergeRunLabels(stored, req, &merged, &added);
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(s.message(), HasSubstr("labels['model']: stored 'test', requested 'other'"));
  req.labels["model"] = std::string(kMaxLabelValueBytes, 'v');
  s = MergeRunLabels(stored, req, &merged, &added);
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(s.message(), HasSubstr(absl::StrCat("(", kMaxLabelValueBytes, " bytes)")));
  EXPECT_LT(s.message().size(), 400u);
}

TEST(MergeRunLabelsTest, RefusesALayoutDifferenceNamingTheFields) {
  const RunSpecData stored = TestSpec("r");
  RunSpecData req = stored;
  req.top_k = 2;
  req.vocab_size = 77;
  req.labels["new"] = "x";
  std::map<std::string, std::string> merged;
  size_t added = 0;
  absl::Status s = MergeRunLabels(stored, req, &merged, &added);
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(s.message(), HasSubstr("top_k: stored 4, requested 2; vocab_size: stored 1000, "
                                     "requested 77"));
}

TEST(MergeRunLabelsTest, MergedLabelsKeepTheBounds) {
  RunSpecData stored = TestSpec("r");
  RunSpecData req = TestSpec("r");
  for (size_t i = 0; stored.labels.size() < kMaxLabels; ++i) {
    stored.labels[absl::StrCat("a", i)] = "x";
  }
  req.labels["b"] = "y";  // each valid alone, kMaxLabels + 1 together
  ASSERT_TRUE(ValidateLabels(stored).ok());
  ASSERT_TRUE(ValidateLabels(req).ok());
  std::map<std::string, std::string> merged;
  size_t added = 0;
  absl::Status s = MergeRunLabels(stored, req, &merged, &added);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(s.message(), HasSubstr("labels has 65 entries, at most 64"));
}

}  // namespace
}  // namespace monoroute::recorder
