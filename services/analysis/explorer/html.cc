// The explorer's HTML building blocks (see html.h).
#include "services/analysis/explorer/html.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace monoroute::analysis::explorer {
namespace {

constexpr const char* kCss = R"css(
:root{--fg:#1b1f24;--mute:#57606a;--line:#d0d7de;--bg:#fff;--accent:#0550ae;--hit:#ff8c00}
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:var(--bg);margin:0}
header{border-bottom:1px solid var(--line);padding:.6rem 1.2rem;display:flex;gap:1rem;align-items:center;flex-wrap:wrap}
header strong{font-size:1.05rem}
header a{color:var(--accent)}
main{padding:1rem 1.2rem;max-width:1200px}
h1{font-size:1.35rem;margin:.2rem 0 .6rem}
h2{font-size:1.1rem;margin:1.4rem 0 .5rem;border-bottom:1px solid var(--line);padding-bottom:.2rem}
table{border-collapse:collapse;margin:.3rem 0 1rem}
th,td{border:1px solid var(--line);padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}
td.n{text-align:right;font-variant-numeric:tabular-nums}
a:focus,button:focus,textarea:focus,input:focus,.m:focus,mark:focus{outline:2px solid var(--accent);outline-offset:1px}
.mute{color:var(--mute)}
.ctx{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:13.5px;white-space:pre-wrap;margin:.15rem 0;padding:.25rem .4rem;border-left:3px solid var(--line)}
.ctx span.t{border-radius:2px}
mark.hit{background:var(--hit);color:#000;border-radius:3px;padding:0 1px;outline:1px solid #b35c00}
.m,mark.hit{position:relative;cursor:help}
.m{border-bottom:1px dotted var(--mute)}
.tip{display:none;position:absolute;left:0;top:1.5em;z-index:10;background:#24292f;color:#fff;padding:.35rem .5rem;border-radius:4px;font:12.5px/1.35 system-ui,sans-serif;white-space:normal;width:max-content;max-width:26rem}
.m:hover>.tip,.m:focus>.tip,mark.hit:hover>.tip,mark.hit:focus>.tip{display:block}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(13rem,1fr));gap:.5rem}
.cell{border:1px solid var(--line);border-radius:6px;padding:.4rem .55rem;text-decoration:none;color:inherit;display:block}
.cell:hover,.cell:focus{border-color:var(--accent)}
.cell.spec{border-color:#cf222e;box-shadow:inset 3px 0 0 #cf222e}
.bar{height:6px;background:#eaeef2;border-radius:3px;margin:.2rem 0}
.bar>i{display:block;height:6px;background:var(--accent);border-radius:3px}
.answer{background:#f6f8fa;border:1px solid var(--line);border-radius:6px;padding:.5rem .7rem}
.cols{display:grid;grid-template-columns:1fr 1fr;gap:1.2rem}
.route{display:inline-block;margin:0 .15rem .15rem 0;padding:0 .3rem;border-radius:3px;font-size:12.5px;border:1px solid var(--line)}
svg{max-width:100%}
textarea{width:100%;font:14px ui-monospace,monospace}
)css";

}  // namespace

std::string Esc(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string TokenHtml(absl::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') {
      out += "\xe2\x8f\x8e";  // ⏎
    } else if (c == '\t') {
      out += "\xe2\x86\xb9";  // ↹
    } else {
      out += Esc(absl::string_view(&c, 1));
    }
  }
  return out;
}

std::string UrlEncode(absl::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += absl::StrFormat("%%%02X", c);
    }
  }
  return out;
}

std::string Fmt(double v, int digits) {
  if (std::isnan(v)) return "\xe2\x80\x93";  // –
  if (std::isinf(v)) return v > 0 ? "\xe2\x88\x9e" : "-\xe2\x88\x9e";
  return absl::StrFormat("%.*f", digits, v);
}

std::string FmtInterval(double lo, double hi, int digits) {
  if (std::isnan(lo) && std::isnan(hi)) return "";
  return absl::StrCat("[", Fmt(lo, digits), ", ", Fmt(hi, digits), "]");
}

std::string Tip(absl::string_view label_html, absl::string_view tip_text) {
  return absl::StrCat("<span class=\"m\" tabindex=\"0\">", label_html,
                      "<span class=\"tip\" role=\"tooltip\">", Esc(tip_text), "</span></span>");
}

std::string Page(absl::string_view title, absl::string_view nav_html, absl::string_view body_html) {
  return absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
      "<link rel=\"icon\" href=\"data:,\"><title>",
      Esc(title), " \xc2\xb7 monoroute explorer</title><style>", kCss,
      "</style></head><body><header><strong>monoroute explorer</strong>", nav_html,
      "</header><main>", body_html, "</main></body></html>\n");
}

std::string SvgHistogram(const std::vector<uint64_t>& counts, double low, double high,
                         absl::string_view label) {
  const int w = 480, h = 120, pad = 18;
  const uint64_t mx = counts.empty() ? 0 : *std::max_element(counts.begin(), counts.end());
  std::string out = absl::StrFormat(
      "<svg role=\"img\" aria-label=\"%s\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">",
      Esc(label), w, h + pad, w, h + pad);
  const double bw = counts.empty() ? 0 : static_cast<double>(w) / counts.size();
  for (size_t b = 0; b < counts.size(); ++b) {
    const double bh = mx ? static_cast<double>(counts[b]) / mx * (h - 4) : 0;
    const double lo = low + (high - low) * b / counts.size();
    const double hi = low + (high - low) * (b + 1) / counts.size();
    absl::StrAppendFormat(&out,
                          "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                          "fill=\"#0550ae\"><title>%s to %s: %d</title></rect>",
                          b * bw + 0.5, h - bh, std::max(0.5, bw - 1), bh, Fmt(lo, 2), Fmt(hi, 2),
                          counts[b]);
  }
  absl::StrAppendFormat(
      &out,
      "<line x1=\"0\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#57606a\"/>"
      "<text x=\"0\" y=\"%d\" font-size=\"11\">%s</text>"
      "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"end\">%s</text></svg>",
      h, w, h, h + 14, Fmt(low, 1), w, h + 14, Fmt(high, 1));
  return out;
}

std::string GateColour(double gate) {
  const double a = std::clamp(gate, 0.0, 1.0) * 0.85 + (gate > 0 ? 0.1 : 0.0);
  return absl::StrFormat("rgba(255,140,0,%.2f)", std::min(a, 1.0));
}

}  // namespace monoroute::analysis::explorer
