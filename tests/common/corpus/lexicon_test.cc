// Tests of the lexicon: the project's data/lexicon files, errors, and token mapping.
#include "common/corpus/lexicon.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "common/base/file_util.h"
#include "common/tokenizer/gpt2_tokenizer.h"

namespace monoroute {
namespace {

namespace fs = std::filesystem;

const Gpt2Tokenizer& Tok() {
  static const Gpt2Tokenizer* tok = Gpt2Tokenizer::Create({})->release();
  return *tok;
}

fs::path TempDir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / (name + "." + std::to_string(::getpid()));
  fs::create_directories(p);
  return p;
}

TEST(LexiconTest, ProjectLexiconLoads) {
  auto lex = Lexicon::Load(MONOROUTE_SOURCE_DIR "/data/lexicon");
  ASSERT_TRUE(lex.ok()) << lex.status();
  EXPECT_GE(lex->entries().size(), 500u);
  EXPECT_EQ(lex->Lookup("dog"), Category::kAnimal);
  EXPECT_EQ(lex->Lookup("Lily"), Category::kName);
  EXPECT_EQ(lex->Lookup("red"), Category::kColour);
  EXPECT_EQ(lex->Lookup("mom"), Category::kFamily);
  EXPECT_EQ(lex->Lookup("The"), Category::kFunction);
  EXPECT_EQ(lex->Lookup("Dog"), Category::kAnimal);  // lower-case fallback
  EXPECT_EQ(lex->Lookup("xylophonist"), Category::kNone);
  // Every word category has words.
  std::array<int, kNumWordCategories> per{};
  for (const auto& e : lex->entries()) ++per[static_cast<int>(e.category)];
  for (int c = 0; c < kNumWordCategories; ++c) {
    EXPECT_GT(per[c], 0) << CategoryName(static_cast<Category>(c));
  }
  EXPECT_EQ(Lexicon::DefaultPath(), MONOROUTE_SOURCE_DIR "/data/lexicon");
}

TEST(LexiconTest, MalformedLinesNameFileAndLine) {
  fs::path dir = TempDir("lexicon_bad");
  const std::string f = (dir / "words.tsv").string();
  ASSERT_TRUE(WriteFileAtomic(f, "# comment\ndog\tanimal\ncat animal\n").ok());
  auto lex = Lexicon::Load(f);
  ASSERT_FALSE(lex.ok());
  EXPECT_EQ(lex.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(lex.status().message()), ::testing::HasSubstr("words.tsv:3"));

  ASSERT_TRUE(WriteFileAtomic(f, "dog\tanimal\nblue\tcolr\n").ok());
  lex = Lexicon::Load(dir.string());
  ASSERT_FALSE(lex.ok());
  EXPECT_THAT(std::string(lex.status().message()), ::testing::HasSubstr("words.tsv:2"));
  EXPECT_THAT(std::string(lex.status().message()), ::testing::HasSubstr("colr"));

  ASSERT_TRUE(WriteFileAtomic(f, "dog\tanimal\n\ndog\tfood\n").ok());
  lex = Lexicon::Load(f);
  ASSERT_FALSE(lex.ok());
  EXPECT_THAT(std::string(lex.status().message()), ::testing::HasSubstr("words.tsv:3"));

  ASSERT_TRUE(WriteFileAtomic(f, "ice cream\tfood\n").ok());
  EXPECT_FALSE(Lexicon::Load(f).ok());

  ASSERT_TRUE(WriteFileAtomic(f, "dog\tanimal\ndog\tanimal\r\n").ok());  // same twice is fine
  lex = Lexicon::Load(f);
  ASSERT_TRUE(lex.ok()) << lex.status();
  EXPECT_EQ(lex->entries().size(), 1u);

  auto missing = Lexicon::Load((dir / "nope.tsv").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  fs::remove_all(dir);
}

TEST(LexiconTest, MapTokensFirstSubTokenRule) {
  auto lex = Lexicon::FromEntries({{"dog", Category::kAnimal},
                                   {"Lily", Category::kName},
                                   {"ladybug", Category::kAnimal},
                                   {"lady", Category::kPerson}});
  ASSERT_TRUE(lex.ok()) << lex.status();
  TokenCategories tc = lex->MapTokens(Tok());
  ASSERT_EQ(tc.category_by_id.size(), static_cast<size_t>(Tok().vocab_size()));
  EXPECT_EQ(tc.Get(Tok().Encode(" dog")[0]), Category::kAnimal);
  EXPECT_EQ(tc.Get(Tok().Encode("dog")[0]), Category::kAnimal);
  EXPECT_EQ(tc.Get(Tok().Encode(" Dog")[0]), Category::kAnimal);
  EXPECT_EQ(tc.Get(Tok().Encode(" Lily")[0]), Category::kName);
  // " ladybug" is " lady" + "bug": " lady" is also the one-token word "lady", which outranks
  // being the first sub-token of "ladybug"; "bug" (a later sub-token) gets nothing.
  std::vector<int32_t> lb = Tok().Encode(" ladybug");
  ASSERT_EQ(lb.size(), 2u);
  EXPECT_EQ(lb[0], Tok().Encode(" lady")[0]);
  EXPECT_EQ(tc.Get(lb[0]), Category::kPerson);
  EXPECT_EQ(tc.Get(lb[1]), Category::kNone);
  EXPECT_EQ(tc.Get(Tok().Encode(" the")[0]), Category::kNone);
}

TEST(LexiconTest, TieBetweenCategoriesIsMixed) {
  // "Bear" (name) and "bear" (animal) both map " Bear" as a one-token form.
  auto lex = Lexicon::FromEntries({{"Bear", Category::kName}, {"bear", Category::kAnimal}});
  ASSERT_TRUE(lex.ok());
  TokenCategories tc = lex->MapTokens(Tok());
  EXPECT_EQ(tc.Get(Tok().Encode(" Bear")[0]), Category::kMixed);
  EXPECT_EQ(tc.Get(Tok().Encode(" bear")[0]), Category::kAnimal);
}

TEST(LexiconTest, CoverageOfTinyStories) {
  const std::string path = MONOROUTE_SOURCE_DIR "/../shared/data/tinystories/train.txt";
  if (!fs::exists(path)) GTEST_SKIP() << "needs ../shared/data/tinystories/train.txt: absent";
  auto text = ReadFile(path);
  ASSERT_TRUE(text.ok());
  auto lex = Lexicon::Load(Lexicon::DefaultPath());
  ASSERT_TRUE(lex.ok());
  TokenCategories tc = lex->MapTokens(Tok());
  std::vector<int32_t> ids = Tok().EncodeParallel(*text);
  std::array<int64_t, kNumWordCategories + 2> per{};
  for (int32_t id : ids) ++per[static_cast<int>(tc.Get(id))];
  const int64_t none = per[static_cast<int>(Category::kNone)];
  std::printf("[lexicon] %zu entries; TinyStories train tokens with a category: %.1f%%\n",
              lex->entries().size(), 100.0 * (ids.size() - none) / ids.size());
  for (int c = 0; c < kNumWordCategories + 2; ++c) {
    std::printf("  %-12s %7.2f%%\n", std::string(CategoryName(static_cast<Category>(c))).c_str(),
                100.0 * per[c] / ids.size());
  }
  EXPECT_GT(ids.size() - none, ids.size() * 3 / 4);
}

}  // namespace
}  // namespace monoroute
