// LayerAnswer: the verdict, the supporting effect and the deltas over every control.
#include "services/analysis/report_answer.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace monoroute::analysis {
namespace {

std::string WithCi(double v, const Interval& ci, const char* fmt) {
  if (!std::isfinite(v)) return "n/a";
  std::string s = absl::StrFormat(fmt, v);
  if (std::isfinite(ci.low) && std::isfinite(ci.high)) {
    absl::StrAppend(&s, " [", absl::StrFormat(fmt, ci.low), ", ", absl::StrFormat(fmt, ci.high),
                    "]");
  }
  return s;
}

// The layer MI effect of the verdict's source (the token MI for context / none).
const Effect& SourceEffect(const LayerResult& L) {
  for (const SourceMi& s : L.sources) {
    if (s.source == L.routing_source) return s.mi;
  }
  return L.mi;
}

}  // namespace

std::string SourcePhrase(const std::string& s) {
  if (s == "current_token") return "the current token";
  if (s == "previous_token") return "the previous token";
  if (s == "next_token") return "the next token";
  if (s == "position") return "position";
  if (s == "context") return "context (no single token explains it)";
  return "nothing (no signal over the null)";
}

std::string LayerAnswer(const LayerResult& L) {
  const Effect& e = SourceEffect(L);
  const std::string what =
      L.routing_source == "current_token" || L.routing_source == "context" ||
              L.routing_source == "none"
          ? "token"
          : std::string(L.routing_source == "position" ? "position" : L.routing_source);
  std::string out = absl::StrCat("Layer ", L.layer, " responds to ", SourcePhrase(L.routing_source),
                                 ": I(pathway; ", what, ") exceeds its null by ",
                                 WithCi(e.excess, e.ci, "%.3f"), " nats");
  if (L.routing_source == "previous_token" && std::isfinite(L.current_given_previous.excess)) {
    absl::StrAppend(&out, ", the current token adds ",
                    WithCi(L.current_given_previous.excess, L.current_given_previous.ci, "%.3f"));
  }
  for (const ControlComparison& c : L.controls) {
    absl::StrAppend(&out, "; token MI vs ", c.control, " ",
                    WithCi(c.mi_delta.excess, c.mi_delta.ci, "%+.3f"));
  }
  absl::StrAppend(&out, " (", L.events_used, " events).");
  return out;
}

}  // namespace monoroute::analysis
