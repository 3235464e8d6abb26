// Layout comparison and label merging of a re-declared run.
#include "services/recorder/run_spec_merge.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/base/bounded_text.h"
#include "services/recorder/batch_validator.h"

namespace monoroute::recorder {
namespace {

// Appends "name: stored a, requested b" to `out` when a != b.
template <typename T>
void Diff(const char* name, const T& a, const T& b, std::vector<std::string>* out) {
  if (a != b) out->push_back(absl::StrCat(name, ": stored ", a, ", requested ", b));
}

// "[0,2,4]": the routed layers (at most kMaxLayers entries, so bounded).
std::string Layers(const std::vector<uint32_t>& v) {
  return absl::StrCat("[", absl::StrJoin(v, ","), "]");
}

}  // namespace

std::vector<std::string> LayoutDifferences(const RunSpecData& stored,
                                           const RunSpecData& requested) {
  std::vector<std::string> out;
  Diff("routed_layers", Layers(stored.routed_layers), Layers(requested.routed_layers), &out);
  Diff("num_pathways", stored.num_pathways, requested.num_pathways, &out);
  Diff("top_k", stored.top_k, requested.top_k, &out);
  Diff("vocab_size", stored.vocab_size, requested.vocab_size, &out);
  auto yes_no = [](bool b) { return std::string(b ? "true" : "false"); };
  Diff("store_raw_events", yes_no(stored.store_raw_events), yes_no(requested.store_raw_events),
       &out);
  Diff("step_bucket", stored.step_bucket, requested.step_bucket, &out);
  Diff("raw_retention_steps", stored.raw_retention_steps, requested.raw_retention_steps, &out);
  return out;
}

absl::Status MergeRunLabels(const RunSpecData& stored, const RunSpecData& requested,
                            std::map<std::string, std::string>* merged, size_t* added) {
  const std::string where = absl::StrCat("run ", stored.run_id, " already exists with ");
  std::vector<std::string> diffs = LayoutDifferences(stored, requested);
  if (!diffs.empty()) {
    return absl::AlreadyExistsError(
        absl::StrCat(where, "a different layout: ", absl::StrJoin(diffs, "; ")));
  }
  RunSpecData out = stored;
  *added = 0;
  for (const auto& [key, value] : requested.labels) {
    auto [it, inserted] = out.labels.emplace(key, value);
    if (inserted) {
      ++*added;
    } else if (it->second != value) {
      return absl::AlreadyExistsError(
          absl::StrCat(where, "a different label: labels['", BoundedText(key), "']: stored '",
                       BoundedText(it->second, kLabelValueQuoteBytes), "', requested '",
                       BoundedText(value, kLabelValueQuoteBytes), "'"));
    }
  }
  if (*added > 0) {
    absl::Status s = ValidateLabels(out);
    if (!s.ok()) {
      return absl::Status(s.code(),
                          absl::StrCat(s.message(), " (after merging the requested labels)"));
    }
  }
  *merged = std::move(out.labels);
  return absl::OkStatus();
}

}  // namespace monoroute::recorder
