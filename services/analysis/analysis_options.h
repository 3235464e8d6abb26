// AnalysisOptions: the knobs of the statistics (docs/analysis.md), and their validation.
#ifndef MONOROUTE_SERVICES_ANALYSIS_ANALYSIS_OPTIONS_H_
#define MONOROUTE_SERVICES_ANALYSIS_ANALYSIS_OPTIONS_H_

#include <cstdint>

#include "absl/status/status.h"

namespace monoroute::analysis {

// Knobs of the statistics; every field has a usable default.
struct AnalysisOptions {
  // Top tokens listed per pathway (ranked by lift, see min_lift_count).
  int top_tokens = 10;
  // A pathway is "utilised" when its load share is >= utilisation_threshold / P.
  double utilisation_threshold = 0.1;
  // Per-token specialisation considers tokens with at least this many events.
  uint64_t min_token_count = 10;
  // Top tokens by lift only list tokens routed to the pathway at least this many times.
  uint64_t min_lift_count = 10;
  // Replicates of the routing null (top-k sets permuted within sequences); >= 2.
  int null_replicates = 8;
  // Block-bootstrap replicates behind every interval and flag (0: no intervals, no flags).
  int bootstrap = 200;
  // Fewer sequences (blocks) than this: no intervals (the bootstrap would be meaningless).
  int min_blocks = 10;
  // Label permutations of the category null (0: no category tests); raised to 2 P / fdr - 1 when
  // fewer, so that a lone category-specialised pathway can pass the FDR control.
  int category_permutations = 999;
  // Token types per frequency stratum of the category null: labels are permuted only among
  // about this many types of adjacent frequency rank, so frequency cannot pass for a category
  // (docs/analysis.md: at 20 a smooth frequency trend inside a stratum still leaked).
  int category_stratum_types = 5;
  // Smallest KL excess (nats) a pathway must exceed, by its lower confidence bound, to be
  // `specialised_vs_null`.
  double min_effect_nats = 0.1;
  // Smallest difference between a pathway's KL excess as a share of its own ceiling
  // -ln(k * load share) and the control's load-weighted typical share, by its lower bound, to be
  // `specialised_vs_control`.
  double min_effect_share = 0.05;
  // A source (token, previous token, ..., a conditional) "explains" routing when the lower bound
  // of its excess (nats) exceeds this (the point excess without a bootstrap).
  double min_source_nats = 0.005;
  // Smallest enrichment (see PathwayResult::enrichment) of a `category_specialised` pathway.
  double min_category_enrichment = 1.5;
  // False-discovery rate controlled over a layer's pathways (Benjamini-Hochberg).
  double fdr = 0.05;
  // Confidence level of every interval.
  double confidence = 0.95;
  // Seed of every random draw (results are deterministic given the seed).
  uint64_t seed = 1;
  // Step ranges of the over-training summary (0: none).
  int training_ranges = 4;
  // Threads used to analyse layers in parallel (0: hardware concurrency).
  int threads = 0;
  // Events of one layer (and selection) read at most; more is RESOURCE_EXHAUSTED.
  uint64_t max_events_per_layer = 50000000;
  // The fixed-N estimand: every excess of a layer, its controls and its step ranges is computed
  // on the same whole sequences, at most this many events (`events_used`; 0: the smallest
  // table's events, no cap). Raise it for narrower intervals at a proportional cost.
  uint64_t estimand_events = 250000;
  // Measure the sources (previous / next token, position, conditionals).
  bool sources = true;
  // Build and analyse the synthetic hash-of-current-token (positive) and hash-of-previous-token
  // (negative) control routings of every layer.
  bool synthetic_controls = true;
  // Largest number of events a report reads (every layer, split and control split); checked
  // before reading, more is RESOURCE_EXHAUSTED with the numbers.
  uint64_t max_report_events = 60000000;
  // Largest report work (event counting passes, EstimateReportWork) accepted before any event is
  // read; more is RESOURCE_EXHAUSTED with the numbers.
  double max_report_work = 2e11;
};

// INVALID_ARGUMENT naming the option when a knob is out of range.
absl::Status ValidateAnalysisOptions(const AnalysisOptions& options);

}  // namespace monoroute::analysis

#endif  // MONOROUTE_SERVICES_ANALYSIS_ANALYSIS_OPTIONS_H_
