// The error of an unsupported enum name (see enum_names.h).
#include "common/base/enum_names.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/base/bounded_text.h"

namespace monoroute {

absl::Status UnsupportedNameError(absl::string_view field, absl::string_view text,
                                  absl::Span<const absl::string_view> accepted) {
  std::string list;
  for (size_t i = 0; i < accepted.size(); ++i) {
    const char* sep = i == 0 ? "" : (i + 1 == accepted.size() ? " or " : ", ");
    absl::StrAppend(&list, sep, "'", accepted[i], "'");
  }
  return absl::InvalidArgumentError(
      absl::StrCat(field, " '", BoundedText(text), "' is not supported (expected ", list, ")"));
}

}  // namespace monoroute
