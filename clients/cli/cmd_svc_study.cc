// `monoroute study balancing`: the same routed fine-tune with GLBL, Switch LBL, aux-loss-free and
// no balancing over several seeds (each run data-parallel with --nproc-per-node ranks, stopped when
// its routing saturates or at --max-steps), each analysed with its controls, compared in one report
// with one primary endpoint (GLBL minus each arm, paired by seed, TOST against --margin)
// (study.json, study.md, study.png). In-process: needs the engine and analysis_core (built with
// the services), no running service. With --output json, the progress goes to stderr and
// study.json (with the paths written) is printed on stdout.
#include <iostream>
#include <memory>

#include "clients/cli/balancing_study.h"
#include "clients/cli/command.h"
#include "common/base/file_util.h"
#include "common/base/status_macros.h"

namespace monoroute::cli {
namespace {

// Runs the study; with --output json prints study.json with the paths written.
absl::Status RunStudy(BalancingStudyOptions& o) {
  if (o.tokenizer_dir.empty()) o.tokenizer_dir = o.model_dir;
  RETURN_IF_ERROR(RunBalancingStudy(o));
  if (JsonOutput()) {
    const std::string json_path = o.out_dir + "/study.json";
    ASSIGN_OR_RETURN(std::string text, ReadFile(json_path));
    PrintJson({{"study_json", json_path},
               {"study_md", o.out_dir + "/study.md"},
               {"study_png", o.out_dir + "/study.png"},
               {"study", nlohmann::json::parse(text)}});
  }
  return absl::OkStatus();
}

void AddFlags(CLI::App* sub, BalancingStudyOptions* o) {
  sub->add_option("--model", o->model_dir, "dense HF checkpoint to fine-tune")->required();
  sub->add_option("--data", o->train_path, "training text")->required();
  sub->add_option("--valid", o->valid_path, "validation text (default: a held-out share)");
  sub->add_option("--out", o->out_dir, "output directory (reruns resume)")->capture_default_str();
  sub->add_option("--methods", o->methods, "balancing methods")
      ->delimiter(',')
      ->capture_default_str();
  sub->add_option("--seeds", o->seeds, "seeds per method")->capture_default_str();
  sub->add_option("--max-steps,--steps", o->steps,
                  "step cap per run (and the LR schedule's length)")
      ->capture_default_str();
  sub->add_option("--batch-size", o->batch_size, "sequences per step (the global batch)")
      ->capture_default_str();
  sub->add_option("--nproc-per-node", o->nproc_per_node,
                  "data-parallel local ranks per run (GLBL: global batch; Switch: micro-batch)")
      ->capture_default_str();
  sub->add_option(
         "--saturation", o->saturation,
         "stop a run when every layer's top-k agreement with the previous check is >= this")
      ->capture_default_str();
  sub->add_option("--check-every", o->check_every,
                  "steps between saturation checks (0: no checks, run to the cap)")
      ->capture_default_str();
  sub->add_option("--check-sequences", o->check_sequences,
                  "validation sequences evaluated at each check (0: all)")
      ->capture_default_str();
  sub->add_option("--margin", o->margin, "equivalence margin of the primary endpoint")
      ->capture_default_str();
  sub->add_option("--seq-len", o->seq_len, "tokens per sequence")->capture_default_str();
  sub->add_option("--lexicon", o->lexicon,
                  "lexicon dir/TSV or token-categories TSV for the category measures");
  sub->add_option("--tokenizer", o->tokenizer_dir, "GPT-2 tokenizer dir (default: the model's)");
  sub->add_option("--threads", o->threads, "training threads (0: every CPU)");
  sub->add_option("--set", o->overrides, "job spec override key.path=value (repeatable)");
  sub->add_option("--bootstrap", o->analysis.bootstrap, "bootstrap replicates per run")
      ->capture_default_str();
  sub->add_option("--seed", o->analysis.seed, "analysis seed")->capture_default_str();
  sub->add_option("--category-permutations", o->analysis.category_permutations,
                  "label permutations of each run's category test")
      ->capture_default_str();
}

MONOROUTE_REGISTER_COMMAND(
    study_balancing,
    Command<BalancingStudyOptions>(
        "study balancing",
        "GLBL vs Switch LBL vs aux-loss-free vs none: loss, balance, specialisation", AddFlags,
        RunStudy));

}  // namespace
}  // namespace monoroute::cli
