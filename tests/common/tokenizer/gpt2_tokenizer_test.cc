// Tests of Gpt2Tokenizer against the HF/tiktoken reference ids and on real TinyStories text.
#include "common/tokenizer/gpt2_tokenizer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "common/base/file_util.h"
#include "tests/testing/temp_files.h"

namespace monoroute {
namespace {

namespace fs = std::filesystem;

const Gpt2Tokenizer& Tok() {
  static const Gpt2Tokenizer* tok = [] {
    auto t = Gpt2Tokenizer::Create({});
    if (!t.ok()) {
      ADD_FAILURE() << t.status();
      std::abort();
    }
    return t->release();
  }();
  return *tok;
}

using ::monoroute::testing::TempDir;

TEST(Gpt2TokenizerTest, VocabBasics) {
  const Gpt2Tokenizer& tok = Tok();
  EXPECT_EQ(tok.vocab_size(), 50257);
  EXPECT_EQ(tok.eot_id(), 50256);
  EXPECT_EQ(tok.TokenToId("Ġcat"), 3797);
  EXPECT_EQ(tok.IdToToken(3797), "Ġcat");
  EXPECT_EQ(tok.DecodeToken(3797), " cat");
  EXPECT_EQ(tok.TokenToId("no-such-token-xyz"), -1);
  EXPECT_EQ(tok.IdToToken(-1), "");
  EXPECT_EQ(tok.DecodeToken(50257), "");
  EXPECT_EQ(tok.DecodeToken(50256), "<|endoftext|>");
}

TEST(Gpt2TokenizerTest, ReferenceCasesExact) {
  auto text = ReadFile(MONOROUTE_SOURCE_DIR "/tests/fixtures/tokenizer/gpt2_cases.json");
  ASSERT_TRUE(text.ok()) << text.status();
  nlohmann::json cases = nlohmann::json::parse(*text)["cases"];
  ASSERT_GE(cases.size(), 25u);
  int round_trips = 0;
  for (const auto& c : cases) {
    const std::string s = c["text"].get<std::string>();
    const std::vector<int32_t> want = c["ids"].get<std::vector<int32_t>>();
    EXPECT_EQ(Tok().Encode(s), want) << "text: " << s;
    if (c["decoded_equal"].get<bool>()) {
      auto back = Tok().Decode(want);
      ASSERT_TRUE(back.ok()) << back.status();
      EXPECT_EQ(*back, s);
      ++round_trips;
    }
  }
  EXPECT_GT(round_trips, 0);
}

TEST(Gpt2TokenizerTest, MergesWithAndWithoutVersionHeader) {
  TempDir tmp("tok_merges");
  const fs::path dir = tmp.path();
  auto merges = ReadFile(MONOROUTE_TOKENIZER_DIR "/merges.txt");
  ASSERT_TRUE(merges.ok());
  ASSERT_EQ(merges->rfind("#version", 0), 0u) << "installed merges.txt should have the header";
  std::string without = merges->substr(merges->find('\n') + 1);
  ASSERT_TRUE(WriteFileAtomic((dir / "merges.txt").string(), without).ok());
  Gpt2TokenizerOptions opts;
  opts.vocab_path = MONOROUTE_TOKENIZER_DIR "/vocab.json";
  opts.merges_path = (dir / "merges.txt").string();
  auto tok = Gpt2Tokenizer::Create(opts);
  ASSERT_TRUE(tok.ok()) << tok.status();
  const std::string s = "Once upon a time, there was a little girl named Lily. I'm 42!";
  EXPECT_EQ((*tok)->Encode(s), Tok().Encode(s));
  EXPECT_EQ((*tok)->Encode(s).size(), 17u);
}

TEST(Gpt2TokenizerTest, MissingVocabIsNotFoundNamingIt) {
  Gpt2TokenizerOptions opts;
  opts.dir = "/nonexistent/tokdir";
  auto tok = Gpt2Tokenizer::Create(opts);
  ASSERT_FALSE(tok.ok());
  EXPECT_EQ(tok.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(tok.status().message()),
              ::testing::HasSubstr("/nonexistent/tokdir/vocab.json"));
}

TEST(Gpt2TokenizerTest, MalformedMergesLineNamesFileAndLine) {
  TempDir tmp("tok_bad_merges");
  const fs::path dir = tmp.path();
  ASSERT_TRUE(WriteFileAtomic((dir / "merges.txt").string(), "#version: 0.2\nĠ t\nbroken\n").ok());
  Gpt2TokenizerOptions opts;
  opts.vocab_path = MONOROUTE_TOKENIZER_DIR "/vocab.json";
  opts.merges_path = (dir / "merges.txt").string();
  auto tok = Gpt2Tokenizer::Create(opts);
  ASSERT_FALSE(tok.ok());
  EXPECT_EQ(tok.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(tok.status().message()), ::testing::HasSubstr("merges.txt:3"));
  // A vocab that is not JSON.
  ASSERT_TRUE(WriteFileAtomic((dir / "vocab.json").string(), "[1, 2").ok());
  opts.vocab_path = (dir / "vocab.json").string();
  tok = Gpt2Tokenizer::Create(opts);
  ASSERT_FALSE(tok.ok());
  EXPECT_THAT(std::string(tok.status().message()), ::testing::HasSubstr("vocab.json"));
}

TEST(Gpt2TokenizerTest, EmptyMergesIsRejectedNamingTheFile) {
  // An empty merges.txt (or one with only the #version header) used to load and encode every
  // text as single bytes.
  TempDir tmp("tok_empty_merges");
  const fs::path dir = tmp.path();
  const std::string path = (dir / "merges.txt").string();
  Gpt2TokenizerOptions opts;
  opts.vocab_path = MONOROUTE_TOKENIZER_DIR "/vocab.json";
  opts.merges_path = path;
  for (const char* text : {"", "#version: 0.2\n", "\n\r\n\n"}) {
    ASSERT_TRUE(WriteFileAtomic(path, text).ok());
    auto tok = Gpt2Tokenizer::Create(opts);
    ASSERT_FALSE(tok.ok()) << "'" << text << "'";
    EXPECT_EQ(tok.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(tok.status().message(), path + ": no merge rules (empty merges file?)");
  }
}

TEST(Gpt2TokenizerTest, CreateFromTextMatchesFiles) {
  auto vocab = ReadFile(MONOROUTE_TOKENIZER_DIR "/vocab.json");
  auto merges = ReadFile(MONOROUTE_TOKENIZER_DIR "/merges.txt");
  ASSERT_TRUE(vocab.ok() && merges.ok());
  auto tok = Gpt2Tokenizer::CreateFromText(*vocab, *merges, "v.json", "m.txt");
  ASSERT_TRUE(tok.ok()) << tok.status();
  const std::string text = "Once upon a time, Lily's dog\n\nran.<|endoftext|>";
  EXPECT_EQ((*tok)->Encode(text), Tok().Encode(text));
  auto bad = Gpt2Tokenizer::CreateFromText(*vocab, "a b c\n", "v.json", "m.txt");
  EXPECT_THAT(bad.status().message(), ::testing::HasSubstr("m.txt:1"));
}

TEST(Gpt2TokenizerTest, SpecialTokenInTheMiddle) {
  const Gpt2Tokenizer& tok = Tok();
  std::vector<int32_t> a = tok.Encode("The cat sat.");
  std::vector<int32_t> b = tok.Encode(" The dog ran");
  std::vector<int32_t> want = a;
  want.push_back(50256);
  want.insert(want.end(), b.begin(), b.end());
  EXPECT_EQ(tok.Encode("The cat sat.<|endoftext|> The dog ran"), want);
  // Mid-word too: the special token is matched wherever it appears.
  std::vector<int32_t> ids = tok.Encode("ab<|endoftext|>cd");
  EXPECT_THAT(ids, ::testing::Contains(50256));
  EXPECT_EQ(*tok.Decode(ids), "ab<|endoftext|>cd");
  // A partial special token is ordinary text.
  EXPECT_THAT(tok.Encode("<|endoftext|"), ::testing::Not(::testing::Contains(50256)));
}

TEST(Gpt2TokenizerTest, InvalidUtf8IsDeterministicAndRoundTrips) {
  const Gpt2Tokenizer& tok = Tok();
  // Stray continuation byte, truncated 3-byte sequence, overlong '/', surrogate, 0xFF.
  const std::string bad =
      "ok \x80 then \xE2\x82 and \xC0\xAF x\xED\xA0\x80y \xFF\xFE end \xF0\x9F\x98";
  std::vector<int32_t> ids = tok.Encode(bad);
  EXPECT_EQ(ids, tok.Encode(bad));
  auto back = tok.Decode(ids);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, bad);
  // Each invalid byte is its own single-byte token: "\xFF\xFE" gives two tokens.
  std::vector<int32_t> ff = tok.Encode("\xFF\xFE");
  ASSERT_EQ(ff.size(), 2u);
  EXPECT_EQ(tok.DecodeToken(ff[0]), "\xFF");
  EXPECT_EQ(tok.DecodeToken(ff[1]), "\xFE");
  // Valid text around the bad byte is unaffected.
  std::vector<int32_t> word = tok.Encode("hello");
  std::vector<int32_t> mixed = tok.Encode("hello\x80");
  ASSERT_EQ(mixed.size(), word.size() + 1);
  EXPECT_TRUE(std::equal(word.begin(), word.end(), mixed.begin()));
}

TEST(Gpt2TokenizerTest, DecodeRejectsOutOfRangeIds) {
  auto s = Tok().Decode({15496, 50257});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.status().message()), ::testing::HasSubstr("position 1"));
}

