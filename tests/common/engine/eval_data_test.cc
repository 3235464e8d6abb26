// Tests of EvalData: a bounded request reads only a prefix of the file and yields the whole
// file's first batches (text with <|endoftext|> lines, paragraphs, JSONL); FIFOs and directories
// are INVALID_ARGUMENT naming them; the whole-file size cap; a 2 GiB sparse file read with
// bounded memory (peak RSS measured through /proc/self VmHWM).
#include "common/engine/eval_data.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "common/engine/data_file.h"
#include "tests/common/engine/test_util.h"
#include "tests/testing/peak_rss.h"

namespace monoroute::engine {
namespace {

using ::testing::HasSubstr;

EvalDataOptions Options(const std::string& path, int64_t max_batches) {
  EvalDataOptions o;
  o.data_path = path;
  o.tokenizer_dir = MONOROUTE_TOKENIZER_DIR;
  o.seq_len = 32;
  o.batch_size = 4;
  o.max_batches = max_batches;
  return o;
}

// The bounded load (prefix of at most `read_limit` bytes) has the whole load's first batches.
void ExpectPrefixOfWhole(const std::string& path, int64_t read_limit) {
  auto whole = EvalData::Load(Options(path, 0));
  ASSERT_TRUE(whole.ok()) << whole.status();
  EvalDataOptions o = Options(path, 3);
  o.max_read_bytes = read_limit;
  auto part = EvalData::Load(o);
  ASSERT_TRUE(part.ok()) << part.status();
  EXPECT_LE((*part)->bytes_read(), read_limit);
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_LT((*part)->bytes_read(), st.st_size) << "the whole file was read";
  ASSERT_EQ((*part)->batches().size(), 3u);
  for (size_t b = 0; b < 3; ++b) {
    EXPECT_EQ((*part)->batches()[b].tokens, (*whole)->batches()[b].tokens) << "batch " << b;
  }
}

TEST(EvalDataTest, BoundedReadIsThePrefixOfTheWholeFile) {
  testing::TempDir dir;
  testing::WriteText(dir.Sub("stories.txt"), testing::StoryCorpus(600));
  ExpectPrefixOfWhole(dir.Sub("stories.txt"), 16 << 10);
  // Paragraphs (no <|endoftext|> line): joined by the blank line's tokens.
  std::string paras;
  for (int i = 0; i < 400; ++i) {
    paras += "Tom saw a dog number " + std::to_string(i) + ". It ran.\nThe end  \n\n";
  }
  testing::WriteText(dir.Sub("paras.txt"), paras);
  ExpectPrefixOfWhole(dir.Sub("paras.txt"), 8 << 10);
  std::string jsonl;
  for (int i = 0; i < 400; ++i) {
    jsonl += "{\"text\": \"Mia had a red ball " + std::to_string(i) + ". She smiled.\"}\n";
  }
  testing::WriteText(dir.Sub("docs.jsonl"), jsonl);
  ExpectPrefixOfWhole(dir.Sub("docs.jsonl"), 8 << 10);
}

TEST(EvalDataTest, DirectoryAndFifoAreInvalidArgumentNamingThePath) {
  testing::TempDir dir;
  auto d = EvalData::Load(Options(dir.path(), 1));
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(d.status().message()), HasSubstr(dir.path() + " is a directory"));
  const std::string fifo = dir.Sub("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  for (int64_t max_batches : {0, 1}) {  // must not block opening it
    auto f = EvalData::Load(Options(fifo, max_batches));
    EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(f.status().message()), HasSubstr(fifo + " is a FIFO"));
  }
  auto missing = EvalData::Load(Options(dir.Sub("absent.txt"), 1));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("absent.txt"));
  EXPECT_EQ(CheckDataFile("data.train_path", fifo).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(ReadDataFilePrefix("x", fifo, 10).status().message()),
              HasSubstr("is a FIFO"));
}

TEST(EvalDataTest, WholeFileReadIsCappedBeforeReading) {
  testing::TempDir dir;
  testing::WriteText(dir.Sub("s.txt"), testing::StoryCorpus(20));
  EvalDataOptions o = Options(dir.Sub("s.txt"), 0);
  o.max_file_bytes = 100;
  auto r = EvalData::Load(o);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("over the 100-byte limit"));
}

TEST(EvalDataTest, SparseTwoGiBFileIsReadWithBoundedMemory) {
  testing::TempDir dir;
  const std::string path = dir.Sub("huge.txt");
  testing::WriteText(path, testing::StoryCorpus(200));
  ASSERT_EQ(::truncate(path.c_str(), int64_t{2} << 30), 0);  // 2 GiB, the rest a hole
  const bool reset = ::monoroute::testing::ResetPeakRss();
  const int64_t before = ::monoroute::testing::CurrentRssBytes();
  auto r = EvalData::Load(Options(path, 2));
  const int64_t peak = ::monoroute::testing::PeakRssBytes();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)->batches().size(), 2u);
  EXPECT_LE((*r)->bytes_read(), 1 << 20);
  std::printf("[ sparse 2 GiB, 2 batches ] peak RSS %.1f MiB (%.1f MiB before, reset %s)\n",
              peak / 1048576.0, before / 1048576.0, reset ? "yes" : "no");
  if (reset) EXPECT_LT(peak - before, int64_t{64} << 20);
  // All holes: no place to cut within the read limit -> RESOURCE_EXHAUSTED, still bounded.
  ASSERT_EQ(::truncate(path.c_str(), 0), 0);
  ASSERT_EQ(::truncate(path.c_str(), int64_t{2} << 30), 0);
  ::monoroute::testing::ResetPeakRss();
  auto z = EvalData::Load(Options(path, 2));
  const int64_t zpeak = ::monoroute::testing::PeakRssBytes();
  EXPECT_EQ(z.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(z.status().message()), HasSubstr("hold no line break"));
  std::printf("[ sparse 2 GiB of zeros ] peak RSS %.1f MiB\n", zpeak / 1048576.0);
  if (reset) EXPECT_LT(zpeak - before, int64_t{96} << 20);
}

}  // namespace
}  // namespace monoroute::engine
