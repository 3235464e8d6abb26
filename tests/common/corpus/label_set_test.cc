// Tests of LabelSet: name validation, exact lookups, sentinels, the size limit.
#include "common/corpus/label_set.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace monoroute {
namespace {

using ::testing::HasSubstr;

TEST(LabelSetTest, AddFindAndNamesInOrder) {
  LabelSet s;
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(*s.Add("NOUN"), 0);
  EXPECT_EQ(*s.Add("VERB"), 1);
  EXPECT_EQ(*s.Add("NOUN"), 0);  // already there
  EXPECT_EQ(*s.Add("名詞"), 2);
  EXPECT_EQ(*s.Add("B-PER"), 3);
  EXPECT_EQ(*s.Add("I-LOC/x.y"), 4);
  EXPECT_EQ(s.size(), 5);
  EXPECT_EQ(s.names(), (std::vector<std::string>{"NOUN", "VERB", "名詞", "B-PER", "I-LOC/x.y"}));
  EXPECT_EQ(s.Find("VERB"), 1);
  EXPECT_EQ(s.Find("名詞"), 2);
  // Exact, case-sensitive lookups.
  EXPECT_EQ(s.Find("noun"), kLabelNone);
  EXPECT_EQ(s.Find("VERB "), kLabelNone);
  EXPECT_EQ(s.NameOf(3), "B-PER");
  EXPECT_EQ(s.NameOf(kLabelMixed), "mixed");
  EXPECT_EQ(s.NameOf(kLabelNone), "none");
  EXPECT_EQ(s.NameOf(99), "none");
  EXPECT_TRUE(s.Contains(4));
  EXPECT_FALSE(s.Contains(5));
  EXPECT_FALSE(s.Contains(kLabelMixed));
  auto t = LabelSet::FromNames({"NOUN", "VERB", "名詞", "B-PER", "I-LOC/x.y"});
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(*t, s);
  EXPECT_NE(*LabelSet::FromNames({"VERB", "NOUN"}), *LabelSet::FromNames({"NOUN", "VERB"}));
}

TEST(LabelSetTest, InvalidNamesAreRejectedWithTheReason) {
  struct Case {
    std::string name;
    std::string why;
  };
  const std::vector<Case> cases = {
      {"", "empty"},
      {std::string(65, 'x'), "more than 64"},
      {"a b", "white space"},
      {"a\tb", "white space"},
      {"a\nb", "white space"},
      {"a\xc2\xa0"
       "b",
       "U+00A0"},  // no-break space
      {"a\xe3\x80\x80"
       "b",
       "U+3000"},  // ideographic space
      {std::string("a\x01"), "control"},
      {"a\x7f", "control"},
      {"a\xc2\x85", "U+0085"},  // NEL: a C1 control and white space
      {"\xff", "UTF-8"},
      {"caf\xc3", "UTF-8"},  // truncated sequence
      {"mixed", "reserved"},
      {"none", "reserved"},
  };
  for (const Case& c : cases) {
    absl::Status s = LabelSet::ValidateName(c.name);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.why;
    EXPECT_THAT(std::string(s.message()), HasSubstr(c.why)) << s;
    LabelSet set;
    EXPECT_FALSE(set.Add(c.name).ok()) << c.why;
    EXPECT_TRUE(set.empty());
  }
  // 64 bytes is fine, so is a 64-byte UTF-8 name; case variants of reserved names are ordinary.
  EXPECT_TRUE(LabelSet::ValidateName(std::string(64, 'x')).ok());
  std::string kanji;
  for (int i = 0; i < 21; ++i) kanji += "名";  // 63 bytes
  EXPECT_TRUE(LabelSet::ValidateName(kanji).ok());
  EXPECT_FALSE(LabelSet::ValidateName(kanji + "名").ok());  // 66 bytes
  EXPECT_TRUE(LabelSet::ValidateName("None").ok());
  EXPECT_TRUE(LabelSet::ValidateName("MIXED").ok());
  EXPECT_TRUE(LabelSet::ValidateName("<mixed>").ok());
  EXPECT_TRUE(LabelSet::IsReserved("mixed"));
  EXPECT_FALSE(LabelSet::IsReserved("Mixed"));
  // FromNames names the offending entry, and rejects repeats.
  auto bad = LabelSet::FromNames({"DET", "NOUN", "a b"});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("label 2"));
  bad = LabelSet::FromNames({"DET", "NOUN", "DET"});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("twice"));
}

TEST(LabelSetTest, AtMostMaxLabels) {
  LabelSet s;
  for (int i = 0; i < kMaxLabels; ++i) ASSERT_EQ(*s.Add(absl::StrCat("L", i)), i);
  EXPECT_EQ(*s.Add("L7"), 7);  // an existing name is still found
  auto full = s.Add("one-more");
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(full.status().message()), HasSubstr("at most 4096"));
  EXPECT_EQ(s.size(), kMaxLabels);
}

TEST(LabelSetTest, LabelCountsKeepSentinelsApart) {
  LabelCounts c(3);
  c.Add(0);
  c.Add(2, 5);
  c.Add(kLabelMixed);
  c.Add(kLabelNone, 2);
  c.Add(3);  // out of range counts as none
  EXPECT_EQ(c.per_label, (std::vector<int64_t>{1, 0, 5}));
  EXPECT_EQ(c.mixed, 1);
  EXPECT_EQ(c.none, 3);
}

}  // namespace
}  // namespace monoroute
