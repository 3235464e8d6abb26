// Tests of AddedTokenMatcher against HF `AddedVocabulary` behaviour: leftmost-longest matches,
// single_word, lstrip / rstrip (Unicode whitespace), raw matches that never overlap.
#include "common/tokenizer/added_tokens.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace monoroute {
namespace {

// "[id]" for tokens and the text for text splits, joined by '|'.
std::string Show(const AddedTokenMatcher& m, const std::string& text) {
  std::vector<AddedTokenSplit> splits;
  m.Split(text, &splits);
  std::string out;
  for (const AddedTokenSplit& s : splits) {
    if (!out.empty()) out += "|";
    out += s.id >= 0 ? "[" + std::to_string(s.id) + "]" : std::string(s.text);
  }
  return out;
}

AddedTokenMatcher Make(std::vector<AddedToken> tokens) {
  std::vector<std::string> patterns;
  for (const AddedToken& t : tokens) patterns.push_back(t.content);
  return AddedTokenMatcher(std::move(tokens), std::move(patterns));
}

TEST(AddedTokensTest, LeftmostLongest) {
  AddedTokenMatcher m = Make({{1, "  "}, {2, "   "}, {3, "<s>"}});
  EXPECT_EQ(Show(m, "a     b<s>"), "a|[2]|[1]|b|[3]");
  EXPECT_EQ(Show(m, "none"), "none");
  EXPECT_EQ(Show(m, ""), "");
}

TEST(AddedTokensTest, SingleWord) {
  AddedToken mask{7, "<mask>"};
  mask.single_word = true;
  AddedTokenMatcher m = Make({mask});
  // HF's test_single_word_is_correct.
  EXPECT_EQ(Show(m, "<mask> my name <mask> a<mask> <mask>ony <mask>"),
            "[7]| my name |[7]| a<mask> <mask>ony |[7]");
  // A combining mark is a word character, punctuation is not.
  EXPECT_EQ(Show(m, "<mask>, <mask>- \xE2\x97\x8C\xCC\xB0<mask>"),
            "[7]|, |[7]|- \xE2\x97\x8C\xCC\xB0<mask>");
}

TEST(AddedTokensTest, LstripRstripUnicodeSpace) {
  AddedToken mask{0, "<mask>"};
  mask.lstrip = mask.rstrip = mask.single_word = true;
  AddedTokenMatcher m = Make({mask});
  // HF's test_lstrip_unicode_space: "Hi <mask> there\t<mask>\t<mask>\u2000".
  EXPECT_EQ(Show(m, "Hi <mask> there\t<mask>\t<mask>\xE2\x80\x80"), "Hi|[0]|there|[0]|[0]");
}

}  // namespace
}  // namespace monoroute
