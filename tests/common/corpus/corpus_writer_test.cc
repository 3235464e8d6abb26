// Tests of WriteCorpus: the files it writes and its summary.
#include "common/corpus/corpus_writer.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "common/base/file_util.h"
#include "common/corpus/category.h"
#include "common/corpus/token_categories.h"
#include "tests/testing/temp_files.h"

namespace monoroute {
namespace {

namespace fs = std::filesystem;

TEST(CorpusWriterTest, WritesTextAndCategories) {
  ::monoroute::testing::TempDir tmp("corpus");
  const fs::path dir = tmp.path();
  CorpusWriterOptions o;
  o.num_stories = 300;
  o.seed = 5;
  o.out_path = (dir / "stories.txt").string();
  o.categories_path = (dir / "cats.tsv").string();
  auto sum = WriteCorpus(o);
  ASSERT_TRUE(sum.ok()) << sum.status();
  auto text = ReadFile(o.out_path);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(static_cast<int64_t>(text->size()), sum->bytes);
  EXPECT_EQ(sum->stories, 300);
  EXPECT_GT(sum->tokens, 300 * 100);
  EXPECT_GT(sum->distinct_tokens, 500);
  EXPECT_EQ(sum->labels, StoryLabelSet());
  EXPECT_EQ(sum->ids_per_category.none, 2);  // "\n", eot
  EXPECT_EQ(sum->ids_per_category.per_label.size(), static_cast<size_t>(kNumWordCategories));
  int64_t occurrences = sum->tokens_per_category.mixed + sum->tokens_per_category.none;
  for (int64_t n : sum->tokens_per_category.per_label) occurrences += n;
  EXPECT_EQ(occurrences, sum->tokens);
  auto tc = TokenCategories::ReadTsv(o.categories_path, 50257);
  ASSERT_TRUE(tc.ok()) << tc.status();
  int64_t labelled = 0;
  for (int32_t c : tc->label_by_id) labelled += c != kLabelNone;
  EXPECT_EQ(labelled, sum->distinct_tokens - 2);
  // The file carries names only: the read-back labels are story category names, and each id
  // read back has the category the summary counted.
  for (const std::string& name : tc->labels.names()) {
    EXPECT_NE(StoryLabelSet().Find(name), kLabelNone) << name;
  }
  LabelCounts ids(StoryLabelSet().size());
  for (int32_t id = 0; id < 50257; ++id) {
    const int32_t c = tc->Get(id);
    if (c == kLabelNone) continue;
    ids.Add(c == kLabelMixed ? kLabelMixed : StoryLabelSet().Find(tc->labels.NameOf(c)));
  }
  EXPECT_EQ(ids.per_label, sum->ids_per_category.per_label);
  EXPECT_EQ(ids.mixed, sum->ids_per_category.mixed);
  // Same seed, same bytes.
  o.categories_path.clear();
  o.out_path = (dir / "again.txt").string();
  ASSERT_TRUE(WriteCorpus(o).ok());
  EXPECT_EQ(*ReadFile(o.out_path), *text);
  o.num_stories = -1;
  EXPECT_EQ(WriteCorpus(o).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace monoroute
