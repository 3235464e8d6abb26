// The Hugging Face side files of a checkpoint besides config.json and the weights: a model card
// (README.md), tokenizer_config.json (GPT-2 BPE) and generation_config.json, so `AutoTokenizer`,
// `generate()` and the Hub show the checkpoint properly. Written by the training loop into every
// checkpoint it saves (common/engine/train.cc). Torch-free header.
#ifndef MONOROUTE_COMMON_ENGINE_HF_EXTRAS_H_
#define MONOROUTE_COMMON_ENGINE_HF_EXTRAS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "common/model/gpt_neo_config.h"
#include "common/model/routing_config.h"

namespace monoroute::engine {

// What the model card says besides the configuration.
struct HfExtrasOptions {
  // Training step of the checkpoint (0: not stated).
  int64_t step = 0;
  // The job's kind ("pretrain" | "finetune"; empty: not stated).
  std::string kind;
  // The job's display name (empty: not stated).
  std::string name;
  // The analysis report's headline (e.g. from `monoroute report`); empty: the card says how to
  // compute the report instead.
  std::string headline;
};

// The model card's Markdown (YAML front matter with library_name / tags / pipeline_tag, the
// architecture and routing, how to load it, the headline).
std::string ModelCardMarkdown(const model::GPTNeoConfig& config,
                              const std::optional<model::RoutingConfig>& routing,
                              const HfExtrasOptions& options);

// `card` (a model card from ModelCardMarkdown) with its "## Report" section replaced by
// `report_markdown` (appended as that section when the card has none). Pure.
std::string WithReportSection(const std::string& card, const std::string& report_markdown);

// Writes dir/README.md, dir/tokenizer_config.json and dir/generation_config.json (atomically
// each; `dir` must exist). INTERNAL naming the file when one cannot be written.
absl::Status WriteHfExtras(const std::string& dir, const model::GPTNeoConfig& config,
                           const std::optional<model::RoutingConfig>& routing,
                           const HfExtrasOptions& options);

}  // namespace monoroute::engine

#endif  // MONOROUTE_COMMON_ENGINE_HF_EXTRAS_H_
