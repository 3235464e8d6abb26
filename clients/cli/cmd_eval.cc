// `monoroute eval --model DIR --data FILE [--seq-len 256] [--output json]`: mean next-token loss of
// a checkpoint on a text file.
#include <iostream>
#include <memory>
#include <string>

#include "absl/strings/str_format.h"
#include "clients/cli/command.h"
#include "common/engine/evaluate.h"

namespace monoroute::cli {
namespace {

struct EvalOpts {
  engine::EvaluateOptions e;
};

absl::Status RunEval(const EvalOpts& o) {
  absl::StatusOr<engine::EvaluateResult> r = engine::EvaluateModel(o.e);
  if (!r.ok()) return r.status();
  return PrintResult(
      nlohmann::json::parse(engine::EvaluateResultToJson(o.e, *r)),
      absl::StrFormat("%s model: loss %.4f nats/token, perplexity %.2f over %d "
                      "tokens\n",
                      r->routed ? "routed" : "dense", r->loss, r->perplexity, r->tokens));
}

void AddFlags(CLI::App* sub, EvalOpts* o) {
  sub->add_option("--model", o->e.model_dir, "Checkpoint directory (dense or routed)")->required();
  sub->add_option("--data", o->e.data_path, "Evaluation text (text or JSONL)")->required();
  sub->add_option("--format", o->e.format, "auto | text | jsonl")->capture_default_str();
  sub->add_option("--seq-len", o->e.seq_len, "Tokens per window")->capture_default_str();
  sub->add_option("--batch", o->e.batch_size, "Windows per batch")->capture_default_str();
  sub->add_option("--max-batches", o->e.max_batches, "At most this many batches (0: all)")
      ->capture_default_str();
  sub->add_flag("--dense-only", o->e.dense_only, "Evaluate only the dense part of a routed model");
  sub->add_option("--tokenizer", o->e.tokenizer_dir, "Tokenizer dir (default: the model's)");
  sub->add_option("--device", o->e.device, "cpu | cuda[:N]")->capture_default_str();
  sub->add_option("--precision", o->e.precision, "auto | fp32 | bf16")->capture_default_str();
  sub->add_option("--threads", o->e.threads, "CPU threads (0: every CPU available)");
}

MONOROUTE_REGISTER_COMMAND(eval, Command<EvalOpts>("eval",
                                                   "Validation loss of a checkpoint on a text file",
                                                   AddFlags, RunEval));

}  // namespace
}  // namespace monoroute::cli
