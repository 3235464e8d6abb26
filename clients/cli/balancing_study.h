// The balancing study (`monoroute study balancing`): the same routed fine-tune with each balancing
// method (GLBL, micro-batch Switch LBL, aux-loss-free, none) over several seeds, each recorded with
// its controls in memory and analysed in-process, then one comparison: validation loss, MaxVio and
// every specialisation measure's excess over the controls, with intervals across seeds.
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
  // Fine-tune length and batch.
  int64_t steps = 300;
  int batch_size = 16;
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
};

// Runs (or resumes) the study and writes its outputs; prints progress and the table to stdout.
// INVALID_ARGUMENT for bad options (naming them), otherwise the first failing run's error.
absl::Status RunBalancingStudy(const BalancingStudyOptions& options);

}  // namespace monoroute::cli

#endif  // MONOROUTE_CLIENTS_CLI_BALANCING_STUDY_H_
