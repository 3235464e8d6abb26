// Tests of the packed token cache: packing, reuse while unchanged, rebuild when the source
// changes, parallel tokenisation equal to serial.
#include "common/engine/token_cache.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/time.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/base/file_util.h"
#include "common/tokenizer/gpt2_tokenizer.h"
#include "tests/common/engine/test_util.h"
#include "tests/testing/status_matchers.h"

namespace monoroute::engine {
namespace {

using ::monoroute::testing::StatusIs;
using testing::TempDir;
using testing::WriteText;

class TokenCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Gpt2TokenizerOptions o;
    o.dir = MONOROUTE_TOKENIZER_DIR;
    auto t = Gpt2Tokenizer::Create(o);
    ASSERT_TRUE(t.ok()) << t.status();
    tok_ = std::move(*t);
  }
  TokenCacheOptions Options(const std::string& src) {
    TokenCacheOptions o;
    o.source_path = src;
    o.tokenizer_dir = MONOROUTE_TOKENIZER_DIR;
    o.cache_dir = dir_.Sub("cache");
    o.threads = 2;
    return o;
  }
  TempDir dir_;
  std::unique_ptr<Gpt2Tokenizer> tok_;
};

TEST_F(TokenCacheTest, PacksDocumentsEachFollowedByEot) {
  WriteText(dir_.Sub("a.txt"), "Hello world.\n<|endoftext|>\nOnce upon a time.\n<|endoftext|>\n");
  auto c = TokenCache::Open(Options(dir_.Sub("a.txt")));
  ASSERT_TRUE(c.ok()) << c.status();
  const TokenCache& cache = **c;
  EXPECT_TRUE(cache.rebuilt());
  ASSERT_EQ(cache.num_documents(), 2);
  std::vector<int32_t> expected = tok_->Encode("Hello world.");
  expected.push_back(50256);
  std::vector<int32_t> second = tok_->Encode("Once upon a time.");
  expected.insert(expected.end(), second.begin(), second.end());
  expected.push_back(50256);
  ASSERT_EQ(cache.num_tokens(), static_cast<int64_t>(expected.size()));
  for (int64_t i = 0; i < cache.num_tokens(); ++i) EXPECT_EQ(cache.token(i), expected[i]) << i;
  EXPECT_EQ(cache.doc_begin(1), static_cast<int64_t>(tok_->Encode("Hello world.").size()) + 1);
  // uint16 packing for the GPT-2 vocabulary.
  EXPECT_EQ(std::filesystem::file_size(cache.tokens_path()), expected.size() * 2);
  auto manifest = nlohmann::json::parse(*ReadFile(cache.manifest_path()));
  EXPECT_EQ(manifest["num_documents"], 2);
  EXPECT_EQ(manifest["token_bytes"], 2);
  EXPECT_EQ(manifest["source"]["sha256"].get<std::string>().size(), 64u);
  EXPECT_EQ(manifest["tokenizer_sha256"].get<std::string>().size(), 64u);
}

TEST_F(TokenCacheTest, RunningTextWithoutEndOfTextTokenisesLikeTheRawFile) {
  // No <|endoftext|> lines: paragraphs split at blank lines for parallel tokenisation and
  // held-out splits, but the stream is the raw text's (blank lines, no end-of-text tokens).
  const std::string text = "One day, a cat sat.\nIt was warm.\n\nThe dog ran. \"Hi!\"\n\nThe end.";
  WriteText(dir_.Sub("p.txt"), text + "\n\n");
  auto c = TokenCache::Open(Options(dir_.Sub("p.txt")));
  ASSERT_TRUE(c.ok()) << c.status();
  const TokenCache& cache = **c;
  EXPECT_EQ(cache.num_documents(), 3);
  std::vector<int32_t> expected = tok_->Encode(text + "\n\na");
  expected.pop_back();  // the trailing blank line as it tokenises before more text
  ASSERT_EQ(cache.num_tokens(), static_cast<int64_t>(expected.size()));
  for (int64_t i = 0; i < cache.num_tokens(); ++i) EXPECT_EQ(cache.token(i), expected[i]) << i;
  for (int64_t i = 0; i < cache.num_tokens(); ++i) EXPECT_NE(cache.token(i), 50256) << i;
  auto manifest = nlohmann::json::parse(*ReadFile(cache.manifest_path()));
  EXPECT_EQ(manifest["joined_by"], "blank_line");
}

