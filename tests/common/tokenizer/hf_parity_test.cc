// Parity with Hugging Face `tokenizers` (fixtures written by scripts/fixtures/
// gen_tokenizer_fixtures.mjs with the npm package): ids and decoded text of every test string for
// a GPT-2 tokenizer.json, a GPT-NeoX-style one (NFC, <|padding|>, added runs of spaces) and small
// variants (add_prefix_space, lstrip/rstrip/single_word, use_regex false, ignore_merges), and the
// ids of 200k characters of TinyStories for the first two (skipped without ../shared).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "common/tokenizer/gpt2_tokenizer.h"
#include "common/tokenizer/utf8_util.h"
#include "tests/testing/temp_files.h"

namespace monoroute {
namespace {

const std::string kHfDir = MONOROUTE_SOURCE_DIR "/tests/fixtures/tokenizer/hf";

const nlohmann::json& Fixture() {
  static const nlohmann::json* j = [] {
    auto* out = new nlohmann::json(
        nlohmann::json::parse(testing::ReadText(kHfDir + "/hf_cases.json"), nullptr, false));
    return out;
  }();
  return *j;
}

std::unique_ptr<Gpt2Tokenizer> Load(const std::string& name) {
  Gpt2TokenizerOptions o;
  o.tokenizer_json_path = kHfDir + "/" + Fixture()["tokenizers"][name]["file"].get<std::string>();
  auto tok = Gpt2Tokenizer::Create(o);
  EXPECT_TRUE(tok.ok()) << tok.status();
  return tok.ok() ? std::move(*tok) : nullptr;
}

std::string Sha256Hex(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) hex += absl::StrFormat("%02x", md[i]);
  return hex;
}

// `bytes` as Rust's String::from_utf8_lossy gives them (what HF's decode returns): each maximal
// prefix of an ill-formed sequence becomes U+FFFD.
std::string Lossy(const std::string& bytes) {
  std::string out;
  size_t i = 0;
  while (i < bytes.size()) {
    char32_t cp;
    const size_t n = utf8::DecodeAt(bytes, i, &cp);
    if (n > 0) {
      out.append(bytes, i, n);
      i += n;
      continue;
    }
    const unsigned char b0 = static_cast<unsigned char>(bytes[i]);
    const size_t want = b0 >= 0xF0 ? 4 : b0 >= 0xE0 ? 3 : b0 >= 0xC2 ? 2 : 1;
    size_t j = i + 1;
    // Continuation bytes that still fit a well-formed sequence are part of the same error.
    while (j < i + want && j < bytes.size() &&
           (static_cast<unsigned char>(bytes[j]) & 0xC0) == 0x80) {
      const unsigned char b1 = static_cast<unsigned char>(bytes[i + 1 < bytes.size() ? i + 1 : i]);
      if (j == i + 1 && ((b0 == 0xE0 && b1 < 0xA0) || (b0 == 0xED && b1 > 0x9F) ||
                         (b0 == 0xF0 && b1 < 0x90) || (b0 == 0xF4 && b1 > 0x8F) || b0 > 0xF4)) {
        break;
      }
      ++j;
    }
    out += "\xEF\xBF\xBD";
    i = j;
  }
  return out;
}

class HfParityTest : public ::testing::TestWithParam<std::string> {};

TEST_P(HfParityTest, TestStringsIdsAndDecode) {
  ASSERT_FALSE(Fixture().is_discarded()) << "tests/fixtures/tokenizer/hf/hf_cases.json";
  std::unique_ptr<Gpt2Tokenizer> tok = Load(GetParam());
  ASSERT_NE(tok, nullptr);
  const nlohmann::json& cases = Fixture()["tokenizers"][GetParam()]["cases"];
  ASSERT_GE(cases.size(), 40u);
  for (const auto& c : cases) {
    const std::string text = c["text"].get<std::string>();
    const std::vector<int32_t> want = c["ids"].get<std::vector<int32_t>>();
    EXPECT_EQ(tok->Encode(text), want) << GetParam() << " text: " << text;
    absl::StatusOr<std::string> back = tok->Decode(want);
    ASSERT_TRUE(back.ok()) << back.status();
    // Decode is lossless (raw bytes); HF's is through from_utf8_lossy.
    EXPECT_EQ(Lossy(*back), c["decoded"].get<std::string>()) << GetParam() << " text: " << text;
  }
}

INSTANTIATE_TEST_SUITE_P(Files, HfParityTest,
                         ::testing::Values("gpt2", "neox", "variants/prefix_space_strip",
                                           "variants/no_regex_ignore_merges"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& ch : n) ch = (ch == '/') ? '_' : ch;
                           return n;
                         });

class HfTinyStoriesTest : public ::testing::TestWithParam<std::string> {};

TEST_P(HfTinyStoriesTest, TwoHundredThousandCharacters) {
  const nlohmann::json& ts = Fixture()["tokenizers"][GetParam()]["tinystories"];
  const std::string path = MONOROUTE_SOURCE_DIR "/../shared/" + ts["path"].get<std::string>();
  std::ifstream in(path, std::ios::binary);
  if (!in) GTEST_SKIP() << "needs ../shared/" << ts["path"].get<std::string>();
  std::string text(ts["bytes"].get<size_t>(), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  ASSERT_EQ(static_cast<size_t>(in.gcount()), text.size());
  ASSERT_EQ(Sha256Hex(text), ts["sha256"].get<std::string>()) << path << " changed";
  std::unique_ptr<Gpt2Tokenizer> tok = Load(GetParam());
  ASSERT_NE(tok, nullptr);
  const std::vector<int32_t> want = ts["ids"].get<std::vector<int32_t>>();
  EXPECT_EQ(tok->Encode(text), want);
  EXPECT_EQ(tok->EncodeParallel(text, 4), want);
}

INSTANTIATE_TEST_SUITE_P(Files, HfTinyStoriesTest, ::testing::Values("gpt2", "neox"));

TEST(HfFilesTest, Gpt2JsonEqualsVocabAndMerges) {
  std::unique_ptr<Gpt2Tokenizer> json = Load("gpt2");
  auto pair = Gpt2Tokenizer::Create({});
  ASSERT_NE(json, nullptr);
  ASSERT_TRUE(pair.ok()) << pair.status();
  EXPECT_EQ(json->vocab_size(), (*pair)->vocab_size());
  EXPECT_EQ(json->eot_id(), 50256);
  const std::string s = "Once upon a time, Lily's dog\n\nran.<|endoftext|>  x";
  EXPECT_EQ(json->Encode(s), (*pair)->Encode(s));
}

TEST(HfFilesTest, NeoxLayout) {
  std::unique_ptr<Gpt2Tokenizer> tok = Load("neox");
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->eot_id(), 0);
  EXPECT_EQ(tok->TokenToId("<|padding|>"), 1);
  EXPECT_EQ(tok->vocab_size(), 50257 + 1 + 23);
  EXPECT_EQ(tok->DecodeToken(tok->TokenToId("    ")), "    ");
  EXPECT_EQ(tok->IdToToken(1), "<|padding|>");
}

}  // namespace
}  // namespace monoroute
