// StudyObserver: routing tables per (split, layer), progress lines, the saturation stopping rule.
#include "clients/cli/study_observer.h"

#include <algorithm>
#include <cmath>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace monoroute::cli {

StudyObserver::StudyObserver(std::string name, uint32_t num_pathways, SaturationStop stop)
    : name_(std::move(name)), num_pathways_(num_pathways), stop_(stop) {}

void StudyObserver::OnStep(const engine::StepReport& r) {
  last_ = r;
  if (r.step % 50 == 0 || r.step == r.total_steps) {
    double vio = 0;
    for (const auto& b : r.balance) vio = std::max(vio, b.max_violation);
    std::cout << absl::StrFormat(
                     "  [%s] step %d/%d lm %.4f max MaxVio %.2f, %.0f tok/s (%d ranks)\n", name_,
                     r.step, r.total_steps, r.lm_loss, vio, r.tokens_per_s, r.world_size)
              << std::flush;
  }
}

void StudyObserver::OnRoutingEvents(const events::RoutingEventBatch& b) {
  if (!status_.ok() || b.header.split == "train") return;
  auto key = std::make_pair(b.header.split, b.header.layer);
  auto it = builders_.find(key);
  if (it == builders_.end()) {
    absl::StatusOr<analysis::RoutingTableBuilder> nb =
        analysis::RoutingTableBuilder::Create(num_pathways_, b.header.top_k);
    if (!nb.ok()) {
      status_ = nb.status();
      return;
    }
    it = builders_.emplace(key, *std::move(nb)).first;
  }
  const size_t n = b.token_id.size();
  status_ = it->second.Add(n, b.sequence_id.data(), b.token_id.data(), b.pathways.data(),
                           b.position.size() == n ? b.position.data() : nullptr,
                           b.next_token_id.size() == n ? b.next_token_id.data() : nullptr);
}

void StudyObserver::OnCheckpoint(int64_t step, const std::string&, double) {
  // Its evaluation runs after this call: checked at the next poll.
  FinishChecks();
  pending_check_ = step;
}

bool StudyObserver::ShouldStop() {
  FinishChecks();
  return stopped_;
}

void StudyObserver::FinishChecks() {
  if (pending_check_ < 0) return;
  const int64_t step = pending_check_;
  if (Layers(analysis::CheckpointEvalSplit(step)).empty()) return;  // not evaluated yet
  pending_check_ = -1;
  Check(step);
}

void StudyObserver::Check(int64_t step) {
  const std::string split = analysis::CheckpointEvalSplit(step);
  SaturationCheck c;
  c.step = step;
  const auto prev =
      checkpoint_tables_.empty() ? checkpoint_tables_.end() : std::prev(checkpoint_tables_.end());
  if (prev != checkpoint_tables_.end()) c.previous_step = prev->first;
  std::map<uint32_t, analysis::RoutingTable>& tables = checkpoint_tables_[step];
  for (uint32_t layer : Layers(split)) tables[layer] = Take(split, layer);
  if (prev != checkpoint_tables_.end()) {
    double min_agreement = 1.0;
    for (const auto& [layer, table] : tables) {
      auto p = prev->second.find(layer);
      if (p == prev->second.end()) continue;
      absl::StatusOr<analysis::LayerSaturation> s =
          analysis::TopKAgreement(table, p->second, analysis::SaturationOptions{0});
      if (!s.ok()) {
        status_ = s.status();
        return;
      }
      c.agreement[layer] = s->saturation;
      min_agreement = std::min(min_agreement, s->saturation);
    }
    if (!c.agreement.empty()) c.min_agreement = min_agreement;
  }
  std::string line = absl::StrFormat("  [%s] check at step %d:", name_, step);
  if (std::isfinite(c.min_agreement)) {
    for (const auto& [layer, a] : c.agreement)
      absl::StrAppend(&line, absl::StrFormat(" L%d %.3f", layer, a));
    stopped_ = c.min_agreement >= stop_.threshold;
    absl::StrAppend(&line, absl::StrFormat(" (top-k agreement with step %d; min %.3f %s %.2f%s)",
                                           c.previous_step, c.min_agreement, stopped_ ? ">=" : "<",
                                           stop_.threshold, stopped_ ? ": stop" : ""));
  } else {
    absl::StrAppend(&line, " first check");
  }
  std::cout << line << std::endl;
  checks_.push_back(std::move(c));
}

analysis::RoutingTable StudyObserver::Take(const std::string& split, uint32_t layer) {
  auto it = builders_.find({split, layer});
  if (it == builders_.end()) return analysis::RoutingTable{};
  analysis::RoutingTable t = it->second.Build();
  builders_.erase(it);
  return t;
}

std::vector<uint32_t> StudyObserver::Layers(const std::string& split) const {
  std::vector<uint32_t> out;
  for (const auto& [key, b] : builders_) {
    if (key.first == split && b.events() > 0) out.push_back(key.second);
  }
  return out;
}

absl::StatusOr<std::vector<analysis::SaturationPoint>> StudyObserver::Saturation(
    const analysis::SaturationOptions& options) const {
  if (checkpoint_tables_.empty()) return std::vector<analysis::SaturationPoint>{};
  return analysis::RouterSaturation(checkpoint_tables_, checkpoint_tables_.rbegin()->second,
                                    options);
}

}  // namespace monoroute::cli
