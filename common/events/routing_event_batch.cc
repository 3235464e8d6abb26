// RoutingEventBatch / RoutingEventView: the view of an owning batch and the run-free checks.
#include "common/events/routing_event_batch.h"

#include <bitset>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/base/bounded_text.h"
#include "common/base/status_macros.h"

namespace monoroute::events {
namespace {

// INVALID_ARGUMENT "<where><message>".
absl::Status Bad(const std::string& where, const std::string& message) {
  return absl::InvalidArgumentError(absl::StrCat(where, message));
}

// The header's run id, writer id and split.
absl::Status CheckIds(const RoutingEventHeader& h, const std::string& where) {
  if (h.run_id.size() > kMaxRunIdBytes) {
    return Bad(where, absl::StrCat("run_id '", BoundedText(h.run_id), "' has ", h.run_id.size(),
                                   " bytes, at most ", kMaxRunIdBytes));
  }
  if (h.writer_id.empty()) return Bad(where, "writer_id is empty");
  if (h.writer_id.size() > kMaxWriterIdBytes) {
    return Bad(where, absl::StrCat("writer_id '", BoundedText(h.writer_id), "' has ",
                                   h.writer_id.size(), " bytes, at most ", kMaxWriterIdBytes));
  }
  return ValidateSplitName(h.split, where);
}

// top_k in range, then the column lengths.
absl::Status CheckShape(const RoutingEventView& b, const std::string& where) {
  const uint32_t k = b.header.top_k;
  if (k == 0 || k > kMaxPathways) {
    return Bad(where, absl::StrCat("top_k ", k, " must be in 1..", kMaxPathways));
  }
  if (absl::Status s = CheckColumnLengths(b, k); !s.ok())
    return Bad(where, std::string(s.message()));
  return absl::OkStatus();
}

// Pathway ids below kMaxPathways and distinct within each event's top-k; weights bounded.
absl::Status CheckTopK(const RoutingEventView& b, const std::string& where) {
  const size_t k = b.header.top_k;
  for (size_t e = 0; e < b.num_events(); ++e) {
    std::bitset<kMaxPathways> seen;
    for (size_t i = e * k; i < (e + 1) * k; ++i) {
      if (b.pathways[i] >= kMaxPathways) {
        return Bad(where, absl::StrCat("pathways[", i, "] = ", b.pathways[i], " >= ", kMaxPathways,
                                       " (the most pathways of a layer)"));
      }
      if (seen.test(b.pathways[i])) {
        return Bad(where, absl::StrCat("event ", e, ": pathway ", b.pathways[i],
                                       " appears more than once in its top-k (pathways[", e * k,
                                       "..", (e + 1) * k - 1, "])"));
      }
      seen.set(b.pathways[i]);
    }
  }
  for (size_t i = 0; i < b.weights.size(); ++i) {
    if (!std::isfinite(b.weights[i])) {
      return Bad(where, absl::StrCat("weights[", i, "] is not finite"));
    }
    if (std::fabs(b.weights[i]) > kMaxAbsWeight) {
      return Bad(where, absl::StrCat("weights[", i, "] = ", b.weights[i], " is outside [-",
                                     kMaxAbsWeight, ", ", kMaxAbsWeight, "]"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status RoutingEventView::Validate(const RoutingEventLimits& limits) const {
  const std::string where = absl::StrCat("batch ", header.batch_id, ": ");
  const size_t n = num_events();
  if (n == 0) return Bad(where, "empty batch (no events)");
  if (n > limits.max_events) {
    return absl::ResourceExhaustedError(
        absl::StrCat(where, n, " events exceed the limit of ", limits.max_events, " per batch"));
  }
  RETURN_IF_ERROR(CheckIds(header, where));
  RETURN_IF_ERROR(CheckShape(*this, where));
  return CheckTopK(*this, where);
}

RoutingEventView RoutingEventBatch::view() const {
  RoutingEventView v;
  static_cast<EventColumnsView&>(v) = ViewOf(*this);
  v.header = header;
  return v;
}

RoutingEventBatch RoutingEventBatch::CopyOf(const RoutingEventView& v) {
  RoutingEventBatch b;
  static_cast<EventColumns&>(b) = events::CopyOf(v);
  b.header = v.header;
  return b;
}

absl::Status RoutingEventBatch::Validate(const RoutingEventLimits& limits) const {
  return view().Validate(limits);
}

std::string EffectiveSplit(const std::string& split) {
  return split.empty() ? std::string(kDefaultSplit) : split;
}

absl::Status ValidateSplitName(const std::string& split, const std::string& where) {
  if (split.size() > kMaxSplitBytes) {
    return Bad(where, absl::StrCat("split '", BoundedText(split), "' has ", split.size(),
                                   " bytes, at most ", kMaxSplitBytes));
  }
  for (char c : split) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return Bad(where,
                 absl::StrCat("split '", BoundedText(split), "' contains a control character"));
    }
  }
  return absl::OkStatus();
}

}  // namespace monoroute::events
