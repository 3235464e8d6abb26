// The balancing study (`monoroute study balancing`): the same routed fine-tune with each balancing
// method (GLBL, micro-batch Switch LBL, aux-loss-free, none) over several seeds, each recorded with
// its controls in memory and analysed in-process, then one comparison: validation loss, MaxVio and
// every specialisation measure's excess over the controls, with intervals across seeds; each run
// stops when its routing saturates (or at a step cap), and one primary endpoint (category AMI
// excess over the trained-trunk fresh routers, per layer) is compared GLBL minus each other arm
// with paired-by-seed differences, an equivalence margin and the power the seeds give.
#ifndef MONOROUTE_CLIENTS_CLI_BALANCING_STUDY_H_
#define MONOROUTE_CLIENTS_CLI_BALANCING_STUDY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "services/analysis/layer_analysis.h"

namespace monoroute::cli {

struct BalancingStudyOptions {
  // Dense HF checkpoint every run fine-tunes (e.g. a TinyStories-1M download).
  std::string model_dir;
  // Training text and (optional) validation text; without valid_path the engine holds out
  // data.valid_fraction of the documents.
  std::string train_path;
  std::string valid_path;
  // Output directory: runs/<method>-seed<k>/ (checkpoints, the run's report, result.json),
  // study.json, study.png, study.md. A finished run is not redone (its result.json is read).
  std::string out_dir = "study";
  // Balancing methods compared (routing.balancing.method values).
  std::vector<std::string> methods = {"glbl", "switch", "aux_free", "none"};
  // Seeds per method (spec seed and data.seed = 1..seeds).
  int seeds = 3;
  // Step cap of each run (`--max-steps`; the LR schedule's length): a run stops earlier when its
  // routing saturates (see `saturation`).
  int64_t steps = 300;
  // Global batch (sequences per step, split over the ranks).
  int batch_size = 16;
  // Data-parallel local ranks per run (`--nproc-per-node`): GLBL balances over the global batch,
  // Switch LBL over each rank's micro-batch (batch_size / nproc_per_node).
  int nproc_per_node = 1;
  // Stopping rule: a checkpoint every `check_every` steps, each evaluated on `check_sequences`
  // validation sequences (0: all); the run stops at the first check where every routed layer's
  // top-k agreement with the previous check (on rank 0's share of those sequences) is >=
  // `saturation`, else at the step cap. check_every 0: no checks, every run to the cap.
  double saturation = 0.9;
  int64_t check_every = 50;
  int64_t check_sequences = 512;
  // Equivalence margin of the primary endpoint (category AMI excess over the trained-trunk fresh
  // routers, GLBL minus each other arm, paired by seed; study_endpoint.h).
  double margin = 0.01;
  int seq_len = 128;
  // Lexicon or token-categories TSV for the category measures ("" = none).
  std::string lexicon;
  // GPT-2 tokenizer directory for decoding top tokens ("" = model_dir's).
  std::string tokenizer_dir;
  // Training threads (0: every CPU).
  int threads = 0;
  // Extra `key.path=value` overrides applied to every run's job spec (e.g. optim.lr=5e-4).
  std::vector<std::string> overrides;
  // The statistics of each run's analysis.
  analysis::AnalysisOptions analysis;
  // Command of the ranks other than rank 0 (this process) with nproc_per_node > 1; empty: this
  // executable's `train` (tests name the built `monoroute` binary).
  std::vector<std::string> rank_command;
};

// Runs (or resumes) the study and writes its outputs; prints progress and the table to stdout.
// INVALID_ARGUMENT for bad options (naming them), otherwise the first failing run's error.
absl::Status RunBalancingStudy(const BalancingStudyOptions& options);

}  // namespace monoroute::cli

#endif  // MONOROUTE_CLIENTS_CLI_BALANCING_STUDY_H_
