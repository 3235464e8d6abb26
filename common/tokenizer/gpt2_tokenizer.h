// Byte-level BPE tokenizer of the GPT-2 family (GPT-2, GPT-Neo / TinyStories, GPT-NeoX / Pythia),
// bit-exact with Hugging Face `tokenizers` (and `tiktoken` for GPT-2) on valid UTF-8. No LibTorch
// here: services include it. Loaded from a model directory's tokenizer.json (HF `tokenizers`
// format, see tokenizer_json.h for what is supported) or else its vocab.json + merges.txt.
//
// Pipeline: added tokens matched in the raw text (GPT-2: "<|endoftext|>", id 50256) -> NFC when
// the tokenizer.json asks -> added tokens matched in the normalised text -> (prefix space) ->
// GPT-2 pre-tokenisation (the regex below, implemented over code points with utf8proc
// categories) -> each piece's bytes mapped to byte tokens -> BPE merges by rank -> ids.
//
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// Invalid UTF-8: every byte that does not start a well-formed UTF-8 sequence (stray continuation
// bytes, truncated or overlong sequences, surrogates, > U+10FFFF) becomes a pre-token piece of its
// own and is encoded as its single byte token. Decode() therefore returns the input bytes exactly,
// for any input, valid or not (without NFC; NFC changes the text by design).
#ifndef MONOROUTE_COMMON_TOKENIZER_GPT2_TOKENIZER_H_
#define MONOROUTE_COMMON_TOKENIZER_GPT2_TOKENIZER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace monoroute {

// File names of a tokenizer in a model directory.
inline constexpr char kTokenizerJsonFile[] = "tokenizer.json";
inline constexpr char kVocabJsonFile[] = "vocab.json";
inline constexpr char kMergesTxtFile[] = "merges.txt";

// The tokenizer files present in `dir`, in the order tokenizer.json, vocab.json, merges.txt
// (each listed only when it is a regular file; e.g. to hash or copy a model's tokenizer).
// NOT_FOUND naming `dir` when it holds neither tokenizer.json nor both vocab.json and merges.txt.
absl::StatusOr<std::vector<std::string>> TokenizerFiles(const std::string& dir);

// Where the tokenizer comes from. Precedence: tokenizer_json_path; vocab_path / merges_path;
// dir/tokenizer.json; dir/vocab.json + dir/merges.txt.
struct Gpt2TokenizerOptions {
  // Model or tokenizer directory: its tokenizer.json when present, else vocab.json + merges.txt;
  // empty = the installed GPT-2 files (common/base/data_dirs.h: env MONOROUTE_TOKENIZER_DIR,
  // <exe>/../share/monoroute/gpt2, ...).
  std::string dir;
  // Explicit tokenizer.json path; overrides everything else when set.
  std::string tokenizer_json_path;
  // Explicit vocab.json path; overrides `dir` when set.
  std::string vocab_path;
  // Explicit merges.txt path (with or without a "#version" first line); overrides `dir` when set.
  std::string merges_path;
  // Max cached pre-token pieces in total (split over shards); 0 disables the BPE cache.
  size_t cache_capacity = 1 << 18;
};

// Maps UTF-8 text to GPT-2 token ids and back. Immutable after Create() except for an internal
// sharded, mutex-protected BPE cache: every method is const and safe to call from many threads.
class Gpt2Tokenizer {
 public:
  // The special end-of-text token's text.
  static constexpr absl::string_view kEndOfText = "<|endoftext|>";

  // Loads the tokenizer the options name (see Gpt2TokenizerOptions for the precedence).
  // NOT_FOUND naming the file if one is missing; INVALID_ARGUMENT naming file and line/entry (or
  // JSON path) if one is malformed, inconsistent or unsupported, and naming merges.txt if it
  // holds no merge rule (e.g. an empty file).
  static absl::StatusOr<std::unique_ptr<Gpt2Tokenizer>> Create(
      const Gpt2TokenizerOptions& options = {});

