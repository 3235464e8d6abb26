// The balancing study's training observer: collects each run's evaluation routing (the final
// "valid" split, its controls and the checkpoint evaluations "eval@step<N>") as routing tables,
// prints progress, and applies the study's stopping rule: at every checkpoint it compares the
// top-k sets of the evaluation tokens with those of the previous checkpoint and stops the run
// once every routed layer agrees >= the saturation threshold (docs/analysis.md, "Router
// saturation"; the rule is stated in the study's output).
#ifndef MONOROUTE_CLIENTS_CLI_STUDY_OBSERVER_H_
#define MONOROUTE_CLIENTS_CLI_STUDY_OBSERVER_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "common/engine/training_observer.h"
#include "services/analysis/router_saturation.h"
#include "services/analysis/routing_table.h"

namespace monoroute::cli {

// The stopping rule.
struct SaturationStop {
  // Stop when every routed layer's top-k agreement with the previous check is >= this (> 1:
  // never stop: run to the step cap).
  double threshold = 0.9;
};

// One check: per routed layer, the share of evaluation tokens whose top-k set equals the one at
// the previous check (NaN at the first check).
struct SaturationCheck {
  int64_t step = 0;
  int64_t previous_step = 0;
  std::map<uint32_t, double> agreement;
  // The smallest agreement over the layers (NaN at the first check).
  double min_agreement = analysis::kNaN;
};

// Training-thread only (rank 0 of the run).
class StudyObserver : public engine::TrainingObserver {
 public:
  StudyObserver(std::string name, uint32_t num_pathways, SaturationStop stop);
  bool WantsRoutingEvents() const override { return true; }
  void OnStep(const engine::StepReport& r) override;
  void OnRoutingEvents(const events::RoutingEventBatch& b) override;
  void OnCheckpoint(int64_t step, const std::string& dir, double seconds) override;
  // Runs a pending check (the routing of the checkpoint just evaluated) and says whether the rule
  // stops the run.
  bool ShouldStop() override;

  // Runs the check of the last checkpoint if it is still pending (the run's last step).
  void FinishChecks();
  // The first error of collecting the events (OK while fine).
  const absl::Status& status() const { return status_; }
  // The last logged step.
  const engine::StepReport& last() const { return last_; }
  // Whether the rule stopped the run, and the checks made.
  bool stopped() const { return stopped_; }
  const std::vector<SaturationCheck>& checks() const { return checks_; }
  // The table of (split, layer), empty when absent (leaves it empty).
  analysis::RoutingTable Take(const std::string& split, uint32_t layer);
  // The layers with events of `split`.
  std::vector<uint32_t> Layers(const std::string& split) const;
  // Router saturation of every checked checkpoint against the last one checked (the final
  // routing), with bootstrap intervals.
  absl::StatusOr<std::vector<analysis::SaturationPoint>> Saturation(
      const analysis::SaturationOptions& options) const;

 private:
  void Check(int64_t step);

  std::string name_;
  uint32_t num_pathways_;
  SaturationStop stop_;
  absl::Status status_;
  engine::StepReport last_;
  std::map<std::pair<std::string, uint32_t>, analysis::RoutingTableBuilder> builders_;
  int64_t pending_check_ = -1;
  bool stopped_ = false;
  std::vector<SaturationCheck> checks_;
  // Per checked step and layer, the evaluation routing.
  std::map<int64_t, std::map<uint32_t, analysis::RoutingTable>> checkpoint_tables_;
};

}  // namespace monoroute::cli

#endif  // MONOROUTE_CLIENTS_CLI_STUDY_OBSERVER_H_
