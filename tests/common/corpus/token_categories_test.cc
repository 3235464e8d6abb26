// Tests of the token-category TSV format: story categories, arbitrary label names (POS tags,
// unicode, punctuation), the legacy file layout, and errors naming file:line.
#include "common/corpus/token_categories.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/base/file_util.h"
#include "common/corpus/category.h"
#include "common/tokenizer/gpt2_tokenizer.h"
#include "tests/testing/temp_files.h"

namespace monoroute {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const Gpt2Tokenizer& Tok() {
  static const Gpt2Tokenizer* tok = Gpt2Tokenizer::Create({})->release();
  return *tok;
}

class TokenCategoriesTest : public ::testing::Test {
 protected:
  void SetUp() override { file_ = (dir_ / "cats.tsv").string(); }

  // Writes `text` to the test file and reads it for a 100-id vocabulary; expects
  // INVALID_ARGUMENT naming "cats.tsv:<line>" and `what`.
  void ExpectBad(const std::string& text, int line, const std::string& what) {
    ASSERT_TRUE(WriteFileAtomic(file_, text).ok());
    auto bad = TokenCategories::ReadTsv(file_, 100);
    ASSERT_FALSE(bad.ok()) << text;
    EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(bad.status().message()), HasSubstr(absl::StrCat("cats.tsv:", line)));
    EXPECT_THAT(std::string(bad.status().message()), HasSubstr(what));
  }

  ::monoroute::testing::TempDir tmp_{"tokcat"};
  fs::path dir_ = tmp_.path();
  std::string file_;
};

TEST_F(TokenCategoriesTest, StoryCategoriesRoundTripInTheOriginalLayout) {
  TokenCategories tc = TokenCategories::Empty(StoryLabelSet(), Tok().vocab_size());
  tc.label_by_id[3290] = StoryLabel(Category::kAnimal);  // " dog"
  tc.count_by_id[3290] = 17;
  tc.label_by_id[198] = kLabelMixed;  // "\n": rendered escaped, no raw newline
  tc.count_by_id[198] = 2;
  ASSERT_TRUE(tc.WriteTsv(file_, Tok()).ok());
  auto text = ReadFile(file_);
  ASSERT_TRUE(text.ok());
  // Byte-identical to what the enum-based writer produced.
  EXPECT_EQ(*text,
            "token_id\ttoken\tcategory\tcount\n198\t\\n\tmixed\t2\n3290\t dog\tanimal\t17\n");
  auto back = TokenCategories::ReadTsv(file_, Tok().vocab_size());
  ASSERT_TRUE(back.ok()) << back.status();
  // Names in order of first appearance: only "animal" ("mixed" is a sentinel, not a label).
  EXPECT_EQ(back->labels.names(), std::vector<std::string>{"animal"});
  EXPECT_EQ(back->NameOf(3290), "animal");
  EXPECT_EQ(back->Get(198), kLabelMixed);
  EXPECT_EQ(back->Get(5), kLabelNone);
  EXPECT_EQ(back->count_by_id, tc.count_by_id);
  LabelCounts counts = back->CountIdsPerLabel();
  EXPECT_EQ(counts.per_label, std::vector<int64_t>{1});
  EXPECT_EQ(counts.mixed, 1);
  EXPECT_EQ(counts.none, Tok().vocab_size() - 2);
}

