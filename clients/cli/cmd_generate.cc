// `monoroute generate --model DIR --prompt TEXT [--max-new-tokens N] [--temperature T] [--top-k N]
// [--seed S] [--ablate L:P ...] [--scale L:P=x ...] [--output json]`: continues the prompt with
// the checkpoint, optionally steered (pathways disabled or scaled). Text output: the prompt and
// the continuation; JSON: {"text", "ids", "prompt_ids", "tokens": [{"id", "text", "routing":
// [{"layer", "pathways", "weights"}]}]}. The sampler equals the Python client's
// (monoroute_client.sampling): the same seed gives the same tokens.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "clients/cli/command.h"
#include "common/base/status_macros.h"
#include "common/engine/generate.h"

namespace monoroute::cli {
namespace {

struct GenerateFlags {
  engine::GenerateOptions g;
  std::vector<std::string> ablate;  // "L:P"
  std::vector<std::string> scale;   // "L:P=x"
};

absl::Status RunGenerate(GenerateFlags& f) {
  for (const std::string& a : f.ablate) {
    ASSIGN_OR_RETURN(auto ref, engine::ParsePathwayRef(a, "--ablate"));
    f.g.ablate.push_back(ref);
  }
  for (const std::string& s : f.scale) {
    ASSIGN_OR_RETURN(engine::PathwayScale sc, engine::ParsePathwayScale(s, "--scale"));
    f.g.scale.push_back(sc);
  }
  ASSIGN_OR_RETURN(engine::GenerateResult r, engine::Generate(f.g));
  return PrintResult(nlohmann::json::parse(engine::GenerateResultToJson(r)),
                     absl::StrCat(f.g.prompt, r.text, "\n"));
}

void AddFlags(CLI::App* sub, GenerateFlags* f) {
  sub->add_option("--model", f->g.model_dir, "Checkpoint directory")->required();
  sub->add_option("--prompt", f->g.prompt, "Prompt text")->required();
  sub->add_option("--max-new-tokens", f->g.max_new_tokens, "Tokens to generate")
      ->capture_default_str();
  sub->add_option("--temperature", f->g.temperature, "0: greedy; > 0: sampling")
      ->capture_default_str();
  sub->add_option("--top-k", f->g.top_k, "Sample among the k most likely tokens (0: all)")
      ->capture_default_str();
  sub->add_option("--seed", f->g.seed, "Seed of the sampler (same tokens as the Python client)")
      ->capture_default_str();
  sub->add_option("--ablate", f->ablate, "Disable pathway LAYER:PATHWAY (repeatable)");
  sub->add_option("--scale", f->scale, "Scale pathway LAYER:PATHWAY=FACTOR (repeatable)");
  sub->add_flag("--stop-at-eot", f->g.stop_at_eot, "Stop after <|endoftext|>");
  sub->add_option("--tokenizer", f->g.tokenizer_dir, "Tokenizer dir (default: the model's)");
  sub->add_option("--device", f->g.device, "cpu | cuda[:N]")->capture_default_str();
  sub->add_option("--threads", f->g.threads, "CPU threads (0: every CPU available)")
      ->capture_default_str();
}

MONOROUTE_REGISTER_COMMAND(
    generate,
    Command<GenerateFlags>(
        "generate", "Continue a prompt with a checkpoint, optionally with pathways off or scaled",
        AddFlags, RunGenerate));

}  // namespace
}  // namespace monoroute::cli
