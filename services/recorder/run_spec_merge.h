// Re-declaring an existing run (CreateRun on a run id that exists): the layout must match
// exactly, labels are metadata that a re-declaration may extend. Pure functions, thread-safe.
#ifndef MONOROUTE_SERVICES_RECORDER_RUN_SPEC_MERGE_H_
#define MONOROUTE_SERVICES_RECORDER_RUN_SPEC_MERGE_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "services/recorder/recorder_types.h"

namespace monoroute::recorder {

// Bytes of a label value quoted in an error message (longer values are cut by BoundedText).
inline constexpr size_t kLabelValueQuoteBytes = 64;

// The layout fields (every field but run_id and labels) in which `requested` differs from
// `stored`, one entry per field, e.g. "top_k: stored 4, requested 2". Both specs normalised.
std::vector<std::string> LayoutDifferences(const RunSpecData& stored, const RunSpecData& requested);

// Merges `requested`'s labels into `stored`'s, both normalised specs of the same run id:
// ALREADY_EXISTS naming every differing layout field (LayoutDifferences) or a label key present in
// both with different values (both values quoted, cut to kLabelValueQuoteBytes); else `merged`
// is `stored`'s labels plus the keys only `requested` has, checked against the label bounds like
// a new spec (ValidateLabels). `*added` is the number of keys added (0: identical re-declaration).
absl::Status MergeRunLabels(const RunSpecData& stored, const RunSpecData& requested,
                            std::map<std::string, std::string>* merged, size_t* added);

}  // namespace monoroute::recorder

#endif  // MONOROUTE_SERVICES_RECORDER_RUN_SPEC_MERGE_H_
