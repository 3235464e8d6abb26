// Dataset split names shared by the engine, the recorder and the analysis: one meaning of
// "split" everywhere. A control recorded next to an evaluation split S (the same sequences
// through another model, e.g. the fresh routers at step 0) is named "S/<control>", e.g.
// "valid/fresh_routers"; a split selector that is empty means "every split except controls",
// and a control is read only when named. Header-only, pure functions, thread-safe.
#ifndef MONOROUTE_COMMON_BASE_SPLIT_NAMES_H_
#define MONOROUTE_COMMON_BASE_SPLIT_NAMES_H_

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace monoroute {

// The separator of a control split's name: "<split>/<control>".
inline constexpr char kControlSplitSeparator = '/';

// True for a control split ("valid/fresh_routers"), false for a trained-routing split ("valid").
inline bool IsControlSplit(absl::string_view split) {
  return split.find(kControlSplitSeparator) != absl::string_view::npos;
}

// The name of control `control` recorded next to `split`: "valid" + "fresh_routers" ->
// "valid/fresh_routers".
inline std::string ControlSplitName(absl::string_view split, absl::string_view control) {
  return absl::StrCat(split, std::string(1, kControlSplitSeparator), control);
}

// True when a selector (`selector` empty: every split except controls; else exactly that split)
// includes `split`.
inline bool SplitSelected(absl::string_view selector, absl::string_view split) {
  return selector.empty() ? !IsControlSplit(split) : selector == split;
}

}  // namespace monoroute

#endif  // MONOROUTE_COMMON_BASE_SPLIT_NAMES_H_
