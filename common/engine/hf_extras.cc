// Model card, tokenizer_config.json and generation_config.json of a checkpoint.
#include "common/engine/hf_extras.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/base/file_util.h"
#include "common/base/status_macros.h"

namespace monoroute::engine {
namespace {

std::string RoutingSection(const model::GPTNeoConfig& c, const model::RoutingConfig& r) {
  return absl::StrCat(
      "## Pathway routing\n\n"
      "Routed layers ",
      absl::StrJoin(r.RoutedLayers(c.num_layers), ", "), ": the MLP's ", c.intermediate_size,
      " neurons are ", r.num_pathways, " pathways of ", c.intermediate_size / r.num_pathways,
      "; a router (", c.hidden_size, " -> ", r.router_hidden, " -> ", r.num_pathways, ", ",
      r.router_activation, ", temperature ", r.temperature, ") selects the top ", r.top_k,
      " per token (balancing: ", model::BalancingMethodName(r.balancing.method),
      ").\n\n"
      "The routed model needs the remote code shipped here (`configuration_monoroute.py`, "
      "`modeling_monoroute.py`, `routed_gpt_neo.py`):\n\n"
      "```python\n"
      "from transformers import AutoModelForCausalLM\n"
      "model = AutoModelForCausalLM.from_pretrained(DIR, trust_remote_code=True)\n"
      "out = model(ids, output_router_logits=True)   # out.router_logits: one per routed layer\n"
      "```\n\n"
      "or, without transformers, `monoroute_client.load_model(DIR)` (`generate`, "
      "`run_with_cache`, `steer`). Without `trust_remote_code` transformers loads the dense "
      "GPT-Neo and ignores the routers.\n\n");
}

}  // namespace

std::string ModelCardMarkdown(const model::GPTNeoConfig& c,
                              const std::optional<model::RoutingConfig>& routing,
                              const HfExtrasOptions& o) {
  std::string md = absl::StrCat(
      "---\nlibrary_name: transformers\npipeline_tag: text-generation\ntags:\n- monoroute\n- "
      "gpt_neo\n",
      routing.has_value() ? "- pathway-routing\n- mixture-of-experts\n" : "", "---\n\n# ",
      o.name.empty() ? "monoroute checkpoint" : o.name, "\n\n", "A GPT-Neo causal LM (",
      c.num_layers, " layers, hidden ", c.hidden_size, ", ", c.num_heads, " heads, MLP ",
      c.intermediate_size, ", vocabulary ", c.vocab_size, " (GPT-2 BPE), context ",
      c.max_position_embeddings, ")", routing.has_value() ? " with pathway-routed MLPs" : "",
      ", written by monoroute", o.kind.empty() ? "" : absl::StrCat(" (", o.kind, " job"),
      o.kind.empty() ? "" : ")", o.step > 0 ? absl::StrCat(" at step ", o.step) : "", ".\n\n");
  if (routing.has_value()) md += RoutingSection(c, *routing);
  md += "## Report\n\n";
  if (!o.headline.empty()) {
    absl::StrAppend(&md, o.headline, "\n");
  } else {
    md +=
        "Not computed when this checkpoint was written: `monoroute report RUN` (or "
        "`Client().compute_report(run)`) gives the monosemanticity report of the run that "
        "trained it.\n";
  }
  return md;
}

std::string WithReportSection(const std::string& card, const std::string& report_markdown) {
  static constexpr char kHeading[] = "## Report\n";
  size_t at = card.rfind(kHeading);
  // Only a heading at the start of a line counts.
  while (at != std::string::npos && at > 0 && card[at - 1] != '\n') {
    at = at == 0 ? std::string::npos : card.rfind(kHeading, at - 1);
  }
  std::string out = at == std::string::npos ? card : card.substr(0, at);
  if (!out.empty() && out.back() != '\n') out += "\n";
  if (at == std::string::npos && !out.empty()) out += "\n";
  absl::StrAppend(&out, kHeading, "\n", report_markdown);
  if (out.back() != '\n') out += "\n";
  return out;
}

absl::Status WriteHfExtras(const std::string& dir, const model::GPTNeoConfig& c,
                           const std::optional<model::RoutingConfig>& routing,
                           const HfExtrasOptions& o) {
  namespace fs = std::filesystem;
  const nlohmann::json tokenizer_config = {{"tokenizer_class", "GPT2Tokenizer"},
                                           {"bos_token", "<|endoftext|>"},
                                           {"eos_token", "<|endoftext|>"},
                                           {"unk_token", "<|endoftext|>"},
                                           {"add_prefix_space", false},
                                           {"errors", "replace"},
                                           {"model_max_length", c.max_position_embeddings}};
  const nlohmann::json generation_config = {{"bos_token_id", c.bos_token_id},
                                            {"eos_token_id", c.eos_token_id},
                                            {"pad_token_id", c.eos_token_id},
                                            {"max_length", c.max_position_embeddings},
                                            {"do_sample", false}};
  RETURN_IF_ERROR(
      WriteFileAtomic((fs::path(dir) / "README.md").string(), ModelCardMarkdown(c, routing, o)));
  RETURN_IF_ERROR(WriteFileAtomic((fs::path(dir) / "tokenizer_config.json").string(),
                                  tokenizer_config.dump(2) + "\n"));
  return WriteFileAtomic((fs::path(dir) / "generation_config.json").string(),
                         generation_config.dump(2) + "\n");
}

}  // namespace monoroute::engine
