// `monoroute corpus generate --stories N --seed S --out FILE [--categories FILE] [--words FILE]`:
// writes generated TinyStories-style stories and, optionally, the token-category TSV and the
// grammar's word list (word<TAB>category, the lexicon format). The summary goes to stderr (text) or
// is one JSON object on stdout (--output json).
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "clients/cli/command.h"
#include "common/base/file_util.h"
#include "common/corpus/corpus_writer.h"
#include "common/corpus/label_set.h"
#include "common/corpus/story_generator.h"

namespace monoroute::cli {
namespace {

struct CorpusFlags {
  CorpusWriterOptions writer;
  std::string words_path;
  bool quiet = false;
};

absl::Status RunGenerate(const CorpusFlags& flags) {
  if (flags.writer.num_stories < 0) return UsageError("--stories must be >= 0");
  if (flags.writer.out_path.empty()) return UsageError("--out is required");
  absl::StatusOr<CorpusSummary> sum = WriteCorpus(flags.writer);
  if (!sum.ok()) return sum.status();
  if (!flags.words_path.empty()) {
    std::string out = "# word\tcategory (every word the story grammar can emit)\n";
    for (const LexiconEntry& e : StoryGenerator::Vocabulary()) {
      absl::StrAppend(&out, e.word, "\t", e.category, "\n");
    }
    absl::Status s = WriteFileAtomic(flags.words_path, out);
    if (!s.ok()) return s;
  }
  if (JsonOutput()) {
    nlohmann::json j = {{"out", flags.writer.out_path},
                        {"stories", sum->stories},
                        {"bytes", sum->bytes},
                        {"generate_seconds", sum->generate_seconds},
                        {"categories", nullptr},
                        {"words", flags.words_path.empty() ? nlohmann::json(nullptr)
                                                           : nlohmann::json(flags.words_path)}};
    if (!flags.writer.categories_path.empty()) {
      nlohmann::json per = nlohmann::json::object();
      for (int32_t c = 0; c < sum->labels.size(); ++c) {
        per[std::string(sum->labels.NameOf(c))] = {
            {"ids", sum->ids_per_category.per_label[c]},
            {"tokens", sum->tokens_per_category.per_label[c]}};
      }
      per[std::string(kLabelMixedName)] = {{"ids", sum->ids_per_category.mixed},
                                           {"tokens", sum->tokens_per_category.mixed}};
      per[std::string(kLabelNoneName)] = {{"ids", sum->ids_per_category.none},
                                          {"tokens", sum->tokens_per_category.none}};
      j["categories"] = {{"path", flags.writer.categories_path},
                         {"tokens", sum->tokens},
                         {"distinct_tokens", sum->distinct_tokens},
                         {"per_category", per}};
    }
    PrintJson(j);
    return absl::OkStatus();
  }
  if (!flags.quiet) {
    std::fprintf(stderr, "wrote %lld stories, %lld bytes to %s (generated in %.3f s = %.1f MB/s)\n",
                 static_cast<long long>(sum->stories), static_cast<long long>(sum->bytes),
                 flags.writer.out_path.c_str(), sum->generate_seconds,
                 sum->generate_seconds > 0 ? sum->bytes / sum->generate_seconds / 1e6 : 0.0);
    if (!flags.writer.categories_path.empty()) {
      std::fprintf(stderr, "%lld tokens, %lld distinct ids; categories in %s\n",
                   static_cast<long long>(sum->tokens),
                   static_cast<long long>(sum->distinct_tokens),
                   flags.writer.categories_path.c_str());
      auto print = [](absl::string_view name, int64_t ids, int64_t tokens) {
        std::fprintf(stderr, "  %-12s ids %6lld  tokens %9lld\n", std::string(name).c_str(),
                     static_cast<long long>(ids), static_cast<long long>(tokens));
      };
      for (int32_t c = 0; c < sum->labels.size(); ++c) {
        print(sum->labels.NameOf(c), sum->ids_per_category.per_label[c],
              sum->tokens_per_category.per_label[c]);
      }
      print(kLabelMixedName, sum->ids_per_category.mixed, sum->tokens_per_category.mixed);
      print(kLabelNoneName, sum->ids_per_category.none, sum->tokens_per_category.none);
    }
  }
  return absl::OkStatus();
}

void AddFlags(CLI::App* gen, CorpusFlags* flags) {
  gen->add_option("--stories", flags->writer.num_stories, "Number of stories")
      ->capture_default_str();
  gen->add_option("--seed", flags->writer.seed, "PRNG seed (same seed, same text)")
      ->capture_default_str();
  gen->add_option("--out", flags->writer.out_path, "Output text file")->required();
  gen->add_option("--categories", flags->writer.categories_path,
                  "Also write the token-category TSV (token_id, token, category, count)");
  gen->add_option("--words", flags->words_path,
                  "Also write every word the grammar can emit (word<TAB>category)");
  gen->add_option("--tokenizer", flags->writer.tokenizer_dir,
                  "GPT-2 tokenizer directory for --categories (default: installed files)");
  gen->add_option("--threads", flags->writer.threads, "Tokenizer threads (0 = all cores)")
      ->capture_default_str();
  gen->add_flag("--quiet", flags->quiet, "Print no summary");
}

MONOROUTE_REGISTER_COMMAND(
    corpus, Command<CorpusFlags>(
                "corpus generate",
                "Write TinyStories-style stories (<|endoftext|> layout) from the story grammar",
                AddFlags, RunGenerate));

}  // namespace
}  // namespace monoroute::cli