TEST_F(TokenCategoriesTest, ArbitraryNamesRoundTrip) {
  auto labels = LabelSet::FromNames({"NOUN", "名詞", "B-PER", "I-ORG.x/y", "None", "<mixed>"});
  ASSERT_TRUE(labels.ok()) << labels.status();
  TokenCategories tc = TokenCategories::Empty(*labels, Tok().vocab_size());
  const int32_t dog = Tok().Encode(" dog")[0];
  const int32_t tom = Tok().Encode(" Tom")[0];
  const int32_t the = Tok().Encode(" the")[0];
  tc.label_by_id[dog] = 1;  // 名詞
  tc.label_by_id[tom] = 2;  // B-PER
  tc.label_by_id[the] = 4;  // "None": an ordinary label (lookups are case-sensitive)
  tc.label_by_id[10] = 5;   // "<mixed>": an ordinary label too
  tc.label_by_id[11] = kLabelMixed;
  for (int32_t id : {dog, tom, the, 10, 11}) tc.count_by_id[id] = id % 7 + 1;
  ASSERT_TRUE(tc.WriteTsv(file_, Tok()).ok());
  auto text = ReadFile(file_);
  ASSERT_TRUE(text.ok());
  EXPECT_THAT(*text, HasSubstr(absl::StrCat(dog, "\t dog\t名詞\t")));
  EXPECT_THAT(*text, HasSubstr(absl::StrCat(tom, "\t Tom\tB-PER\t")));
  auto back = TokenCategories::ReadTsv(file_, Tok().vocab_size());
  ASSERT_TRUE(back.ok()) << back.status();
  for (int32_t id = 0; id < Tok().vocab_size(); ++id) {
    ASSERT_EQ(back->NameOf(id), tc.NameOf(id)) << id;
    ASSERT_EQ(back->count_by_id[id], tc.count_by_id[id]) << id;
  }
  // Labels without a token ("NOUN", "I-ORG.x/y") are not in the file; the rest come back in
  // order of first appearance, i.e. of their lowest token id.
  std::map<int32_t, std::string> by_id = {
      {dog, "名詞"}, {tom, "B-PER"}, {the, "None"}, {10, "<mixed>"}};
  std::vector<std::string> expected;
  for (const auto& [id, name] : by_id) expected.push_back(name);
  EXPECT_EQ(back->labels.names(), expected);
  // Writing what was read gives the same bytes.
  const std::string again = (dir_ / "again.tsv").string();
  ASSERT_TRUE(back->WriteTsv(again, Tok()).ok());
  EXPECT_EQ(*ReadFile(again), *text);
}

TEST_F(TokenCategoriesTest, HandWrittenFiles) {
  // No header, CRLF line ends, an explicit "none" line, a count on a none line ignored.
  ASSERT_TRUE(WriteFileAtomic(file_, "5\tx\tVERB\t3\r\n7\ty\tnone\t9\r\n8\tz\tmixed\t4\r\n").ok());
  auto tc = TokenCategories::ReadTsv(file_, 100);
  ASSERT_TRUE(tc.ok()) << tc.status();
  EXPECT_EQ(tc->NameOf(5), "VERB");
  EXPECT_EQ(tc->count_by_id[5], 3);
  EXPECT_EQ(tc->Get(7), kLabelNone);
  EXPECT_EQ(tc->count_by_id[7], 0);
  EXPECT_EQ(tc->Get(8), kLabelMixed);
  EXPECT_EQ(tc->labels.size(), 1);
}

TEST_F(TokenCategoriesTest, ErrorsNameFileAndLine) {
  const std::string h = "token_id\ttoken\tcategory\tcount\n";
  ExpectBad(h + "5\tx\tanimal\n", 2, "expected");
  ExpectBad("500\tx\tanimal\t1\n", 1, "outside [0, 100)");
  ExpectBad(h + "5\tx\tanimal\t1\n5\tx\tanimal\t1\n", 3, "listed twice");
  ExpectBad(h + "5\tx\tB PER\t1\n", 2, "white space");
  ExpectBad(h + "5\tx\t\t1\n", 2, "empty");
  ExpectBad(h + "5\tx\t" + std::string(65, 'N') + "\t1\n", 2, "more than 64");
  ExpectBad(h + "5\tx\tNO\x01UN\t1\n", 2, "control");
  ExpectBad(h + "5\tx\t\xff\t1\n", 2, "UTF-8");
  // More than kMaxLabels distinct names: the line bringing name 4097 is named.
  std::string many = h;
  for (int i = 0; i <= kMaxLabels; ++i) absl::StrAppend(&many, i, "\tx\tL", i, "\t1\n");
  ASSERT_TRUE(WriteFileAtomic(file_, many).ok());
  auto bad = TokenCategories::ReadTsv(file_, kMaxLabels + 10);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()),
              HasSubstr(absl::StrCat("cats.tsv:", kMaxLabels + 2, ": ")));
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("at most 4096"));
  // Exactly kMaxLabels names are fine.
  many = h;
  for (int i = 0; i < kMaxLabels; ++i) absl::StrAppend(&many, i, "\tx\tL", i, "\t1\n");
  ASSERT_TRUE(WriteFileAtomic(file_, many).ok());
  auto ok = TokenCategories::ReadTsv(file_, kMaxLabels + 10);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->labels.size(), kMaxLabels);
  EXPECT_EQ(ok->NameOf(kMaxLabels - 1), absl::StrCat("L", kMaxLabels - 1));
}

}  // namespace
}  // namespace monoroute