  // The same from the two files' contents already in memory: `vocab_json` (vocab.json) and
  // `merges_txt` (merges.txt); errors name them by `vocab_path` / `merges_path` (the paths they
  // came from, or any label). `cache_capacity` as Gpt2TokenizerOptions::cache_capacity.
  static absl::StatusOr<std::unique_ptr<Gpt2Tokenizer>> CreateFromText(
      absl::string_view vocab_json, absl::string_view merges_txt, const std::string& vocab_path,
      const std::string& merges_path, size_t cache_capacity = size_t{1} << 18);

  // The same from a tokenizer.json's content; errors name `path` and the JSON path.
  static absl::StatusOr<std::unique_ptr<Gpt2Tokenizer>> CreateFromJson(
      absl::string_view tokenizer_json, const std::string& path,
      size_t cache_capacity = size_t{1} << 18);

  ~Gpt2Tokenizer();
  Gpt2Tokenizer(const Gpt2Tokenizer&) = delete;
  Gpt2Tokenizer& operator=(const Gpt2Tokenizer&) = delete;

  // Token ids of `text`; an added token anywhere in it (e.g. "<|endoftext|>") becomes its id.
  std::vector<int32_t> Encode(absl::string_view text) const;

  // Appends the ids of `text` to `*out` (avoids a copy when tokenizing many documents).
  void EncodeAppend(absl::string_view text, std::vector<int32_t>* out) const;

  // Same result as Encode(text), computed by `num_threads` threads (0 = hardware concurrency) on
  // chunks cut where the result provably cannot change (after an ASCII non-space byte followed
  // by '\n', or at "<|endoftext|>"). Bit-identical to Encode(); worth it for texts > ~100 KB.
  std::vector<int32_t> EncodeParallel(absl::string_view text, int num_threads = 0) const;

  // The bytes that `ids` stand for, concatenated (eot_id() gives "<|endoftext|>"). Ids outside
  // [0, vocab_size()) give INVALID_ARGUMENT naming the position.
  absl::StatusOr<std::string> Decode(const std::vector<int32_t>& ids) const;

  // The raw bytes of one token (may be a partial UTF-8 sequence, e.g. half of an emoji); empty
  // for an id out of range.
  absl::string_view DecodeToken(int32_t id) const;

  // DecodeToken(id) made printable for reports: valid UTF-8 is kept, '\n' '\t' '\r' '\\' become
  // "\n" "\t" "\r" "\\", other control bytes and every byte of an invalid/partial UTF-8
  // sequence become "\xNN" (lower-case hex). Out of range: "<invalid id N>".
  std::string RenderToken(int32_t id) const;

  // The vocabulary entry of `id` in GPT-2's byte-to-unicode form (e.g. "Ġcat"), an added token's
  // content; empty if out of range or unused.
  absl::string_view IdToToken(int32_t id) const;

  // The id of a vocabulary entry in byte-to-unicode form ("Ġcat") or of an added token's
  // content, or -1 if absent.
  int32_t TokenToId(absl::string_view token) const;

  // Number of ids: 1 + the largest id of the vocabulary and added tokens (50257 for GPT-2).
  int32_t vocab_size() const;

  // Id of "<|endoftext|>" (50256 for GPT-2, 0 for Pythia); every loaded tokenizer has one.
  int32_t eot_id() const;

  // The state (defined in tokenizer_impl.h, private to this library).
  struct Impl;

 private:
  explicit Gpt2Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Splits `text` into GPT-2 pre-token pieces (no special-token handling); exposed for tests and
// tools. The pieces are views into `text` and concatenate back to it.
std::vector<absl::string_view> Gpt2PreTokenize(absl::string_view text);

}  // namespace monoroute

#endif  // MONOROUTE_COMMON_TOKENIZER_GPT2_TOKENIZER_H_
