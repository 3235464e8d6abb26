// The "try" page: a text form and, per token and routed layer, the chosen pathways with their
// gates (coloured by gate, each linking to its pathway page).
#include "absl/strings/str_cat.h"
#include "services/analysis/explorer/html.h"
#include "services/analysis/explorer/pages.h"
#include "services/analysis/explorer/pages_internal.h"

namespace monoroute::analysis::explorer {

std::string RenderTryPage(const std::string& run_id, const std::string& text,
                          const TryResult* result, const std::string& error,
                          const SiteLinks& links) {
  std::string body = absl::StrCat(
      "<h1>Try run ", Esc(run_id), "</h1><form method=\"get\" action=\"", Esc(links.Try()),
      "\"><label for=\"text\">Text to route through the run's checkpoint</label>"
      "<textarea id=\"text\" name=\"text\" rows=\"3\">",
      Esc(text), "</textarea>",
      links.checkpoint.empty() ? ""
                               : absl::StrCat("<input type=\"hidden\" name=\"checkpoint\" value=\"",
                                              Esc(links.checkpoint), "\">"),
      "<p><button type=\"submit\">Route</button></p></form>");
  if (!error.empty()) absl::StrAppend(&body, "<p role=\"alert\">", Esc(error), "</p>");
  if (result == nullptr) return Page(absl::StrCat("try ", run_id), Nav(links), body);
  absl::StrAppend(&body, "<p class=\"mute\">checkpoint <code>", Esc(result->checkpoint),
                  "</code>; ", result->tokens.size(), " tokens; each cell: the top-", result->top_k,
                  " pathways by gate, coloured by ", Tip("gate", MeasureTip("gate")),
                  ".</p><table id=\"routes\"><thead><tr>"
                  "<th>#</th><th>token</th>");
  for (uint32_t l : result->routed_layers) absl::StrAppend(&body, "<th>layer ", l, "</th>");
  body += "</tr></thead><tbody>";
  for (size_t i = 0; i < result->tokens.size(); ++i) {
    const TryToken& t = result->tokens[i];
    absl::StrAppend(&body, "<tr><td class=\"n\">", i, "</td><td><code>", TokenHtml(t.text),
                    "</code></td>");
    for (const engine::TokenRouting& r : t.routing) {
      body += "<td>";
      for (size_t j = 0; j < r.pathways.size(); ++j) {
        absl::StrAppend(&body, "<a class=\"route\" style=\"background:", GateColour(r.weights[j]),
                        "\" href=\"", Esc(links.Pathway(r.layer, r.pathways[j])),
                        "\" title=\"layer ", r.layer, " pathway ", r.pathways[j], ", gate ",
                        Fmt(r.weights[j], 3), "\">", r.pathways[j], " <small>",
                        Fmt(r.weights[j], 2), "</small></a>");
      }
      body += "</td>";
    }
    body += "</tr>";
  }
  body += "</tbody></table>";
  return Page(absl::StrCat("try ", run_id), Nav(links), body);
}

}  // namespace monoroute::analysis::explorer
