// Tests of token labelling and majority categories on generated text.
#include "common/corpus/token_labels.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <set>
#include <string>

#include "common/corpus/story_generator.h"
#include "common/tokenizer/gpt2_tokenizer.h"

namespace monoroute {
namespace {

const Gpt2Tokenizer& Tok() {
  static const Gpt2Tokenizer* tok = Gpt2Tokenizer::Create({})->release();
  return *tok;
}

TEST(TokenLabelsTest, OneMillionTokenCorpusHasThousandDistinctIds) {
  auto gen = StoryGenerator::Create({});
  ASSERT_TRUE(gen.ok());
  std::string text;
  StoryTrace trace;
  LabeledTokens labeled;
  // Generate in batches until the corpus holds 1M tokens.
  while (true) {
    (*gen)->AppendStories(1000, &text, &trace);
    if (text.size() > 4'400'000) {
      auto l = LabelTokens(text, trace, Tok());
      ASSERT_TRUE(l.ok()) << l.status();
      if (l->ids.size() >= 1'000'000) {
        labeled = std::move(*l);
        break;
      }
    }
  }
  std::set<int32_t> distinct(labeled.ids.begin(), labeled.ids.end());
  std::printf("[corpus] %zu bytes, %zu tokens, %zu distinct ids\n", text.size(), labeled.ids.size(),
              distinct.size());
  EXPECT_GE(distinct.size(), 1000u);
  // Every token that carries a non-space byte and is not <|endoftext|> has a word category.
  for (size_t i = 0; i < labeled.ids.size(); ++i) {
    const absl::string_view b = Tok().DecodeToken(labeled.ids[i]);
    const bool layout =
        labeled.ids[i] == Tok().eot_id() || b.find_first_not_of(" \n") == absl::string_view::npos;
    ASSERT_EQ(labeled.token_labels[i] == kLabelNone, layout) << "token " << i << " \"" << b << "\"";
  }
  EXPECT_EQ(labeled.labels, StoryLabelSet());
  TokenCategories tc = MajorityCategories(labeled, Tok().vocab_size());
  EXPECT_EQ(tc.labels, StoryLabelSet());
  EXPECT_EQ(tc.NameOf(Tok().Encode(" dog")[0]), "animal");
  EXPECT_EQ(tc.NameOf(Tok().Encode(" the")[0]), "function");
  EXPECT_EQ(tc.NameOf(Tok().Encode(".")[0]), "punctuation");
  EXPECT_EQ(tc.NameOf(Tok().Encode(" red")[0]), "colour");
  EXPECT_EQ(tc.Get(Tok().eot_id()), kLabelNone);
}

TEST(TokenLabelsTest, SubTokensOfAWordShareItsCategory) {
  // "Kitty" is a name; "ladybug" an animal of several tokens.
  const std::string text = "Kitty saw a ladybug.";
  StoryTrace trace;
  trace.words = {{0, 5, Category::kName},
                 {6, 9, Category::kVerb},
                 {10, 11, Category::kFunction},
                 {12, 19, Category::kAnimal},
                 {19, 20, Category::kPunctuation}};
  auto l = LabelTokens(text, trace, Tok());
  ASSERT_TRUE(l.ok()) << l.status();
  const std::vector<int32_t> bug = Tok().Encode(" ladybug");
  ASSERT_GE(bug.size(), 2u);
  size_t animal = 0;
  for (int32_t c : l->token_labels) animal += c == StoryLabel(Category::kAnimal);
  EXPECT_EQ(animal, bug.size());
  EXPECT_EQ(l->labels.NameOf(l->token_labels.back()), "punctuation");
}

TEST(TokenLabelsTest, MajorityAndMixed) {
  LabeledTokens l;
  l.labels = StoryLabelSet();
  l.ids = {5, 5, 5, 7, 7, 9};
  l.token_labels = {StoryLabel(Category::kFood),   StoryLabel(Category::kFood),
                    StoryLabel(Category::kColour), StoryLabel(Category::kFood),
                    StoryLabel(Category::kColour), kLabelNone};
  TokenCategories tc = MajorityCategories(l, 10);
  EXPECT_EQ(tc.NameOf(5), "food");
  EXPECT_EQ(tc.count_by_id[5], 3);
  EXPECT_EQ(tc.Get(7), kLabelMixed);
  EXPECT_EQ(tc.NameOf(7), "mixed");
  EXPECT_EQ(tc.Get(9), kLabelNone);
  EXPECT_EQ(tc.Get(-1), kLabelNone);
}

TEST(TokenLabelsTest, MajorityOverAnyLabelSet) {
  // Part-of-speech labels of one's own (e.g. from a tagger), not the story categories.
  LabeledTokens l;
  l.labels = *LabelSet::FromNames({"DET", "NOUN", "VERB", "名詞"});
  l.ids = {1, 2, 2, 2, 3, 3, 4, 4, 4, 4, 99};
  l.token_labels = {0, 1, 1, 2, 3, kLabelNone, 1, 2, 1, 2, 1};
  TokenCategories tc = MajorityCategories(l, 10);
  EXPECT_EQ(tc.labels, l.labels);
  EXPECT_EQ(tc.NameOf(1), "DET");
  EXPECT_EQ(tc.NameOf(2), "NOUN");  // 2 of 3
  EXPECT_EQ(tc.count_by_id[2], 3);
  EXPECT_EQ(tc.NameOf(3), "名詞");  // the none occurrence is not counted
  EXPECT_EQ(tc.count_by_id[3], 1);
  EXPECT_EQ(tc.Get(4), kLabelMixed);  // 2 vs 2: no strict majority
  EXPECT_EQ(tc.Get(99), kLabelNone);  // id out of the vocabulary: ignored
  EXPECT_EQ(tc.label_by_id.size(), 10u);
}

TEST(TokenLabelsTest, BadTraceIsInvalidArgument) {
  StoryTrace trace;
  trace.words = {{0, 50, Category::kName}};
  auto l = LabelTokens("short", trace, Tok());
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace monoroute
