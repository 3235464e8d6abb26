// LayerEvents lookups and LayerEventsBuilder: validation, then one sort by (sequence, position,
// step descending) and a gather into the columnar layout.
#include "services/analysis/explorer/run_events.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "services/analysis/pathway_mask.h"

namespace monoroute::analysis::explorer {

int LayerEvents::RankOf(size_t i, uint32_t pathway) const {
  int slot = -1;
  for (uint32_t j = 0; j < top_k; ++j) {
    if (pathways[i * top_k + j] == pathway) slot = static_cast<int>(j);
  }
  if (slot < 0) return 0;
  // By gate, not by slot: a writer need not store the top-k in descending order. Ties keep the
  // recorded order.
  const float g = weights[i * top_k + slot];
  int rank = 1;
  for (uint32_t j = 0; j < top_k; ++j) {
    const float o = weights[i * top_k + j];
    if (o > g || (o == g && static_cast<int>(j) < slot)) ++rank;
  }
  return rank;
}

float LayerEvents::GateOf(size_t i, uint32_t pathway) const {
  for (uint32_t j = 0; j < top_k; ++j) {
    if (pathways[i * top_k + j] == pathway) return weights[i * top_k + j];
  }
  return 0.0f;
}

size_t LayerEvents::Find(uint64_t seq, uint32_t pos) const {
  size_t lo = 0, hi = size();
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if (sequence_id[mid] < seq || (sequence_id[mid] == seq && position[mid] < pos)) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo < size() && sequence_id[lo] == seq && position[lo] == pos) return lo;
  return size();
}

const LayerEvents* RunEvents::Layer(uint32_t layer) const {
  for (const LayerEvents& l : layers) {
    if (l.layer == layer) return &l;
  }
  return nullptr;
}

const LayerEvents* RunEvents::NextLayer(uint32_t layer) const {
  for (size_t i = 0; i + 1 < layers.size(); ++i) {
    if (layers[i].layer == layer) return &layers[i + 1];
  }
  return nullptr;
}

size_t RunEvents::TotalEvents() const {
  size_t n = 0;
  for (const LayerEvents& l : layers) n += l.size();
  return n;
}

std::vector<std::string> RunEvents::ControlSplits() const {
  std::vector<std::string> out;
  const std::string prefix = split + "/";
  for (const std::string& s : splits) {
    if (s.size() > prefix.size() && s.compare(0, prefix.size(), prefix) == 0) out.push_back(s);
  }
  return out;
}

LayerEventsBuilder::LayerEventsBuilder(uint32_t layer, uint32_t num_pathways, uint32_t top_k) {
  raw_.layer = layer;
  raw_.num_pathways = num_pathways;
  raw_.top_k = top_k;
}

absl::StatusOr<LayerEventsBuilder> LayerEventsBuilder::Create(uint32_t layer, uint32_t num_pathways,
                                                              uint32_t top_k) {
  if (absl::Status s = CheckLayerShape(num_pathways, top_k); !s.ok()) return s;
  return LayerEventsBuilder(layer, num_pathways, top_k);
}

absl::Status LayerEventsBuilder::Add(const events::EventColumnsView& c,
                                     absl::Span<const uint64_t> step) {
  const size_t n = c.num_events();
  const uint32_t k = raw_.top_k;
  if (events() + n > max_events_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("layer ", raw_.layer, ": more than ", max_events_, " events (max_events)"));
  }
  if (step.size() != n) {
    return absl::InvalidArgumentError(
        absl::StrCat("step has ", step.size(), " entries, token_id has ", n));
  }
  RETURN_IF_ERROR(events::CheckColumnLengths(c, k));
  for (size_t i = 0; i < n; ++i) {
    uint64_t seen[kMaxMaskWords] = {0, 0, 0, 0};
    for (uint32_t j = 0; j < k; ++j) {
      const uint32_t p = c.pathways[i * k + j];
      if (p >= raw_.num_pathways) {
        return absl::InvalidArgumentError(absl::StrCat("event ", events() + i, ": pathways[", j,
                                                       "] = ", p, " >= num_pathways ",
                                                       raw_.num_pathways));
      }
      if (MaskHas(seen, p)) {
        return absl::InvalidArgumentError(
            absl::StrCat("event ", events() + i, ": pathway ", p, " repeated in its top-k"));
      }
      MaskSet(seen, p);
      if (!std::isfinite(c.weights[i * k + j])) {
        return absl::InvalidArgumentError(
            absl::StrCat("event ", events() + i, ": weights[", j, "] is not finite"));
      }
    }
  }
  step_.insert(step_.end(), step.begin(), step.end());
  events::AppendEvents(c, 0, n, k, &raw_);
  return absl::OkStatus();
}

