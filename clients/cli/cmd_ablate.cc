// `monoroute ablate --model DIR --data FILE --layer L --pathway P [--json]`: loss increase when
// one pathway of a routed checkpoint is disabled, on tokens routed to it versus all others.
#include <iostream>
#include <memory>
#include <string>

#include "absl/strings/str_format.h"
#include "clients/cli/command.h"
#include "common/engine/ablation.h"

namespace monoroute::cli {
namespace {

struct AblateOpts {
  engine::AblationOptions a;
  bool json = false;
};

MONOROUTE_REGISTER_COMMAND(ablate, [](CLI::App& app) {
  CLI::App* sub = app.add_subcommand("ablate", "Disable one pathway and measure the loss increase");
  auto o = std::make_shared<AblateOpts>();
  sub->add_option("--model", o->a.model_dir, "Routed checkpoint directory")->required();
  sub->add_option("--data", o->a.data_path, "Evaluation text (text or JSONL)")->required();
  sub->add_option("--layer", o->a.layer, "Routed layer (block index)")->required();
  sub->add_option("--pathway", o->a.pathway, "Pathway index")->required();
  sub->add_option("--format", o->a.format, "auto | text | jsonl")->capture_default_str();
  sub->add_option("--seq-len", o->a.seq_len, "Tokens per sequence")->capture_default_str();
  sub->add_option("--batch", o->a.batch_size, "Sequences per batch")->capture_default_str();
  sub->add_option("--max-batches", o->a.max_batches, "At most this many batches (0: all)")
      ->capture_default_str();
  sub->add_option("--tokenizer", o->a.tokenizer_dir, "Tokenizer dir (default: the model's)");
  sub->add_option("--device", o->a.device, "cpu | cuda[:N]")->capture_default_str();
  sub->add_option("--threads", o->a.threads, "CPU threads (0: every CPU available)");
  sub->add_flag("--json", o->json, "Print one JSON object");
  SetAction(sub, [o]() -> absl::Status {
    absl::StatusOr<engine::AblationResult> r = engine::RunPathwayAblation(o->a);
    if (!r.ok()) return r.status();
    if (o->json) {
      std::cout << engine::AblationResultToJson(*r) << "\n";
    } else {
      std::cout << absl::StrFormat(
          "layer %d pathway %d: %d tokens, %d selected\n"
          "loss %.4f -> %.4f when disabled\n"
          "mean increase: selected %.4f, other %.4f, ratio %.2f\n",
          r->layer, r->pathway, r->tokens, r->selected_tokens, r->base_loss, r->ablated_loss,
          r->selected_increase, r->other_increase, r->ratio);
    }
    return absl::OkStatus();
  });
});

}  // namespace
}  // namespace monoroute::cli
