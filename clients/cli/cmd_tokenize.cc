// `monoroute tokenize [--model DIR | --tokenizer DIR] [--decode]`: UTF-8 text on stdin -> one
// JSON array of token ids on stdout, with the model directory's own tokenizer (tokenizer.json,
// else vocab.json + merges.txt; default: the installed GPT-2 files); with --decode, a JSON array
// of ids on stdin -> the text. With --output json: {"ids": [...]} or {"text": "..."}.
#include <iostream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "clients/cli/command.h"
#include "common/tokenizer/gpt2_tokenizer.h"

namespace monoroute::cli {
namespace {

struct TokenizeFlags {
  std::string tokenizer_dir;  // --model / --tokenizer; empty = installed GPT-2 files
  bool decode = false;
  int threads = 1;
};

absl::Status RunTokenize(const TokenizeFlags& flags) {
  if (flags.threads < 0) return UsageError("--threads must be >= 0");
  Gpt2TokenizerOptions opts;
  opts.dir = flags.tokenizer_dir;
  absl::StatusOr<std::unique_ptr<Gpt2Tokenizer>> tok = Gpt2Tokenizer::Create(opts);
  if (!tok.ok()) return tok.status();
  std::string input((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  if (!std::cin.eof() && std::cin.bad()) return absl::InternalError("cannot read stdin");
  if (!flags.decode) {
    std::vector<int32_t> ids =
        flags.threads == 1 ? (*tok)->Encode(input) : (*tok)->EncodeParallel(input, flags.threads);
    return PrintResult({{"ids", ids}}, absl::StrCat("[", absl::StrJoin(ids, ", "), "]\n"));
  }
  nlohmann::json arr = nlohmann::json::parse(input, nullptr, /*allow_exceptions=*/false);
  if (arr.is_discarded() || !arr.is_array()) {
    return absl::InvalidArgumentError("stdin: expected a JSON array of token ids");
  }
  std::vector<int32_t> ids;
  ids.reserve(arr.size());
  for (size_t i = 0; i < arr.size(); ++i) {
    if (!arr[i].is_number_integer()) {
      return absl::InvalidArgumentError(
          absl::StrCat("stdin: element ", i, " of the array is not an integer token id"));
    }
    const int64_t v = arr[i].get<int64_t>();
    if (v < 0 || v >= (*tok)->vocab_size()) {
      return absl::InvalidArgumentError(absl::StrCat("stdin: token id ", v, " at position ", i,
                                                     " is outside [0, ", (*tok)->vocab_size(),
                                                     ")"));
    }
    ids.push_back(static_cast<int32_t>(v));
  }
  absl::StatusOr<std::string> text = (*tok)->Decode(ids);
  if (!text.ok()) return text.status();
  return PrintResult({{"text", *text}}, *text);
}

void AddFlags(CLI::App* sub, TokenizeFlags* flags) {
  CLI::Option* model = sub->add_option(
      "--model", flags->tokenizer_dir,
      "Model directory: its tokenizer.json, else vocab.json + merges.txt (default: GPT-2)");
  sub->add_option("--tokenizer", flags->tokenizer_dir,
                  "Tokenizer directory, as --model (default: the installed GPT-2 files)")
      ->excludes(model);
  sub->add_flag("--decode", flags->decode, "Read a JSON array of ids, print the text");
  sub->add_option("--threads", flags->threads,
                  "Encoding threads (0 = all cores); the ids do not depend on it")
      ->capture_default_str();
}

MONOROUTE_REGISTER_COMMAND(
    tokenize, Command<TokenizeFlags>("tokenize",
                                     "Byte-level BPE (the model's tokenizer): UTF-8 text on stdin "
                                     "-> JSON array of ids (--decode: the reverse)",
                                     AddFlags, RunTokenize));

}  // namespace
}  // namespace monoroute::cli
