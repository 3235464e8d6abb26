// Corpus generation to files, with optional token labelling.
#include "common/corpus/corpus_writer.h"

#include <chrono>
#include <memory>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/base/file_util.h"
#include "common/corpus/story_generator.h"
#include "common/corpus/token_labels.h"
#include "common/tokenizer/gpt2_tokenizer.h"

namespace monoroute {

absl::StatusOr<CorpusSummary> WriteCorpus(const CorpusWriterOptions& options) {
  if (options.num_stories < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("number of stories must be >= 0, got ", options.num_stories));
  }
  if (options.out_path.empty()) return absl::InvalidArgumentError("no output path given");
  std::unique_ptr<Gpt2Tokenizer> tokenizer;
  if (!options.categories_path.empty()) {
    Gpt2TokenizerOptions topts;
    topts.dir = options.tokenizer_dir;
    absl::StatusOr<std::unique_ptr<Gpt2Tokenizer>> t = Gpt2Tokenizer::Create(topts);
    if (!t.ok()) return t.status();
    tokenizer = std::move(*t);
  }
  StoryGeneratorOptions gopts;
  gopts.seed = options.seed;
  absl::StatusOr<std::unique_ptr<StoryGenerator>> gen = StoryGenerator::Create(gopts);
  if (!gen.ok()) return gen.status();

  CorpusSummary sum;
  std::string text;
  StoryTrace trace;
  const auto t0 = std::chrono::steady_clock::now();
  (*gen)->AppendStories(options.num_stories, &text, tokenizer ? &trace : nullptr);
  sum.generate_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  sum.stories = options.num_stories;
  sum.bytes = static_cast<int64_t>(text.size());
  sum.words = static_cast<int64_t>(trace.words.size());
  sum.sentences = static_cast<int64_t>(trace.template_ids.size());
  absl::Status s = WriteFileAtomic(options.out_path, text);
  if (!s.ok()) return s;
  if (!tokenizer) return sum;

  absl::StatusOr<LabeledTokens> labeled = LabelTokens(text, trace, *tokenizer, options.threads);
  if (!labeled.ok()) return labeled.status();
  TokenCategories tc = MajorityCategories(*labeled, tokenizer->vocab_size());
  absl::flat_hash_set<int32_t> distinct(labeled->ids.begin(), labeled->ids.end());
  sum.tokens = static_cast<int64_t>(labeled->ids.size());
  sum.distinct_tokens = static_cast<int64_t>(distinct.size());
  sum.labels = tc.labels;
  sum.ids_per_category = LabelCounts(tc.labels.size());
  sum.tokens_per_category = LabelCounts(tc.labels.size());
  // Ids per category over the ids that occur (unseen ids are not counted as none).
  for (int32_t id : distinct) sum.ids_per_category.Add(tc.Get(id));
  for (int32_t label : labeled->token_labels) sum.tokens_per_category.Add(label);
  s = tc.WriteTsv(options.categories_path, *tokenizer);
  if (!s.ok()) return s;
  return sum;
}

}  // namespace monoroute