StepLoads LayerEventsBuilder::CountStepLoads() const {
  StepLoads out;
  const size_t n = events();
  if (n == 0) return out;
  // Distinct steps (events arrive in runs of one step: skip repeats before the set insert).
  std::set<uint64_t> seen;
  for (size_t i = 0; i < n; ++i) {
    if (i == 0 || step_[i] != step_[i - 1]) seen.insert(step_[i]);
  }
  const std::vector<uint64_t> distinct(seen.begin(), seen.end());
  const uint64_t lo = distinct.front(), hi = distinct.back();
  const bool per_step = distinct.size() <= StepLoads::kMaxBuckets;
  const size_t buckets = per_step ? distinct.size() : StepLoads::kMaxBuckets;
  const double span = static_cast<double>(hi - lo) + 1.0;
  for (size_t b = 0; b < buckets; ++b) {
    out.step_low.push_back(per_step ? distinct[b] : lo + static_cast<uint64_t>(span * b / buckets));
    out.step_high.push_back(per_step ? distinct[b]
                                     : lo + static_cast<uint64_t>(span * (b + 1) / buckets) - 1);
  }
  out.events.assign(buckets, 0);
  out.selections.assign(buckets * raw_.num_pathways, 0);
  const uint32_t k = raw_.top_k;
  for (size_t i = 0; i < n; ++i) {
    // The bucket whose range holds the step (ranges are ascending and cover [lo, hi]).
    const size_t b =
        static_cast<size_t>(std::upper_bound(out.step_low.begin(), out.step_low.end(), step_[i]) -
                            out.step_low.begin() - 1);
    ++out.events[b];
    for (uint32_t j = 0; j < k; ++j)
      ++out.selections[b * raw_.num_pathways + raw_.pathways[i * k + j]];
  }
  return out;
}

LayerEvents LayerEventsBuilder::Build() {
  const size_t n = events();
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    if (raw_.sequence_id[a] != raw_.sequence_id[b])
      return raw_.sequence_id[a] < raw_.sequence_id[b];
    if (raw_.position[a] != raw_.position[b]) return raw_.position[a] < raw_.position[b];
    if (step_[a] != step_[b]) return step_[a] > step_[b];
    return a < b;
  });
  LayerEvents out;
  out.layer = raw_.layer;
  out.top_k = raw_.top_k;
  out.num_pathways = raw_.num_pathways;
  out.step_loads = CountStepLoads();
  const uint32_t k = raw_.top_k;
  const events::EventColumnsView raw = events::ViewOf(raw_);
  for (size_t r = 0; r < n; ++r) {
    const uint32_t i = order[r];
    if (!out.sequence_id.empty() && out.sequence_id.back() == raw_.sequence_id[i] &&
        out.position.back() == raw_.position[i]) {
      continue;  // an older copy of the same (sequence, position)
    }
    events::AppendEvents(raw, i, i + 1, k, &out);
  }
  LayerEventsBuilder fresh(raw_.layer, raw_.num_pathways, raw_.top_k);
  fresh.max_events_ = max_events_;
  *this = std::move(fresh);
  return out;
}

}  // namespace monoroute::analysis::explorer
