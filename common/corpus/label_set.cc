// LabelSet: name validation and the name <-> index table.
#include "common/corpus/label_set.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/tokenizer/utf8_util.h"

namespace monoroute {
namespace {

// True for C0/C1 control characters and DEL (Unicode general category Cc).
bool IsControl(char32_t cp) { return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f); }

}  // namespace

absl::StatusOr<LabelSet> LabelSet::FromNames(const std::vector<std::string>& names) {
  LabelSet set;
  for (size_t i = 0; i < names.size(); ++i) {
    if (set.Find(names[i]) != kLabelNone) {
      return absl::InvalidArgumentError(
          absl::StrCat("label ", i, " \"", names[i], "\" is listed twice"));
    }
    absl::StatusOr<int32_t> added = set.Add(names[i]);
    if (!added.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("label ", i, ": ", added.status().message()));
    }
  }
  return set;
}

bool LabelSet::IsReserved(absl::string_view name) {
  return name == kLabelNoneName || name == kLabelMixedName;
}

absl::Status LabelSet::ValidateName(absl::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError("empty category name");
  if (name.size() > kMaxLabelNameBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("category name \"", utf8::RenderBytes(name.substr(0, 24)), "...\" is ",
                     name.size(), " bytes, more than ", kMaxLabelNameBytes));
  }
  for (size_t i = 0; i < name.size();) {
    char32_t cp = 0;
    const size_t n = utf8::DecodeAt(name, i, &cp);
    if (n == 0) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "category name \"%s\" is not valid UTF-8 (byte %d)", utf8::RenderBytes(name), i));
    }
    if (IsControl(cp) || utf8::IsWhiteSpace(cp)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("category name \"%s\" contains white space or a control character "
                          "(U+%04X at byte %d)",
                          utf8::RenderBytes(name), static_cast<uint32_t>(cp), i));
    }
    i += n;
  }
  if (IsReserved(name)) {
    return absl::InvalidArgumentError(
        absl::StrCat("category name \"", name, "\" is reserved (\"", kLabelMixedName,
                     "\" = several categories and no majority, \"", kLabelNoneName,
                     "\" = no category); rename the category"));
  }
  return absl::OkStatus();
}

absl::StatusOr<int32_t> LabelSet::Add(absl::string_view name) {
  const int32_t found = Find(name);
  if (found != kLabelNone) return found;
  absl::Status valid = ValidateName(name);
  if (!valid.ok()) return valid;
  if (size() >= kMaxLabels) {
    return absl::InvalidArgumentError(absl::StrCat("category \"", name, "\" would be label number ",
                                                   size() + 1, "; at most ", kMaxLabels,
                                                   " distinct categories are allowed"));
  }
  const int32_t index = size();
  names_.emplace_back(name);
  index_.emplace(names_.back(), index);
  return index;
}

int32_t LabelSet::Find(absl::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? kLabelNone : it->second;
}

absl::string_view LabelSet::NameOf(int32_t label) const {
  if (Contains(label)) return names_[label];
  return label == kLabelMixed ? kLabelMixedName : kLabelNoneName;
}

}  // namespace monoroute
