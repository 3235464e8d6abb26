// Run spec and event batch validation.
#include "services/recorder/batch_validator.h"

#include <bitset>
#include <cmath>
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

absl::Status ValidateSplitName(const std::string& split, const std::string& where) {
  if (split.size() > kMaxSplitBytes) {
    return absl::InvalidArgumentError(absl::StrCat(where, "split '", BoundedText(split), "' has ",
                                                   split.size(), " bytes, at most ",
                                                   kMaxSplitBytes));
  }
  for (char c : split) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, "split '", BoundedText(split), "' contains a control character"));
    }
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

absl::Status ValidateBatchShape(const EventBatchData& b, uint32_t top_k, size_t max_events) {
  std::string where = absl::StrCat("batch ", b.batch_seq, ": ");
  size_t n = b.step.size();
  if (n == 0) return absl::InvalidArgumentError(absl::StrCat(where, "empty batch (no events)"));
  if (n > max_events) {
    return absl::ResourceExhaustedError(
        absl::StrCat(where, n, " events exceed the limit of ", max_events, " per batch"));
  }
  if (b.run_id.size() > kMaxRunIdBytes) {  // no run has such an id; keep it out of NOT_FOUND
    return absl::InvalidArgumentError(absl::StrCat(where, ValidateRunId(b.run_id).message()));
  }
  if (b.writer_id.empty())
    return absl::InvalidArgumentError(absl::StrCat(where, "writer_id is empty"));
  if (b.writer_id.size() > kMaxWriterIdBytes) {
    return absl::InvalidArgumentError(absl::StrCat(where, "writer_id '", BoundedText(b.writer_id),
                                                   "' has ", b.writer_id.size(), " bytes, at most ",
                                                   kMaxWriterIdBytes));
  }
  RETURN_IF_ERROR(ValidateSplitName(b.split, where));
  struct Col {
    const char* name;
    size_t size;
  };
  for (Col c : {Col{"layer", b.layer.size()}, Col{"sequence_id", b.sequence_id.size()},
                Col{"position", b.position.size()}, Col{"token_id", b.token_id.size()},
                Col{"next_token_id", b.next_token_id.size()}}) {
    if (c.size != n) {
      return absl::InvalidArgumentError(absl::StrCat(where, "array lengths differ: step has ", n,
                                                     " entries, ", c.name, " has ", c.size));
    }
  }
  if (b.pathways.size() != b.weights.size()) {
    return absl::InvalidArgumentError(absl::StrCat(where, "array lengths differ: pathways has ",
                                                   b.pathways.size(), " entries, weights has ",
                                                   b.weights.size()));
  }
  if (top_k != 0 && b.pathways.size() != n * top_k) {
    return absl::InvalidArgumentError(absl::StrCat(where, "pathways has ", b.pathways.size(),
                                                   " entries, expected ", n * top_k, " (", n,
                                                   " events x top_k ", top_k, ")"));
  }
  if (top_k == 0 && (b.pathways.empty() || b.pathways.size() % n != 0)) {
    return absl::InvalidArgumentError(absl::StrCat(where, "pathways has ", b.pathways.size(),
                                                   " entries, not a multiple of ", n, " events"));
  }
  return absl::OkStatus();
}

absl::Status ValidateBatch(const RunLayout& run, const EventBatchData& b, size_t max_events,
                           std::vector<uint8_t>* layer_idx) {
  const RunSpecData& spec = run.spec;
  absl::Status s = ValidateBatchShape(b, spec.top_k, max_events);
  if (!s.ok()) return s;
  std::string where = absl::StrCat("batch ", b.batch_seq, ": ");
  const size_t n = b.step.size();
  layer_idx->resize(n);
  uint32_t last_layer = 0;
  int last_idx = -1;
  for (size_t i = 0; i < n; ++i) {
    uint32_t l = b.layer[i];
    if (last_idx < 0 || l != last_layer) {
      auto it = run.layer_index.find(l);
      if (it == run.layer_index.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, "layer[", i, "] = ", l, " is not a routed layer of run ",
                         spec.run_id, " (declared: ", absl::StrJoin(spec.routed_layers, ","), ")"));
      }
      last_layer = l;
      last_idx = it->second;
    }
    (*layer_idx)[i] = static_cast<uint8_t>(last_idx);
  }
  const uint32_t vocab = spec.vocab_size;
  for (size_t i = 0; i < n; ++i) {
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
  // One event's top-k are k different pathways; a repeat would be counted twice.
  const size_t k = spec.top_k;
  for (size_t e = 0; e < n; ++e) {
    std::bitset<kMaxPathways> seen;
    for (size_t i = e * k; i < (e + 1) * k; ++i) {
      if (seen.test(b.pathways[i])) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, "event ", e, ": pathway ", b.pathways[i],
            " appears more than once in its top-k (pathways[", e * k, "..", (e + 1) * k - 1, "])"));
      }
      seen.set(b.pathways[i]);
    }
  }
  for (size_t i = 0; i < b.weights.size(); ++i) {
    if (!std::isfinite(b.weights[i])) {
      return absl::InvalidArgumentError(absl::StrCat(where, "weights[", i, "] is not finite"));
    }
    if (std::fabs(b.weights[i]) > kMaxAbsWeight) {
      return absl::InvalidArgumentError(absl::StrCat(where, "weights[", i, "] = ", b.weights[i],
                                                     " is outside [-", kMaxAbsWeight, ", ",
                                                     kMaxAbsWeight, "]"));
    }
  }
  return absl::OkStatus();
}

}  // namespace monoroute::recorder
