// The run overview (per layer the answer, effects with intervals against each null and control,
// MaxVio, the pathway grid) and the side-by-side comparison of two runs.
#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/analysis/explorer/html.h"
#include "services/analysis/explorer/pages.h"
#include "services/analysis/explorer/pages_internal.h"

namespace monoroute::analysis::explorer {
namespace {

std::string EffectsTable(const LayerView& L) {
  std::string out =
      "<table><thead><tr><th>measure</th><th>against</th><th>observed</th><th>null / "
      "control</th><th>excess</th><th>95% interval</th></tr></thead><tbody>";
  for (const EffectView& e : L.effects) {
    absl::StrAppend(&out, "<tr><td>", Tip(Esc(e.measure), MeasureTip(e.measure)), "</td><td>",
                    Esc(e.against), "</td><td class=\"n\">", Fmt(e.observed, 4),
                    "</td><td class=\"n\">", Fmt(e.null_mean, 4), "</td><td class=\"n\">",
                    Fmt(e.excess, 4), "</td><td class=\"n\">", FmtInterval(e.ci.low, e.ci.high, 4),
                    "</td></tr>");
  }
  return out + "</tbody></table>";
}

// The layer's routing structure: co-activation, locality, consistency with the next routed
// layer (each against its null, with its interval) and the most co-activated pairs.
std::string StructureHtml(const LayerView& L, const SiteLinks& links) {
  if (L.structure.empty()) return "";
  std::string out =
      "<h3>Routing structure</h3><table><thead><tr><th>measure</th><th>against</th>"
      "<th>observed</th><th>null</th><th>excess</th><th>95% interval</th></tr></thead><tbody>";
  for (const EffectView& e : L.structure) {
    std::string name = e.measure == "coactivation" ? "co-activation"
                       : e.measure == "locality"
                           ? "locality"
                           : absl::StrCat("consistency with layer ", L.next_routed_layer);
    absl::StrAppend(&out, "<tr><td>", Tip(Esc(name), MeasureTip(e.measure)), "</td><td>",
                    Esc(e.against), "</td><td class=\"n\">", Fmt(e.observed, 4),
                    "</td><td class=\"n\">", Fmt(e.null_mean, 4), "</td><td class=\"n\">",
                    Fmt(e.excess, 4), "</td><td class=\"n\">", FmtInterval(e.ci.low, e.ci.high, 4),
                    "</td></tr>");
  }
  out += "</tbody></table>";
  if (L.top_pairs.empty()) return out;
  absl::StrAppend(&out, "<p>Most co-activated pairs (", Tip("lift", MeasureTip("pair_lift")),
                  " above the null):");
  for (const PairView& p : L.top_pairs) {
    absl::StrAppend(&out, " <a href=\"", Esc(links.Pathway(L.layer, p.pathway_a)), "\">",
                    p.pathway_a, "</a>+<a href=\"", Esc(links.Pathway(L.layer, p.pathway_b)), "\">",
                    p.pathway_b, "</a> ", Fmt(p.lift, 2), "&times; (", p.together, " tokens, ",
                    Fmt(p.expected, 1), " expected);");
  }
  return out + "</p>";
}

std::string GridHtml(const LayerGrid& g, const LayerView* L, const SiteLinks& links) {
  std::string out = "<div class=\"grid\">";
  double max_ratio = 1.0;
  for (const GridCell& c : g.cells) max_ratio = std::max(max_ratio, c.load_vs_uniform);
  for (const GridCell& c : g.cells) {
    const PathwaySummaryView* row = nullptr;
    if (L != nullptr) {
      for (const PathwaySummaryView& p : L->pathways) {
        if (p.pathway == c.pathway) row = &p;
      }
    }
    const bool spec = row != nullptr && (row->specialised || row->category_specialised);
    absl::StrAppend(
        &out, "<a class=\"cell", spec ? " spec" : "", "\" href=\"",
        Esc(links.Pathway(g.layer, c.pathway)), "\"><strong>pathway ", c.pathway, "</strong>",
        spec ? " <span title=\"flagged specialised\">&#9733;</span>" : "",
        "<div class=\"bar\" title=\"load vs uniform ", Fmt(c.load_vs_uniform, 2),
        "\"><i style=\"width:", Fmt(std::min(100.0, 100.0 * c.load_vs_uniform / max_ratio), 1),
        "%\"></i></div><span class=\"mute\">load ", Fmt(c.load_vs_uniform, 2),
        "&times; uniform, gate ", Fmt(c.mean_gate, 2), "</span>");
    if (row != nullptr) {
      absl::StrAppend(&out, "<br><span class=\"mute\">KL excess ", Fmt(row->kl_excess, 3), " ",
                      FmtInterval(row->kl_ci.low, row->kl_ci.high, 3), "</span>");
      if (!row->responds_to.empty()) {
        absl::StrAppend(&out, "<br>responds to: ", Esc(row->responds_to));
      }
    }
    std::vector<std::string> toks;
    for (const TokenLift& t : c.top_tokens) {
      toks.push_back(absl::StrCat("<code>", TokenHtml(t.text), "</code>"));
    }
    if (!toks.empty()) absl::StrAppend(&out, "<br>", absl::StrJoin(toks, " "));
    out += "</a>";
  }
  return out + "</div>";
}

}  // namespace

std::string RenderOverviewPage(const OverviewInput& in, const SiteLinks& links) {
  std::string body = absl::StrCat("<h1>Run ", Esc(in.run_id), "</h1><p class=\"mute\">split <code>",
                                  Esc(in.split), "</code>, ", in.events, " events read");
  for (const auto& [k, v] : in.labels) absl::StrAppend(&body, " &middot; ", Esc(k), "=", Esc(v));
  body += "</p>";
  if (in.report != nullptr && !in.report->headline.empty()) {
    absl::StrAppend(&body, "<p class=\"answer\">", Esc(in.report->headline), "</p>");
  }
  if (in.report == nullptr) {
    absl::StrAppend(&body, "<p role=\"alert\">No report: ", Esc(in.report_error), "</p>");
  }
  if (!links.static_site && !in.other_runs.empty()) {
    body += "<form method=\"get\" action=\"/compare\"><input type=\"hidden\" name=\"run\" value=\"";
    absl::StrAppend(&body, Esc(in.run_id),
                    "\"><label for=\"base\">Compare with</label> <select id=\"base\" "
                    "name=\"baseline\">");
    for (const std::string& r : in.other_runs) {
      absl::StrAppend(&body, "<option>", Esc(r), "</option>");
    }
    body += "</select> <button type=\"submit\">compare</button></form>";
  }
  for (const LayerGrid& g : in.grids) {
    const LayerView* L = in.report ? in.report->Layer(g.layer) : nullptr;
    absl::StrAppend(&body, "<h2 id=\"layer", g.layer, "\">Layer ", g.layer, "</h2>");
    if (L != nullptr && !L->answer.empty()) {
      absl::StrAppend(&body, "<p class=\"answer\">", Esc(L->answer), "</p>");
    }
    absl::StrAppend(&body, "<p>", g.events, " tokens; ", Tip("MaxVio", MeasureTip("max_violation")),
                    " ", Fmt(g.max_violation, 3));
    if (L != nullptr && !L->routing_source.empty()) {
      absl::StrAppend(&body, "; routing source ", Esc(L->routing_source));
    }
    body += "</p>";
    if (L != nullptr && !L->effects.empty()) body += EffectsTable(*L);
    if (L != nullptr) body += StructureHtml(*L, links);
    body += GridHtml(g, L, links);
  }
  if (!links.static_site && !in.control_splits.empty()) {
    body += "<h2>Controls</h2><ul>";
    for (const std::string& c : in.control_splits) {
      absl::StrAppend(&body, "<li><a href=\"/runs/", UrlEncode(in.run_id), "?split=", UrlEncode(c),
                      "\">", Esc(c), "</a></li>");
    }
    body += "</ul>";
  }
  return Page(absl::StrCat("run ", in.run_id), Nav(links), body);
}

std::string RenderComparePage(const ReportView& run, const ReportView& baseline,
                              const SiteLinks& links) {
  std::string body = absl::StrCat("<h1>", Esc(run.run_id), " vs ", Esc(baseline.run_id),
                                  "</h1><div class=\"cols\">");
  for (const ReportView* r : {&run, &baseline}) {
    absl::StrAppend(&body, "<section><h2>", Esc(r->run_id), "</h2><p class=\"answer\">",
                    Esc(r->headline), "</p>");
    for (const LayerView& L : r->layers) {
      absl::StrAppend(&body, "<h3>Layer ", L.layer, "</h3><p>", Esc(L.answer), "</p><p>",
                      Tip("MaxVio", MeasureTip("max_violation")), " ", Fmt(L.max_violation, 3),
                      "</p>", EffectsTable(L));
    }
    body += "</section>";
  }
  body += "</div>";
  return Page(absl::StrCat(run.run_id, " vs ", baseline.run_id), Nav(links), body);
}

}  // namespace monoroute::analysis::explorer
