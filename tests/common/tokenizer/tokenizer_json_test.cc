// Tests of tokenizer.json loading: unsupported components named by JSON path, option parsing,
// merges in both layouts, and the model-directory factory (tokenizer.json before vocab/merges).
#include "common/tokenizer/tokenizer_json.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "common/tokenizer/gpt2_tokenizer.h"
#include "common/tokenizer/normalizer.h"
#include "tests/testing/temp_files.h"

namespace monoroute {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

// A tiny valid byte-level tokenizer.json: the 256 byte tokens, "he" and "hel" merges.
json Tiny() {
  json vocab = json::object();
  int id = 0;
  int extra = 0;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
    const char32_t cp = printable ? b : 256 + extra++;
    std::string u;
    if (cp < 0x80) {
      u.push_back(static_cast<char>(cp));
    } else {
      u.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      u.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
    vocab[u] = id++;
  }
  vocab["he"] = id++;
  vocab["hel"] = id++;
  vocab["<|endoftext|>"] = id++;
  json bl = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}};
  return {{"version", "1.0"},
          {"truncation", nullptr},
          {"padding", nullptr},
          {"added_tokens",
           json::array({{{"id", id - 1}, {"content", "<|endoftext|>"}, {"special", true}}})},
          {"normalizer", nullptr},
          {"pre_tokenizer", bl},
          {"post_processor", bl},
          {"decoder", bl},
          {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", {"h e", "he l"}}}}};
}

absl::Status LoadStatus(const json& j) {
  return Gpt2Tokenizer::CreateFromJson(j.dump(), "t/tokenizer.json").status();
}

TEST(TokenizerJsonTest, TinyLoadsAndMerges) {
  auto tok = Gpt2Tokenizer::CreateFromJson(Tiny().dump(), "t.json");
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_EQ((*tok)->Encode("help"), (std::vector<int32_t>{257, 'p'}));
  EXPECT_EQ((*tok)->Encode("x<|endoftext|>"), (std::vector<int32_t>{'x', 258}));
  EXPECT_EQ((*tok)->eot_id(), 258);
  // Merges as pairs give the same tokenizer.
  json j = Tiny();
  j["model"]["merges"] = json::array({json::array({"h", "e"}), json::array({"he", "l"})});
  auto pairs = Gpt2Tokenizer::CreateFromJson(j.dump(), "t.json");
  ASSERT_TRUE(pairs.ok()) << pairs.status();
  EXPECT_EQ((*pairs)->Encode("help hello"), (*tok)->Encode("help hello"));
}

TEST(TokenizerJsonTest, UnsupportedComponentsNameTheJsonPath) {
  struct Case {
    const char* pointer;
    json value;
    const char* message;
  };
  const Case cases[] = {
      {"/pre_tokenizer",
       {{"type", "Metaspace"}},
       "t/tokenizer.json: pre_tokenizer.type: \"Metaspace\" is not supported (supported: "
       "ByteLevel)"},
      {"/pre_tokenizer", nullptr, "pre_tokenizer: null is not supported"},
      {"/normalizer", {{"type", "Lowercase"}}, "normalizer.type: \"Lowercase\" is not supported"},
      {"/normalizer",
       {{"type", "Sequence"},
        {"normalizers", json::array({{{"type", "NFC"}}, {{"type", "NFKC"}}})}},
       "normalizer.normalizers[1].type: \"NFKC\" is not supported"},
      {"/decoder", {{"type", "WordPiece"}}, "decoder.type: \"WordPiece\" is not supported"},
      {"/post_processor",
       {{"type", "TemplateProcessing"}},
       "post_processor.type: \"TemplateProcessing\" is not supported"},
      {"/model/type", "WordPiece", "model.type: \"WordPiece\" is not supported"},
      {"/model/dropout", 0.1, "model.dropout: 0.1 is not supported"},
      {"/model/continuing_subword_prefix", "##", "model.continuing_subword_prefix"},
      {"/truncation", {{"max_length", 8}}, "truncation: "},
      {"/pre_tokenizer/add_prefix_space", "yes",
       "pre_tokenizer.add_prefix_space: must be a boolean"},
      {"/added_tokens/0/id", -1, "added_tokens[0].id: must be an integer"},
      {"/model/merges/1", "he l x", "model.merges[1]: expected"},
      {"/model/merges/0", json::array({"h"}), "model.merges[0]: expected"},
  };
  for (const Case& c : cases) {
    json j = Tiny();
    j[json::json_pointer(c.pointer)] = c.value;
    absl::Status st = LoadStatus(j);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << c.pointer << ": " << st;
    EXPECT_THAT(std::string(st.message()), HasSubstr(c.message)) << c.pointer;
  }
  json seq = Tiny();
  seq["pre_tokenizer"] = {{"type", "Sequence"},
                          {"pretokenizers", json::array({{{"type", "Split"}}})}};
  EXPECT_THAT(std::string(LoadStatus(seq).message()),
              HasSubstr("pre_tokenizer.pretokenizers[0].type: \"Split\" is not supported"));
  json bad_merge = Tiny();
  bad_merge["model"]["merges"] = {"h e", "q z"};
  EXPECT_THAT(std::string(LoadStatus(bad_merge).message()),
              HasSubstr("model.merges[1]: merge \"q z\" uses a token missing from"));
  json no_eot = Tiny();
  no_eot["added_tokens"] = json::array();
  no_eot["model"]["vocab"].erase("<|endoftext|>");
  EXPECT_THAT(std::string(LoadStatus(no_eot).message()), HasSubstr("no \"<|endoftext|>\" token"));
  EXPECT_THAT(std::string(LoadStatus(json::array()).message()), HasSubstr("must be a JSON object"));
  EXPECT_THAT(std::string(Gpt2Tokenizer::CreateFromJson("{", "x.json").status().message()),
              HasSubstr("x.json: not valid JSON"));
}

TEST(TokenizerJsonTest, OptionsReachThePipeline) {
  json j = Tiny();
  j["normalizer"] = {{"type", "Sequence"}, {"normalizers", json::array({{{"type", "NFC"}}})}};
  j["pre_tokenizer"] = {
      {"type", "Sequence"},
      {"pretokenizers",
       json::array({{{"type", "ByteLevel"}, {"add_prefix_space", true}, {"use_regex", false}}})}};
  j["model"]["ignore_merges"] = true;
  auto spec = ParseTokenizerJson(j.dump(), "t.json");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_TRUE(spec->pipeline.nfc);
  EXPECT_TRUE(spec->pipeline.add_prefix_space);
  EXPECT_FALSE(spec->pipeline.use_regex);
  EXPECT_TRUE(spec->pipeline.ignore_merges);
  EXPECT_EQ(spec->merges.size(), 2u);
  ASSERT_EQ(spec->added_tokens.size(), 1u);
  EXPECT_TRUE(spec->added_tokens[0].special);
  EXPECT_FALSE(spec->added_tokens[0].normalized);  // HF's default for special tokens
}

TEST(TokenizerJsonTest, NfcComposesAndKeepsInvalidBytes) {
  EXPECT_EQ(NfcNormalize("cafe\xCC\x81"), "caf\xC3\xA9");
  EXPECT_EQ(NfcNormalize("\xE2\x84\xAB"), "\xC3\x85");  // ANGSTROM SIGN -> A with ring
  EXPECT_EQ(NfcNormalize("plain ascii"), "plain ascii");
  EXPECT_EQ(NfcNormalize("e\xCC\x81\xFF"
                         "e\xCC\x81"),
            "\xC3\xA9\xFF\xC3\xA9");
}

TEST(TokenizerFactoryTest, ModelDirPrefersTokenizerJson) {
  testing::TempDir dir("tok_factory");
  // vocab.json + merges.txt only: the GPT-2 pair.
  testing::WriteText(dir.Sub("vocab.json"),
                     testing::ReadText(MONOROUTE_TOKENIZER_DIR "/vocab.json"));
  testing::WriteText(dir.Sub("merges.txt"),
                     testing::ReadText(MONOROUTE_TOKENIZER_DIR "/merges.txt"));
  auto files = TokenizerFiles(dir.path());
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_EQ(*files, (std::vector<std::string>{"vocab.json", "merges.txt"}));
  Gpt2TokenizerOptions o;
  o.dir = dir.path();
  auto pair = Gpt2Tokenizer::Create(o);
  ASSERT_TRUE(pair.ok()) << pair.status();
  EXPECT_EQ((*pair)->vocab_size(), 50257);
  // Adding tokenizer.json switches to it.
  testing::WriteText(dir.Sub("tokenizer.json"), Tiny().dump());
  files = TokenizerFiles(dir.path());
  ASSERT_TRUE(files.ok());
  EXPECT_EQ(files->front(), "tokenizer.json");
  auto json_tok = Gpt2Tokenizer::Create(o);
  ASSERT_TRUE(json_tok.ok()) << json_tok.status();
  EXPECT_EQ((*json_tok)->vocab_size(), 259);
  // A broken tokenizer.json is an error naming it, not a silent fallback.
  testing::WriteText(dir.Sub("tokenizer.json"), "{\"model\": 3}");
  auto broken = Gpt2Tokenizer::Create(o);
  ASSERT_FALSE(broken.ok());
  EXPECT_THAT(std::string(broken.status().message()), HasSubstr(dir.Sub("tokenizer.json") + ": "));
  // An empty directory names both layouts.
  testing::TempDir empty("tok_factory_empty");
  auto none = TokenizerFiles(empty.path());
  EXPECT_EQ(none.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(none.status().message()), HasSubstr("tokenizer.json"));
}

}  // namespace
}  // namespace monoroute
