// Tests of the hand-written GPT-2 pre-tokenisation against what the regex gives.
#include "common/tokenizer/pretokenizer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/tokenizer/gpt2_tokenizer.h"

namespace monoroute {
namespace {

std::vector<std::string> Pieces(const std::string& s) {
  std::vector<std::string> out;
  for (absl::string_view p : Gpt2PreTokenize(s)) out.emplace_back(p);
  return out;
}

using V = std::vector<std::string>;

TEST(PreTokenizerTest, WordsSpacesAndPunctuation) {
  EXPECT_EQ(Pieces("Hello world"), (V{"Hello", " world"}));
  EXPECT_EQ(Pieces("  two"), (V{" ", " two"}));
  EXPECT_EQ(Pieces("end "), (V{"end", " "}));
  EXPECT_EQ(Pieces("a\n\nb"), (V{"a", "\n", "\n", "b"}));
  EXPECT_EQ(Pieces("a\n\n\n"), (V{"a", "\n\n\n"}));
  EXPECT_EQ(Pieces("a \n b"), (V{"a", " \n", " b"}));
  EXPECT_EQ(Pieces("x\ty"), (V{"x", "\t", "y"}));
  EXPECT_EQ(Pieces("said, \"Mom!\""), (V{"said", ",", " \"", "Mom", "!\""}));
  EXPECT_EQ(Pieces(""), V{});
}

TEST(PreTokenizerTest, Contractions) {
  EXPECT_EQ(Pieces("I'm can't they'll"), (V{"I", "'m", " can", "'t", " they", "'ll"}));
  EXPECT_EQ(Pieces("I'M"), (V{"I", "'", "M"}));  // case-sensitive like the regex
  EXPECT_EQ(Pieces("O'Neil's"), (V{"O", "'", "Neil", "'s"}));
  EXPECT_EQ(Pieces("!!'s"), (V{"!!'", "s"}));
}

TEST(PreTokenizerTest, NumbersAndUnicode) {
  EXPECT_EQ(Pieces("pi 3.14 -42"), (V{"pi", " 3", ".", "14", " -", "42"}));
  EXPECT_EQ(Pieces("café naïve"), (V{"café", " naïve"}));
  EXPECT_EQ(Pieces("a\xC2\xA0"
                   "b"),
            (V{"a", "\xC2\xA0", "b"}));  // NBSP is \s
  EXPECT_EQ(Pieces("a\xE2\x80\x8B"
                   "b"),
            (V{"a", "\xE2\x80\x8B", "b"}));              // ZWSP is not
  EXPECT_EQ(Pieces("x\xC2\xB2"), (V{"x", "\xC2\xB2"}));  // superscript two is \p{N}
}

TEST(PreTokenizerTest, InvalidBytesArePiecesOfTheirOwn) {
  EXPECT_EQ(Pieces("ab\xFF\xFE"
                   "cd"),
            (V{"ab", "\xFF", "\xFE", "cd"}));
  EXPECT_EQ(Pieces(" \x80"), (V{" ", "\x80"}));
  EXPECT_EQ(Pieces("!\xE2\x82"), (V{"!", "\xE2", "\x82"}));
}

TEST(PreTokenizerTest, PiecesConcatenateBack) {
  const std::string s = "Once upon a time...\n\"Hi!\" she said  \t\n 12ab 😀 \xC3 end  ";
  std::string joined;
  for (absl::string_view p : Gpt2PreTokenize(s)) {
    EXPECT_FALSE(p.empty());
    joined.append(p.data(), p.size());
  }
  EXPECT_EQ(joined, s);
}

}  // namespace
}  // namespace monoroute
