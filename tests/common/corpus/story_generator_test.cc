// Tests of the story grammar: determinism, ground-truth coverage, template variety, layout.
#include "common/corpus/story_generator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <string>

namespace monoroute {
namespace {

std::string Generate(uint64_t seed, int64_t stories, StoryTrace* trace = nullptr) {
  StoryGeneratorOptions opts;
  opts.seed = seed;
  auto gen = StoryGenerator::Create(opts);
  EXPECT_TRUE(gen.ok()) << gen.status();
  std::string text;
  (*gen)->AppendStories(stories, &text, trace);
  return text;
}

TEST(StoryGeneratorTest, SameSeedSameTextOtherSeedOtherText) {
  const std::string a = Generate(42, 200);
  const std::string b = Generate(42, 200);
  const std::string c = Generate(43, 200);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  // Tracing does not change the text.
  StoryTrace trace;
  EXPECT_EQ(Generate(42, 200, &trace), a);
  // The first bytes for seed 1 are pinned so that a platform or library change that alters the
  // PRNG stream is noticed (editing the grammar's tables or templates changes it too).
  EXPECT_EQ(Generate(1, 1).substr(0, 40), "There was once a cute boy named Sammy wh");
}

TEST(StoryGeneratorTest, TinyStoriesLayout) {
  const std::string text = Generate(7, 50);
  size_t stories = 0;
  for (size_t pos = 0; (pos = text.find("<|endoftext|>", pos)) != std::string::npos; pos += 13) {
    ++stories;
    ASSERT_GT(pos, 0u);
    EXPECT_EQ(text[pos - 1], '\n');  // on its own line
    EXPECT_EQ(text.substr(pos + 13, 1), "\n");
  }
  EXPECT_EQ(stories, 50u);
  EXPECT_EQ(text.find("  "), std::string::npos);  // no double spaces
  EXPECT_EQ(text.find(" ."), std::string::npos);  // punctuation attached
  EXPECT_EQ(text.find(" ,"), std::string::npos);
  EXPECT_EQ(text.find("\n\n"), std::string::npos);  // paragraphs are single lines
  EXPECT_EQ(text.find("{"), std::string::npos);     // no unfilled slot
  EXPECT_NE(text.find("\""), std::string::npos);    // dialogue
}

TEST(StoryGeneratorTest, EveryEmittedWordHasItsCategory) {
  StoryTrace trace;
  const std::string text = Generate(3, 2000, &trace);
  std::set<std::pair<std::string, std::string>> vocab;
  for (const LexiconEntry& e : StoryGenerator::Vocabulary()) vocab.emplace(e.word, e.category);
  size_t covered_to = 0;
  for (const EmittedWord& w : trace.words) {
    ASSERT_LT(static_cast<int>(w.category), kNumWordCategories);
    ASSERT_LE(covered_to, w.begin);
    ASSERT_LT(w.begin, w.end);
    const std::string word = text.substr(w.begin, w.end - w.begin);
    ASSERT_TRUE(vocab.count({word, std::string(CategoryName(w.category))}))
        << "\"" << word << "\" emitted as " << CategoryName(w.category)
        << " is not in Vocabulary()";
    // Between words there is only layout: spaces, newlines and <|endoftext|> lines.
    std::string gap = text.substr(covered_to, w.begin - covered_to);
    for (size_t p; (p = gap.find("<|endoftext|>")) != std::string::npos;) gap.erase(p, 13);
    ASSERT_TRUE(gap.find_first_not_of(" \n") == std::string::npos) << "uncategorised: " << gap;
    covered_to = w.end;
  }
  EXPECT_GT(trace.words.size(), 100000u);
  // Every category the grammar promises is emitted.
  std::set<Category> seen;
  for (const EmittedWord& w : trace.words) seen.insert(w.category);
  EXPECT_EQ(seen.size(), static_cast<size_t>(kNumWordCategories));
}

TEST(StoryGeneratorTest, VocabularyUsesTheStoryLabelNames) {
  // Every category name the vocabulary uses is a story label, and every story label is used.
  std::set<std::string> names;
  for (const LexiconEntry& e : StoryGenerator::Vocabulary()) names.insert(e.category);
  const auto& story = StoryLabelSet().names();
  EXPECT_EQ(names, std::set<std::string>(story.begin(), story.end()));
  EXPECT_EQ(story.size(), static_cast<size_t>(kNumWordCategories));
  for (int c = 0; c < kNumWordCategories; ++c) {
    EXPECT_EQ(StoryLabelSet().NameOf(StoryLabel(static_cast<Category>(c))),
              CategoryName(static_cast<Category>(c)));
  }
  EXPECT_EQ(StoryLabel(Category::kMixed), kLabelMixed);
  EXPECT_EQ(StoryLabel(Category::kNone), kLabelNone);
  EXPECT_EQ(CategoryName(Category::kMixed), "mixed");
  EXPECT_EQ(CategoryName(Category::kNone), "none");
}

TEST(StoryGeneratorTest, NoTemplateOverFivePercentAndAllUsed) {
  StoryTrace trace;
  Generate(11, 20000, &trace);
  std::map<int, int64_t> uses;
  for (int id : trace.template_ids) ++uses[id];
  const double total = static_cast<double>(trace.template_ids.size());
  int worst = -1;
  double worst_share = 0;
  for (const auto& [id, n] : uses) {
    if (n / total > worst_share) {
      worst_share = n / total;
      worst = id;
    }
  }
  std::printf("[templates] %d templates, %.0f sentences, most used: %.2f%% (%s)\n",
              StoryGenerator::NumTemplates(), total, 100 * worst_share,
              std::string(StoryGenerator::TemplateName(worst)).c_str());
  EXPECT_LE(worst_share, 0.05);
  EXPECT_EQ(uses.size(), static_cast<size_t>(StoryGenerator::NumTemplates()));
  EXPECT_GE(StoryGenerator::NumTemplates(), 60);
}

TEST(StoryGeneratorTest, Throughput) {
  auto gen = StoryGenerator::Create({});
  ASSERT_TRUE(gen.ok());
  std::string text;
  text.reserve(40 << 20);
  auto t0 = std::chrono::steady_clock::now();
  (*gen)->AppendStories(40000, &text);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("[generate] 40000 stories, %.1f MB in %.3f s = %.1f MB/s\n", text.size() / 1e6, s,
              text.size() / s / 1e6);
  EXPECT_GT(text.size(), 10u << 20);
}

}  // namespace
}  // namespace monoroute