TEST(Gpt2TokenizerTest, RenderTokenEscapes) {
  const Gpt2Tokenizer& tok = Tok();
  EXPECT_EQ(tok.RenderToken(198), "\\n");
  EXPECT_EQ(tok.RenderToken(3797), " cat");
  // A token holding part of an emoji's bytes renders as hex escapes.
  std::vector<int32_t> ids = tok.Encode("😀");
  ASSERT_GE(ids.size(), 2u);
  EXPECT_EQ(tok.RenderToken(ids[0]).substr(0, 2), "\\x");
  EXPECT_EQ(tok.RenderToken(-5), "<invalid id -5>");
}

TEST(Gpt2TokenizerTest, ConcurrentEncodeMatchesSerial) {
  const Gpt2Tokenizer& tok = Tok();
  std::vector<std::string> texts;
  for (int i = 0; i < 200; ++i) {
    texts.push_back("Story " + std::to_string(i) + ": Tom saw " + std::to_string(i * 7919) +
                    " red birds; \"Wow!\" he said, naïve café 日本 " + std::string(i % 5, ' ') +
                    "x");
  }
  std::vector<std::vector<int32_t>> serial;
  for (const auto& t : texts) serial.push_back(tok.Encode(t));
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int rep = 0; rep < 20; ++rep) {
        for (size_t i = t; i < texts.size(); i += 1 + t) {
          if (tok.Encode(texts[i]) != serial[i]) ++mismatches;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

TEST(Gpt2TokenizerTest, CacheDisabledGivesSameIds) {
  Gpt2TokenizerOptions opts;
  opts.cache_capacity = 0;
  auto nocache = Gpt2Tokenizer::Create(opts);
  ASSERT_TRUE(nocache.ok());
  const std::string s = "The little dog, Max, said: \"Let's play!\" 123 times.\n\n  Okay?";
  EXPECT_EQ((*nocache)->Encode(s), Tok().Encode(s));
}

TEST(Gpt2TokenizerTest, TinyStoriesThroughput) {
  const std::string path = MONOROUTE_SOURCE_DIR "/../shared/data/tinystories/train.txt";
  if (!fs::exists(path)) GTEST_SKIP() << "needs ../shared/data/tinystories/train.txt: absent";
  auto text = ReadFile(path);
  ASSERT_TRUE(text.ok());
  auto fresh = Gpt2Tokenizer::Create({});  // cold cache for the single-thread figure
  ASSERT_TRUE(fresh.ok());
  auto t0 = std::chrono::steady_clock::now();
  std::vector<int32_t> ids = (*fresh)->Encode(*text);
  auto t1 = std::chrono::steady_clock::now();
  auto fresh2 = Gpt2Tokenizer::Create({});
  ASSERT_TRUE(fresh2.ok());
  auto t2 = std::chrono::steady_clock::now();
  std::vector<int32_t> par = (*fresh2)->EncodeParallel(*text, 2);
  auto t3 = std::chrono::steady_clock::now();
  double s1 = std::chrono::duration<double>(t1 - t0).count();
  double s2 = std::chrono::duration<double>(t3 - t2).count();
  std::printf(
      "[tinystories] %zu bytes -> %zu tokens (%.2f bytes/token); 1 thread: %.3f s = %.0f "
      "tokens/s = %.2f MB/s; EncodeParallel(2): %.3f s = %.0f tokens/s\n",
      text->size(), ids.size(), double(text->size()) / ids.size(), s1, ids.size() / s1,
      text->size() / s1 / 1e6, s2, par.size() / s2);
  // English TinyStories text is ~4 bytes/token; one eot per story (2,316 stories).
  EXPECT_GT(ids.size(), text->size() / 6);
  EXPECT_LT(ids.size(), text->size() / 3);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 50256), 2316);
  EXPECT_EQ(par, ids);
  auto back = Tok().Decode(ids);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, *text);
}

}  // namespace
}  // namespace monoroute
