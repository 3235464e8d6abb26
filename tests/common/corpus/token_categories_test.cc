// Tests of the token-category TSV format and the category names.
#include "common/corpus/token_categories.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "common/base/file_util.h"
#include "common/tokenizer/gpt2_tokenizer.h"

namespace monoroute {
namespace {

namespace fs = std::filesystem;

TEST(CategoryTest, NamesRoundTrip) {
  for (int c = 0; c < kNumWordCategories + 2; ++c) {
    auto parsed = ParseCategory(CategoryName(static_cast<Category>(c)));
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(static_cast<int>(*parsed), c);
  }
  EXPECT_EQ(ParseCategory("color"), Category::kColour);
  EXPECT_EQ(ParseCategory("function_word"), Category::kFunction);
  EXPECT_FALSE(ParseCategory("colr").has_value());
}

TEST(TokenCategoriesTest, TsvRoundTripAndErrors) {
  auto tok = Gpt2Tokenizer::Create({});
  ASSERT_TRUE(tok.ok());
  TokenCategories tc;
  tc.category_by_id.assign((*tok)->vocab_size(), Category::kNone);
  tc.count_by_id.assign((*tok)->vocab_size(), 0);
  tc.category_by_id[3290] = Category::kAnimal;  // " dog"
  tc.count_by_id[3290] = 17;
  tc.category_by_id[198] = Category::kMixed;  // "\n": rendered escaped, no raw newline
  tc.count_by_id[198] = 2;
  fs::path dir = fs::temp_directory_path() / ("tokcat." + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string f = (dir / "cats.tsv").string();
  ASSERT_TRUE(tc.WriteTsv(f, **tok).ok());
  auto text = ReadFile(f);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text,
            "token_id\ttoken\tcategory\tcount\n198\t\\n\tmixed\t2\n3290\t dog\tanimal\t17\n");
  auto back = TokenCategories::ReadTsv(f, (*tok)->vocab_size());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->category_by_id, tc.category_by_id);
  EXPECT_EQ(back->count_by_id, tc.count_by_id);
  auto counts = back->CountIdsPerCategory();
  EXPECT_EQ(counts[static_cast<int>(Category::kAnimal)], 1);

  ASSERT_TRUE(WriteFileAtomic(f, "token_id\ttoken\tcategory\tcount\n5\tx\tanimal\n").ok());
  auto bad = TokenCategories::ReadTsv(f, 100);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()), ::testing::HasSubstr("cats.tsv:2"));
  ASSERT_TRUE(WriteFileAtomic(f, "500\tx\tanimal\t1\n").ok());
  bad = TokenCategories::ReadTsv(f, 100);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()), ::testing::HasSubstr("cats.tsv:1"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace monoroute
