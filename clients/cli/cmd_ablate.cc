// `monoroute ablate --model DIR --data FILE --layer L --pathway P [--controls N] [--bootstrap B]
// [--seed S] [--top-tokens N] [--lexicon DIR [--min-category-tokens N]] [--save] [--output json]`:
// mean loss increase on the tokens routed to one pathway when it is disabled, against load-matched
// control pathways, with bootstrap intervals; with a lexicon also per category of the current
// token.
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "clients/cli/command.h"
#include "common/base/file_util.h"
#include "common/base/status_macros.h"
#include "common/engine/ablation.h"
#include "services/analysis/explorer/pathway_ablation.h"

namespace monoroute::cli {
namespace {

struct AblateOpts {
  engine::AblationOptions a;
  // Also store the JSON result beside the checkpoint, where the explorer's pathway page reads it.
  bool save = false;
};

// "d [low, high] (se s)" or "d (no interval)".
std::string FormatDifference(const engine::BootstrapDifference& d) {
  if (d.replicates == 0) return absl::StrFormat("%+.4f (no interval)", d.estimate);
  return absl::StrFormat("%+.4f, 95%% CI [%+.4f, %+.4f], SE %.4f", d.estimate, d.low, d.high, d.se);
}

// The per-category table (empty without a lexicon).
std::string FormatCategories(const engine::AblationResult& r) {
  if (r.category_source.empty()) return "";
  std::string s = absl::StrFormat(
      "per category of the current token (%s; null: the load-matched controls on their tokens "
      "of the category; chance level 0; at least %d routed tokens):\n",
      r.category_source, r.min_category_tokens);
  for (const engine::AblationCategoryEffect& c : r.categories) {
    absl::StrAppendFormat(&s, "  %-14s %7d tokens, increase %+.4f; controls %d tokens, %+.4f; ",
                          c.category, c.tokens, c.target_increase, c.control_tokens,
                          c.control_increase);
    s += c.status == "ok" ? "difference " + FormatDifference(c.difference) : c.status;
    s += "\n";
  }
  return s;
}

std::string FormatText(const engine::AblationResult& r) {
  std::string controls;
  for (const engine::AblationControl& c : r.controls) {
    absl::StrAppendFormat(&controls, "%s%d (load %d, effect %+.4f)", controls.empty() ? "" : ", ",
                          c.pathway, c.load, c.effect);
  }
  std::string s = absl::StrFormat(
      "layer %d pathway %d: %d tokens in %d sequences, %d routed to the pathway\n"
      "loss %.4f -> %.4f when disabled\n"
      "target effect (mean increase on its routed tokens)  %+.4f\n"
      "control effect (mean over %d load-matched controls) %+.4f\n"
      "  controls: %s\n"
      "effect difference  %s\n",
      r.layer, r.pathway, r.tokens, r.sequences, r.selected_tokens, r.base_loss, r.ablated_loss,
      r.target_effect, r.controls.size(), r.control_effect, controls,
      FormatDifference(r.effect_difference));
  absl::StrAppendFormat(&s,
                        "top %d token ids [%s]: %d tokens, increase %+.4f; other routed tokens: "
                        "%d, increase %+.4f\n"
                        "top vs other routed  %s\n",
                        r.top_token_ids.size(), absl::StrJoin(r.top_token_ids, ","),
                        r.top_token_count, r.top_increase, r.rest_token_count, r.rest_increase,
                        FormatDifference(r.top_vs_rest));
  absl::StrAppendFormat(&s,
                        "not routed to the pathway (not a control, perturbed only indirectly): "
                        "increase %+.4f\n"
                        "intervals: percentile, block bootstrap over sequences, %d replicates, "
                        "seed %d\n",
                        r.other_increase, r.bootstrap, r.seed);
  return s + FormatCategories(r);
}

absl::Status RunAblate(const AblateOpts& o) {
  absl::StatusOr<engine::AblationResult> r = engine::RunPathwayAblation(o.a);
  if (!r.ok()) return r.status();
  if (o.save) {
    const std::string path = analysis::explorer::AblationResultPath(
        o.a.model_dir, static_cast<uint32_t>(r->layer), static_cast<uint32_t>(r->pathway));
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
    RETURN_IF_ERROR(WriteFileAtomic(path, engine::AblationResultToJson(*r)));
    std::cerr << "saved " << path << "\n";
  }
  return PrintResult(nlohmann::json::parse(engine::AblationResultToJson(*r)), FormatText(*r));
}

void AddFlags(CLI::App* sub, AblateOpts* o) {
  sub->add_option("--model", o->a.model_dir, "Routed checkpoint directory")->required();
  sub->add_option("--data", o->a.data_path, "Evaluation text (text or JSONL)")->required();
  sub->add_option("--layer", o->a.layer, "Routed layer (block index)")->required();
  sub->add_option("--pathway", o->a.pathway, "Pathway index")->required();
  sub->add_option("--controls", o->a.num_controls,
                  "Load-matched control pathways (1 .. num_pathways - 1)")
      ->capture_default_str();
  sub->add_option("--bootstrap", o->a.bootstrap, "Bootstrap replicates (0: no intervals)")
      ->capture_default_str();
  sub->add_option("--seed", o->a.seed, "Seed of the bootstrap and of control tie-breaking")
      ->capture_default_str();
  sub->add_option("--top-tokens", o->a.top_tokens,
                  "Most frequent token ids of the routed tokens compared with the rest")
      ->capture_default_str();
  sub->add_option("--lexicon", o->a.lexicon,
                  "Word lexicon (.tsv or directory, e.g. data/lexicon) or token-categories TSV: "
                  "also report the effect per category of the current token");
  sub->add_option("--min-category-tokens", o->a.min_category_tokens,
                  "Routed tokens a category needs for its effect (fewer: listed as too few)")
      ->capture_default_str();
  sub->add_option("--format", o->a.format, "auto | text | jsonl")->capture_default_str();
  sub->add_option("--seq-len", o->a.seq_len, "Tokens per sequence (one bootstrap block)")
      ->capture_default_str();
  sub->add_option("--batch", o->a.batch_size, "Sequences per batch")->capture_default_str();
  sub->add_option("--max-batches", o->a.max_batches, "At most this many batches (0: all)")
      ->capture_default_str();
  sub->add_option("--tokenizer", o->a.tokenizer_dir, "Tokenizer dir (default: the model's)");
  sub->add_option("--device", o->a.device, "cpu | cuda[:N]")->capture_default_str();
  sub->add_option("--threads", o->a.threads, "CPU threads (0: every CPU available)");
  sub->add_flag("--save", o->save,
                "Also write the JSON result to MODEL/ablations/layerL_pathwayP.json (shown on the "
                "explorer's pathway page)");
}

MONOROUTE_REGISTER_COMMAND(
    ablate,
    Command<AblateOpts>(
        "ablate", "Disable one pathway and compare its loss effect with load-matched controls",
        AddFlags, RunAblate));

}  // namespace
}  // namespace monoroute::cli
