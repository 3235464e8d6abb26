// Run spec and event batch validation.
#include "services/recorder/batch_validator.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/base/bounded_text.h"
#include "common/base/status_macros.h"

namespace monoroute::recorder {

RunLayout RunLayout::From(const RunSpecData& spec) {
  RunLayout l;
  l.spec = spec;
  if (l.spec.step_bucket == 0) l.spec.step_bucket = kDefaultStepBucket;
  for (size_t i = 0; i < spec.routed_layers.size(); ++i) {
    l.layer_index[spec.routed_layers[i]] = static_cast<uint8_t>(i);
  }
  return l;
}

absl::Status ValidateRunId(const std::string& run_id) {
  if (run_id.empty() || run_id.size() > kMaxRunIdBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "run_id '", BoundedText(run_id), "' must have 1 to ", kMaxRunIdBytes, " characters"));
  }
  for (char c : run_id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) {
      return absl::InvalidArgumentError(
          absl::StrCat("run_id '", BoundedText(run_id), "' may only contain [A-Za-z0-9._-]"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateLabels(const RunSpecData& spec) {
  const std::string where = absl::StrCat("run ", spec.run_id, ": ");
  if (spec.labels.size() > kMaxLabels) {
    return absl::ResourceExhaustedError(
        absl::StrCat(where, "labels has ", spec.labels.size(), " entries, at most ", kMaxLabels));
  }
  size_t total = 0;
  for (const auto& [key, value] : spec.labels) {
    if (key.empty() || key.size() > kMaxLabelKeyBytes) {
      return absl::InvalidArgumentError(absl::StrCat(where, "labels key '", BoundedText(key),
                                                     "' has ", key.size(),
                                                     " bytes, must have 1 to ", kMaxLabelKeyBytes));
    }
    if (value.size() > kMaxLabelValueBytes) {
      return absl::InvalidArgumentError(absl::StrCat(where, "labels['", BoundedText(key),
                                                     "'] value has ", value.size(),
                                                     " bytes, at most ", kMaxLabelValueBytes));
    }
    total += key.size() + value.size();
  }
  if (total > kMaxLabelsBytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        where, "labels hold ", total, " bytes of keys and values, at most ", kMaxLabelsBytes));
  }
  return absl::OkStatus();
}

absl::Status ValidateRunSpec(const RunSpecData& spec, RunSpecData* out) {
  absl::Status s = ValidateRunId(spec.run_id);
  if (!s.ok()) return s;
  auto bad = [&](const std::string& m) {
    return absl::InvalidArgumentError(absl::StrCat("run ", spec.run_id, ": ", m));
  };
  if (spec.routed_layers.empty()) return bad("routed_layers is empty");
  if (spec.routed_layers.size() > kMaxLayers) {
    return bad(absl::StrCat("routed_layers has ", spec.routed_layers.size(), " entries, at most ",
                            kMaxLayers));
  }
  std::set<uint32_t> seen;
  for (size_t i = 0; i < spec.routed_layers.size(); ++i) {
    if (!seen.insert(spec.routed_layers[i]).second) {
      return bad(absl::StrCat("routed_layers[", i, "] = ", spec.routed_layers[i], " is repeated"));
    }
  }
  if (spec.num_pathways == 0 || spec.num_pathways > kMaxPathways) {
    return bad(absl::StrCat("num_pathways ", spec.num_pathways, " must be in 1..", kMaxPathways));
  }
  if (spec.top_k == 0 || spec.top_k > spec.num_pathways) {
    return bad(absl::StrCat("top_k ", spec.top_k, " must be in 1..num_pathways (",
                            spec.num_pathways, ")"));
  }
  if (spec.vocab_size == 0) return bad("vocab_size must be > 0");
  RETURN_IF_ERROR(ValidateLabels(spec));
  *out = spec;
  if (out->step_bucket == 0) out->step_bucket = kDefaultStepBucket;
  return absl::OkStatus();
}

absl::Status ValidateBatch(const RunLayout& run, const events::RoutingEventView& b,
                           size_t max_events, uint8_t* layer_idx) {
  RETURN_IF_ERROR(b.Validate(events::RoutingEventLimits{max_events}));
  return CheckBatchAgainstRun(run, b, layer_idx);
}

absl::Status CheckBatchAgainstRun(const RunLayout& run, const events::RoutingEventView& b,
                                  uint8_t* layer_idx) {
  const RunSpecData& spec = run.spec;
  const events::RoutingEventHeader& h = b.header;
  const std::string where = absl::StrCat("batch ", h.batch_id, ": ");
  auto it = run.layer_index.find(h.layer);
  if (it == run.layer_index.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, "layer ", h.layer, " is not a routed layer of run ", spec.run_id,
                     " (declared: ", absl::StrJoin(spec.routed_layers, ","), ")"));
  }
  *layer_idx = it->second;
  if (h.top_k != spec.top_k) {
    return absl::InvalidArgumentError(absl::StrCat(where, "top_k ", h.top_k, " differs from run ",
                                                   spec.run_id, "'s top_k ", spec.top_k));
  }
  const uint32_t vocab = spec.vocab_size;
  for (size_t i = 0; i < b.num_events(); ++i) {
    if (b.token_id[i] >= vocab) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, "token_id[", i, "] = ", b.token_id[i], " >= vocab_size ", vocab));
    }
    if (b.next_token_id[i] >= vocab) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, "next_token_id[", i, "] = ", b.next_token_id[i], " >= vocab_size ", vocab));
    }
  }
  const uint32_t np = spec.num_pathways;
  for (size_t i = 0; i < b.pathways.size(); ++i) {
    if (b.pathways[i] >= np) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, "pathways[", i, "] = ", b.pathways[i], " >= num_pathways ", np));
    }
  }
  return absl::OkStatus();
}

}  // namespace monoroute::recorder
