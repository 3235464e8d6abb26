// Small HTML building blocks of the explorer's pages: escaping, number formatting, the page shell
// (inline CSS, no external request of any kind), tooltips that work with the mouse and the
// keyboard, and inline SVG bar charts. Pure functions; thread-safe.
#ifndef MONOROUTE_SERVICES_ANALYSIS_EXPLORER_HTML_H_
#define MONOROUTE_SERVICES_ANALYSIS_EXPLORER_HTML_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace monoroute::analysis::explorer {

// Escapes &, <, >, " and ' for text and attribute values.
std::string Esc(absl::string_view s);

// Escapes a token's text for display: as Esc, with whitespace made visible (a newline as ⏎).
std::string TokenHtml(absl::string_view s);

// Percent-encodes a URL query value or path segment (unreserved characters kept).
std::string UrlEncode(absl::string_view s);

// A number with `digits` decimals; NaN and infinities as "–" / "∞".
std::string Fmt(double v, int digits = 3);

// "[lo, hi]" with Fmt, or "" when both are NaN.
std::string FmtInterval(double lo, double hi, int digits = 3);

// `label` with a tooltip `tip` shown on hover and on keyboard focus (tabindex 0, role tooltip).
std::string Tip(absl::string_view label_html, absl::string_view tip_text);

// A complete page: doctype, title, inline CSS, a header with `nav_html`, then `body_html`.
std::string Page(absl::string_view title, absl::string_view nav_html, absl::string_view body_html);

// An inline SVG bar chart of `counts` (bins of equal width from `low` to `high` on the x axis),
// with a title element per bar for its range and count. `label` names the chart (aria-label).
std::string SvgHistogram(const std::vector<uint64_t>& counts, double low, double high,
                         absl::string_view label);

// Background colour of a gate in [0, 1] (orange with that opacity), as a CSS value.
std::string GateColour(double gate);

}  // namespace monoroute::analysis::explorer

#endif  // MONOROUTE_SERVICES_ANALYSIS_EXPLORER_HTML_H_