TEST_F(TokenCacheTest, ParallelEqualsSerial) {
  WriteText(dir_.Sub("big.txt"), testing::StoryCorpus(300));
  TokenCacheOptions o = Options(dir_.Sub("big.txt"));
  o.threads = 4;
  auto par = TokenCache::Open(o);
  ASSERT_TRUE(par.ok()) << par.status();
  o.threads = 1;
  o.cache_dir = dir_.Sub("cache_serial");
  auto ser = TokenCache::Open(o);
  ASSERT_TRUE(ser.ok()) << ser.status();
  ASSERT_EQ((*par)->num_tokens(), (*ser)->num_tokens());
  ASSERT_EQ((*par)->num_documents(), 300);
  for (int64_t i = 0; i < (*par)->num_tokens(); ++i) ASSERT_EQ((*par)->token(i), (*ser)->token(i));
}

TEST_F(TokenCacheTest, ReusedWhenUnchangedRebuiltWhenChanged) {
  std::string src = dir_.Sub("s.txt");
  WriteText(src, "First story.\n<|endoftext|>\n");
  auto c1 = TokenCache::Open(Options(src));
  ASSERT_TRUE(c1.ok()) << c1.status();
  EXPECT_TRUE((*c1)->rebuilt());
  auto c2 = TokenCache::Open(Options(src));
  ASSERT_TRUE(c2.ok()) << c2.status();
  EXPECT_FALSE((*c2)->rebuilt());

  // Same bytes, new mtime: contents are compared, the cache is kept.
  struct timeval tv[2] = {{1000000000, 0}, {1000000000, 0}};
  ASSERT_EQ(::utimes(src.c_str(), tv), 0);
  auto c3 = TokenCache::Open(Options(src));
  ASSERT_TRUE(c3.ok()) << c3.status();
  EXPECT_FALSE((*c3)->rebuilt());

  // Changed content: rebuilt with the new tokens.
  WriteText(src, "First story.\n<|endoftext|>\nA second one.\n<|endoftext|>\n");
  auto c4 = TokenCache::Open(Options(src));
  ASSERT_TRUE(c4.ok()) << c4.status();
  EXPECT_TRUE((*c4)->rebuilt());
  EXPECT_EQ((*c4)->num_documents(), 2);

  // A damaged cache file is detected and rebuilt.
  WriteText((*c4)->tokens_path(), "xx");
  auto c5 = TokenCache::Open(Options(src));
  ASSERT_TRUE(c5.ok()) << c5.status();
  EXPECT_TRUE((*c5)->rebuilt());
  EXPECT_EQ((*c5)->num_tokens(), (*c4)->num_tokens());
}

TEST_F(TokenCacheTest, MissingSourceIsNotFound) {
  EXPECT_THAT(TokenCache::Open(Options(dir_.Sub("nope.txt"))),
              StatusIs(absl::StatusCode::kNotFound, ::testing::HasSubstr("nope.txt")));
}

TEST_F(TokenCacheTest, JsonlSource) {
  WriteText(dir_.Sub("d.jsonl"), "{\"text\": \"Hi there.\"}\n{\"text\": \"Bye.\"}\n");
  auto c = TokenCache::Open(Options(dir_.Sub("d.jsonl")));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ((*c)->num_documents(), 2);
  EXPECT_EQ((*c)->token((*c)->doc_end(0) - 1), 50256);
}

}  // namespace
}  // namespace monoroute::engine
