// Table-driven names of enums: one constexpr array of {value, name} per enum gives both the
// name of a value (NameOf) and the parse of a name (ParseEnum), whose error names the field and
// lists the accepted names, so no enum needs a hand-written switch plus a parse loop.
//
//   constexpr EnumNames<Color, 2> kColorNames = {
//       {{Color::kRed, "red"}, {Color::kBlue, "blue"}}};
//   NameOf(kColorNames, Color::kRed);          // "red"
//   ParseEnum(kColorNames, "green", "color");  // INVALID_ARGUMENT "color 'green' is not
//                                              // supported (expected 'red' or 'blue')"
#ifndef MONOROUTE_COMMON_BASE_ENUM_NAMES_H_
#define MONOROUTE_COMMON_BASE_ENUM_NAMES_H_

#include <array>
#include <cstddef>
#include <initializer_list>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace monoroute {

// One enum value and its (wire, file, flag) name.
template <typename E>
struct EnumName {
  E value;           // the enum value
  const char* name;  // its name (a literal); unique within the table
};

// The names of an enum's values, in the order error messages list them.
template <typename E, size_t N>
using EnumNames = std::array<EnumName<E>, N>;

// Whether ParseEnum compares names exactly or ignoring ASCII case.
enum class EnumCase {
  kExact,   // "glbl" only
  kIgnore,  // "running" and "RUNNING" both name kRunning
};

// The name of `value`, or `fallback` when the table lacks it (a value cast from an
// out-of-range integer). Thread-safe (pure).
template <typename E, size_t N>
constexpr const char* NameOf(const EnumNames<E, N>& names, E value, const char* fallback = "?") {
  for (const EnumName<E>& n : names) {
    if (n.value == value) return n.name;
  }
  return fallback;
}

// The value named `text`, or nullopt. Thread-safe (pure).
template <typename E, size_t N>
std::optional<E> FindEnum(const EnumNames<E, N>& names, absl::string_view text,
                          EnumCase match = EnumCase::kExact) {
  for (const EnumName<E>& n : names) {
    if (match == EnumCase::kExact ? text == n.name : absl::EqualsIgnoreCase(text, n.name)) {
      return n.value;
    }
  }
  return std::nullopt;
}

// INVALID_ARGUMENT "<field> '<text>' is not supported (expected 'a', 'b' or 'c')": `text` is
// bounded (BoundedText), `accepted` lists every name the caller takes, in order.
absl::Status UnsupportedNameError(absl::string_view field, absl::string_view text,
                                  absl::Span<const absl::string_view> accepted);

// The names of `names`, after `before` (names the caller resolves itself, e.g. "auto").
template <typename E, size_t N>
std::vector<absl::string_view> AcceptedNames(const EnumNames<E, N>& names,
                                             std::initializer_list<absl::string_view> before = {}) {
  std::vector<absl::string_view> out(before);
  for (const EnumName<E>& n : names) out.push_back(n.name);
  return out;
}

// The value named `text`; otherwise UnsupportedNameError naming `field` and the table's names.
template <typename E, size_t N>
absl::StatusOr<E> ParseEnum(const EnumNames<E, N>& names, absl::string_view text,
                            absl::string_view field, EnumCase match = EnumCase::kExact) {
  if (std::optional<E> v = FindEnum(names, text, match)) return *v;
  return UnsupportedNameError(field, text, AcceptedNames(names));
}

}  // namespace monoroute

#endif  // MONOROUTE_COMMON_BASE_ENUM_NAMES_H_
