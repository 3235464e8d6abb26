// A set of category names ("labels") with a dense index: the story grammar's 16 categories,
// part-of-speech tags, NER tags, topics... any strings a researcher brings. Tokens carry an index
// into a LabelSet, or one of the two sentinels kLabelNone / kLabelMixed, which are never ordinary
// labels.
#ifndef MONOROUTE_COMMON_CORPUS_LABEL_SET_H_
#define MONOROUTE_COMMON_CORPUS_LABEL_SET_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace monoroute {

// Label index of a token with no category (whitespace, "<|endoftext|>", not in the lexicon).
inline constexpr int32_t kLabelNone = -1;
// Label index of a token seen with several categories and no majority (or a lexicon tie).
inline constexpr int32_t kLabelMixed = -2;

// How the sentinels are spelled in files (token-category TSV). Both names are reserved: a user
// label spelled exactly like one of them is rejected (matching is case-sensitive, so "None" or
// "MIXED" are ordinary labels).
inline constexpr absl::string_view kLabelNoneName = "none";
inline constexpr absl::string_view kLabelMixedName = "mixed";

// Longest label name in bytes (UTF-8).
inline constexpr size_t kMaxLabelNameBytes = 64;
// Most distinct labels in one set (bounds memory and report size; indices fit int16).
inline constexpr int32_t kMaxLabels = 4096;

// Ordered label names <-> dense indices 0..size()-1, in the order the names were added.
// Lookups are exact (byte-wise, case-sensitive). A plain copyable value; thread-compatible
// (const methods are safe from many threads).
class LabelSet {
 public:
  LabelSet() = default;

  // Builds a set from `names` in order. INVALID_ARGUMENT on an invalid, reserved or repeated name
  // or more than kMaxLabels names (the message names the offending entry).
  static absl::StatusOr<LabelSet> FromNames(const std::vector<std::string>& names);

  // OK if `name` may be a label: 1..kMaxLabelNameBytes bytes of well-formed UTF-8 without
  // Unicode white space (space, tab, newline, NBSP, ...) or control characters, and not a
  // reserved sentinel name. Otherwise INVALID_ARGUMENT saying why (without a location: callers
  // prefix "file:line: ").
  static absl::Status ValidateName(absl::string_view name);

  // True for the reserved sentinel spellings ("none", "mixed").
  static bool IsReserved(absl::string_view name);

  // Index of `name`, adding it at the end if new. INVALID_ARGUMENT if the name is invalid
  // (ValidateName) or the set already holds kMaxLabels names.
  absl::StatusOr<int32_t> Add(absl::string_view name);

  // Index of `name` (exact match), or kLabelNone if absent.
  int32_t Find(absl::string_view name) const;

  // Number of labels.
  int32_t size() const { return static_cast<int32_t>(names_.size()); }
  bool empty() const { return names_.empty(); }

  // All names, by index.
  const std::vector<std::string>& names() const { return names_; }

  // Name of a label index or sentinel: names()[label], "mixed" for kLabelMixed, "none" for
  // kLabelNone and for any index out of range.
  absl::string_view NameOf(int32_t label) const;

  // True if `label` is an index of this set (not a sentinel, not out of range).
  bool Contains(int32_t label) const { return label >= 0 && label < size(); }

  friend bool operator==(const LabelSet& a, const LabelSet& b) { return a.names_ == b.names_; }
  friend bool operator!=(const LabelSet& a, const LabelSet& b) { return !(a == b); }

 private:
  std::vector<std::string> names_;
  absl::flat_hash_map<std::string, int32_t> index_;
};

// Per-label tallies (token ids or token occurrences), with the two sentinels apart.
struct LabelCounts {
  LabelCounts() = default;
  // Zero tallies for `num_labels` labels.
  explicit LabelCounts(int32_t num_labels) : per_label(num_labels, 0) {}

  std::vector<int64_t> per_label;  // per_label[i]: label index i (sized to the LabelSet)
  int64_t mixed = 0;               // kLabelMixed
  int64_t none = 0;                // kLabelNone and out-of-range indices

  // Adds `n` to the tally of `label` (an index or a sentinel).
  void Add(int32_t label, int64_t n = 1) {
    if (label >= 0 && static_cast<size_t>(label) < per_label.size()) {
      per_label[label] += n;
    } else if (label == kLabelMixed) {
      mixed += n;
    } else {
      none += n;
    }
  }
};

}  // namespace monoroute

#endif  // MONOROUTE_COMMON_CORPUS_LABEL_SET_H_
