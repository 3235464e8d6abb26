// Tests of the lexicon: the project's data/lexicon (story categories) and data/lexicon_pos (POS
// tags) files, arbitrary label names, errors naming file:line, and the token mapping.
#include "common/corpus/lexicon.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/base/file_util.h"
#include "common/corpus/category.h"
#include "common/tokenizer/gpt2_tokenizer.h"
#include "tests/testing/temp_files.h"

namespace monoroute {
namespace {

namespace fs = std::filesystem;

const Gpt2Tokenizer& Tok() {
  static const Gpt2Tokenizer* tok = Gpt2Tokenizer::Create({})->release();
  return *tok;
}

using ::monoroute::testing::TempDir;

TEST(LexiconTest, ProjectLexiconLoads) {
  auto lex = Lexicon::Load(MONOROUTE_SOURCE_DIR "/data/lexicon");
  ASSERT_TRUE(lex.ok()) << lex.status();
  EXPECT_GE(lex->entries().size(), 500u);
  EXPECT_EQ(lex->LookupName("dog"), "animal");
  EXPECT_EQ(lex->LookupName("Lily"), "name");
  EXPECT_EQ(lex->LookupName("red"), "colour");
  EXPECT_EQ(lex->LookupName("mom"), "family");
  EXPECT_EQ(lex->LookupName("The"), "function");
  EXPECT_EQ(lex->LookupName("Dog"), "animal");  // lower-case fallback
  EXPECT_EQ(lex->Lookup("xylophonist"), kLabelNone);
  EXPECT_EQ(lex->LookupName("xylophonist"), "none");
  // Its labels are exactly the 16 story categories, and every one has words.
  std::set<std::string> names(lex->labels().names().begin(), lex->labels().names().end());
  const auto& story = StoryLabelSet().names();
  EXPECT_EQ(names, std::set<std::string>(story.begin(), story.end()));
  std::vector<int> per(lex->labels().size(), 0);
  for (const auto& e : lex->entries()) ++per[lex->labels().Find(e.category)];
  for (int c = 0; c < lex->labels().size(); ++c) EXPECT_GT(per[c], 0) << lex->labels().NameOf(c);
  EXPECT_EQ(Lexicon::DefaultPath(), MONOROUTE_SOURCE_DIR "/data/lexicon");
}

TEST(LexiconTest, ProjectLexiconGivesTheSameTokenCategoriesAsBefore) {
  // Per-token categories of data/lexicon as the enum-based code (before label sets) gave them.
  auto lex = Lexicon::Load(Lexicon::DefaultPath());
  ASSERT_TRUE(lex.ok()) << lex.status();
  TokenCategories tc = lex->MapTokens(Tok());
  ASSERT_EQ(tc.label_by_id.size(), static_cast<size_t>(Tok().vocab_size()));
  const std::vector<std::pair<std::string, std::string>> known = {
      {" dog", "animal"}, {" the", "function"}, {".", "punctuation"},  {" Lily", "name"},
      {" red", "colour"}, {" mom", "family"},   {" happy", "feeling"}, {" park", "place"},
      {" ran", "verb"},   {" ball", "object"},  {" big", "adjective"}, {" apple", "food"},
      {" two", "number"}, {" day", "time"},     {" very", "adverb"},   {" girl", "person"},
      {"\n", "none"},     {" xylophon", "none"}};
  for (const auto& [token, name] : known) {
    EXPECT_EQ(tc.NameOf(Tok().Encode(token)[0]), name) << "\"" << token << "\"";
  }
  EXPECT_EQ(tc.Get(Tok().eot_id()), kLabelNone);
  // And it survives the TSV round trip by name.
  TempDir tmp("lexicon_tsv");
  const fs::path dir = tmp.path();
  const std::string f = (dir / "cats.tsv").string();
  ASSERT_TRUE(tc.WriteTsv(f, Tok()).ok());
  auto back = TokenCategories::ReadTsv(f, Tok().vocab_size());
  ASSERT_TRUE(back.ok()) << back.status();
  for (int32_t id = 0; id < Tok().vocab_size(); ++id) ASSERT_EQ(back->NameOf(id), tc.NameOf(id));
}

TEST(LexiconTest, PosTagLexiconLoadsProjectsAndRoundTrips) {
  TempDir tmp("lexicon_pos");
  const fs::path dir = tmp.path();
  const std::string f = (dir / "pos.tsv").string();
  ASSERT_TRUE(WriteFileAtomic(f,
                              "# Universal POS tags\nthe\tDET\ndog\tNOUN\nruns\tVERB\nhappy\tADJ\n"
                              "Tom\tB-PER\ncat\t名詞\n.\tPUNCT\n")
                  .ok());
  auto lex = Lexicon::Load(f);
  ASSERT_TRUE(lex.ok()) << lex.status();
  EXPECT_EQ(lex->labels().names(),
            (std::vector<std::string>{"DET", "NOUN", "VERB", "ADJ", "B-PER", "名詞", "PUNCT"}));
  EXPECT_EQ(lex->LookupName("The"), "DET");
  EXPECT_EQ(lex->LookupName("cat"), "名詞");
  TokenCategories tc = lex->MapTokens(Tok());
  EXPECT_EQ(tc.labels, lex->labels());
  EXPECT_EQ(tc.NameOf(Tok().Encode(" the")[0]), "DET");
  EXPECT_EQ(tc.NameOf(Tok().Encode("The")[0]), "DET");
  EXPECT_EQ(tc.NameOf(Tok().Encode(" dog")[0]), "NOUN");
  EXPECT_EQ(tc.NameOf(Tok().Encode(" runs")[0]), "VERB");
  EXPECT_EQ(tc.NameOf(Tok().Encode(" Tom")[0]), "B-PER");
  EXPECT_EQ(tc.NameOf(Tok().Encode(" cat")[0]), "名詞");
  EXPECT_EQ(tc.NameOf(Tok().Encode(".")[0]), "PUNCT");
  EXPECT_EQ(tc.Get(Tok().Encode(" a")[0]), kLabelNone);
  const std::string out = (dir / "cats.tsv").string();
  ASSERT_TRUE(tc.WriteTsv(out, Tok()).ok());
  auto back = TokenCategories::ReadTsv(out, Tok().vocab_size());
  ASSERT_TRUE(back.ok()) << back.status();
  for (int32_t id = 0; id < Tok().vocab_size(); ++id) {
    ASSERT_EQ(back->NameOf(id), tc.NameOf(id)) << id;
    ASSERT_EQ(back->count_by_id[id], tc.count_by_id[id]) << id;
  }
}

TEST(LexiconTest, ProjectPosLexicon) {
  auto lex = Lexicon::Load(MONOROUTE_SOURCE_DIR "/data/lexicon_pos");
  ASSERT_TRUE(lex.ok()) << lex.status();
  EXPECT_GE(lex->entries().size(), 300u);
  std::set<std::string> names(lex->labels().names().begin(), lex->labels().names().end());
  EXPECT_EQ(names,
            (std::set<std::string>{"ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN",
                                   "NUM", "PART", "PRON", "PROPN", "PUNCT", "SCONJ", "VERB"}));
  TokenCategories tc = lex->MapTokens(Tok());
  const std::vector<std::pair<std::string, std::string>> known = {
      {" the", "DET"},   {" dog", "NOUN"},      {" runs", "VERB"},  {" happy", "ADJ"},
      {" and", "CCONJ"}, {" in", "ADP"},        {" she", "PRON"},   {" very", "ADV"},
      {" two", "NUM"},   {".", "PUNCT"},        {" Lily", "PROPN"}, {" was", "AUX"},
      {" not", "PART"},  {" because", "SCONJ"}, {" wow", "INTJ"}};
  for (const auto& [token, name] : known) {
    EXPECT_EQ(tc.NameOf(Tok().Encode(token)[0]), name) << "\"" << token << "\"";
  }
}

TEST(LexiconTest, MalformedLinesNameFileAndLine) {
  TempDir tmp("lexicon_bad");
  const fs::path dir = tmp.path();
  const std::string f = (dir / "words.tsv").string();
  ASSERT_TRUE(WriteFileAtomic(f, "# comment\ndog\tanimal\ncat animal\n").ok());
  auto lex = Lexicon::Load(f);
  ASSERT_FALSE(lex.ok());
  EXPECT_EQ(lex.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(lex.status().message()), ::testing::HasSubstr("words.tsv:3"));

  // Any name is a category now ("colr" too); invalid and reserved names are errors.
  ASSERT_TRUE(WriteFileAtomic(f, "dog\tanimal\nblue\tcolr\n").ok());
  lex = Lexicon::Load(dir.string());
  ASSERT_TRUE(lex.ok()) << lex.status();
  EXPECT_EQ(lex->LookupName("blue"), "colr");
  const std::vector<std::pair<std::string, std::string>> bad_names = {
      {"mixed", "reserved"},   {"none", "reserved"},  {"NO UN", "white space"},
      {"NO\x02UN", "control"}, {"\xc3\x28", "UTF-8"}, {std::string(65, 'N'), "more than 64"}};
  for (const auto& [name, why] : bad_names) {
    ASSERT_TRUE(WriteFileAtomic(f, "# c\ndog\tanimal\ncat\t" + name + "\n").ok());
    lex = Lexicon::Load(dir.string());
    ASSERT_FALSE(lex.ok()) << name;
    EXPECT_EQ(lex.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(lex.status().message()), ::testing::HasSubstr("words.tsv:3"));
    EXPECT_THAT(std::string(lex.status().message()), ::testing::HasSubstr(why));
  }

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

  // More than kMaxLabels distinct categories: the line bringing name 4097 is named.
  std::string many;
  for (int i = 0; i <= kMaxLabels; ++i) absl::StrAppend(&many, "w", i, "\tL", i, "\n");
  ASSERT_TRUE(WriteFileAtomic(f, many).ok());
  lex = Lexicon::Load(f);
  ASSERT_FALSE(lex.ok());
  EXPECT_EQ(lex.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(lex.status().message()),
              ::testing::HasSubstr(absl::StrCat("words.tsv:", kMaxLabels + 1, ": ")));
  EXPECT_THAT(std::string(lex.status().message()), ::testing::HasSubstr("at most 4096"));

  auto missing = Lexicon::Load((dir / "nope.tsv").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
}

TEST(LexiconTest, MapTokensFirstSubTokenRule) {
  auto lex = Lexicon::FromEntries(
      {{"dog", "animal"}, {"Lily", "name"}, {"ladybug", "animal"}, {"lady", "person"}});
  ASSERT_TRUE(lex.ok()) << lex.status();
  TokenCategories tc = lex->MapTokens(Tok());
  ASSERT_EQ(tc.label_by_id.size(), static_cast<size_t>(Tok().vocab_size()));
  EXPECT_EQ(tc.NameOf(Tok().Encode(" dog")[0]), "animal");
  EXPECT_EQ(tc.NameOf(Tok().Encode("dog")[0]), "animal");
  EXPECT_EQ(tc.NameOf(Tok().Encode(" Dog")[0]), "animal");
  EXPECT_EQ(tc.NameOf(Tok().Encode(" Lily")[0]), "name");
  EXPECT_EQ(tc.count_by_id[Tok().Encode(" dog")[0]], 1);
  // " ladybug" is " lady" + "bug": " lady" is also the one-token word "lady", which outranks
  // being the first sub-token of "ladybug"; "bug" (a later sub-token) gets nothing.
  std::vector<int32_t> lb = Tok().Encode(" ladybug");
  ASSERT_EQ(lb.size(), 2u);
  EXPECT_EQ(lb[0], Tok().Encode(" lady")[0]);
  EXPECT_EQ(tc.NameOf(lb[0]), "person");
  EXPECT_EQ(tc.Get(lb[1]), kLabelNone);
  EXPECT_EQ(tc.Get(Tok().Encode(" the")[0]), kLabelNone);
}

TEST(LexiconTest, TieBetweenCategoriesIsMixed) {
  // "Bear" (name) and "bear" (animal) both map " Bear" as a one-token form.
  auto lex = Lexicon::FromEntries({{"Bear", "name"}, {"bear", "animal"}});
  ASSERT_TRUE(lex.ok());
  TokenCategories tc = lex->MapTokens(Tok());
  EXPECT_EQ(tc.Get(Tok().Encode(" Bear")[0]), kLabelMixed);
  EXPECT_EQ(tc.count_by_id[Tok().Encode(" Bear")[0]], 2);
  EXPECT_EQ(tc.NameOf(Tok().Encode(" bear")[0]), "animal");
}

TEST(LexiconTest, FromEntriesChecksNames) {
  auto lex = Lexicon::FromEntries({{"dog", "NOUN"}, {"cat", "mixed"}}, "mine");
  ASSERT_FALSE(lex.ok());
  EXPECT_EQ(lex.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(lex.status().message()), ::testing::HasSubstr("mine:2"));
  EXPECT_THAT(std::string(lex.status().message()), ::testing::HasSubstr("reserved"));
  lex = Lexicon::FromEntries({{"dog", "NOUN"}, {"dog", "VERB"}}, "mine");
  ASSERT_FALSE(lex.ok());
  EXPECT_THAT(std::string(lex.status().message()), ::testing::HasSubstr("mine:2"));
  EXPECT_THAT(std::string(lex.status().message()), ::testing::HasSubstr("mine:1 gave it NOUN"));
}

TEST(LexiconTest, CoverageOfTinyStories) {
  const std::string path = MONOROUTE_SOURCE_DIR "/../shared/data/tinystories/train.txt";
  if (!fs::exists(path)) GTEST_SKIP() << "needs ../shared/data/tinystories/train.txt: absent";
  auto text = ReadFile(path);
  ASSERT_TRUE(text.ok());
  std::vector<int32_t> ids = Tok().EncodeParallel(*text);
  for (const std::string& dir :
       {Lexicon::DefaultPath(), std::string(MONOROUTE_SOURCE_DIR "/data/lexicon_pos")}) {
    auto lex = Lexicon::Load(dir);
    ASSERT_TRUE(lex.ok()) << lex.status();
    TokenCategories tc = lex->MapTokens(Tok());
    LabelCounts per(tc.labels.size());
    for (int32_t id : ids) per.Add(tc.Get(id));
    std::printf("[lexicon] %s: %zu entries; TinyStories train tokens with a category: %.1f%%\n",
                dir.c_str(), lex->entries().size(), 100.0 * (ids.size() - per.none) / ids.size());
    for (int c = 0; c < tc.labels.size(); ++c) {
      std::printf("  %-12s %7.2f%%\n", std::string(tc.labels.NameOf(c)).c_str(),
                  100.0 * per.per_label[c] / ids.size());
    }
    std::printf("  %-12s %7.2f%%\n  %-12s %7.2f%%\n", "mixed", 100.0 * per.mixed / ids.size(),
                "none", 100.0 * per.none / ids.size());
    EXPECT_GT(ids.size() - per.none, ids.size() * 3 / 4) << dir;
  }
}

}  // namespace
}  // namespace monoroute
