// The pathway page: header (load vs uniform, mean gate, the report's verdict), top contexts,
// quantile groups, gate histogram, load over training, token tables by lift, logit tables,
// co-activation partners, control links.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "services/analysis/explorer/html.h"
#include "services/analysis/explorer/pages.h"
#include "services/analysis/explorer/pages_internal.h"

namespace monoroute::analysis::explorer {
namespace {

std::string LiftTable(const std::vector<TokenLift>& rows, const char* what) {
  if (rows.empty()) return "<p class=\"mute\">No token passes the minimum count.</p>";
  std::string out =
      absl::StrCat("<table><thead><tr><th>", what, "</th><th>", Tip("lift", MeasureTip("lift")),
                   "</th><th>in pathway</th><th>in layer</th><th>share in pathway</th><th>share in "
                   "layer</th></tr></thead><tbody>");
  for (const TokenLift& t : rows) {
    absl::StrAppend(&out, "<tr><td><code>", TokenHtml(t.text), "</code></td><td class=\"n\">",
                    Fmt(t.lift, 2), "</td><td class=\"n\">", t.count_in_pathway,
                    "</td><td class=\"n\">", t.count_in_layer, "</td><td class=\"n\">",
                    Fmt(t.share_in_pathway, 4), "</td><td class=\"n\">", Fmt(t.share_in_layer, 4),
                    "</td></tr>");
  }
  return out + "</tbody></table>";
}

std::string PartnerTable(const std::vector<Partner>& rows, const std::string& null_text,
                         const SiteLinks& links, size_t max_rows) {
  std::string out = absl::StrCat("<p class=\"mute\">", Esc(null_text),
                                 "</p><table><thead><tr><th>pathway</th><th>",
                                 Tip("lift", MeasureTip("partner_lift")),
                                 "</th><th>together</th><th>expected</th></tr></thead><tbody>");
  for (size_t i = 0; i < rows.size() && i < max_rows; ++i) {
    const Partner& p = rows[i];
    absl::StrAppend(&out, "<tr><td><a href=\"", Esc(links.Pathway(p.layer, p.pathway)), "\">layer ",
                    p.layer, " pathway ", p.pathway, "</a></td><td class=\"n\">", Fmt(p.lift, 2),
                    "</td><td class=\"n\">", p.together, "</td><td class=\"n\">",
                    Fmt(p.expected, 1), "</td></tr>");
  }
  return out + "</tbody></table>";
}

// Bars of load_vs_uniform per step bucket with the uniform share (1) as a dashed line.
std::string SvgLoadBars(const std::vector<LoadBucket>& rows) {
  const int w = 480, h = 120, pad = 18;
  double mx = 1.0;
  for (const LoadBucket& b : rows) {
    if (b.load_vs_uniform == b.load_vs_uniform) mx = std::max(mx, b.load_vs_uniform);
  }
  mx *= 1.1;
  std::string out = absl::StrFormat(
      "<svg role=\"img\" aria-label=\"load over training\" width=\"%d\" height=\"%d\" "
      "viewBox=\"0 0 %d %d\">",
      w, h + pad, w, h + pad);
  const double bw = static_cast<double>(w) / std::max<size_t>(1, rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    const LoadBucket& b = rows[i];
    const double v = b.load_vs_uniform == b.load_vs_uniform ? b.load_vs_uniform : 0.0;
    const double bh = v / mx * (h - 4);
    absl::StrAppendFormat(&out,
                          "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                          "fill=\"#0550ae\"><title>steps %d&ndash;%d: %d of %d tokens = %s&times; "
                          "uniform</title></rect>",
                          i * bw + 0.5, h - bh, std::max(0.5, bw - 1), bh, b.step_low, b.step_high,
                          b.selecting, b.events, Fmt(b.load_vs_uniform, 2));
  }
  const double y1 = h - 1.0 / mx * (h - 4);
  absl::StrAppendFormat(
      &out,
      "<line x1=\"0\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#cf222e\" "
      "stroke-dasharray=\"4 3\"><title>uniform share</title></line>"
      "<line x1=\"0\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#57606a\"/>"
      "<text x=\"0\" y=\"%d\" font-size=\"11\">step %d</text>"
      "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"end\">step %d</text></svg>",
      y1, w, y1, h, w, h, h + 14, rows.empty() ? 0 : rows.front().step_low, w, h + 14,
      rows.empty() ? 0 : rows.back().step_high);
  return out;
}

std::string LoadSection(const std::vector<LoadBucket>& rows) {
  std::string out = absl::StrCat(
      "<h2 id=\"load\">", Tip("Load over training", MeasureTip("load_over_training")), "</h2>");
  if (rows.size() < 2) {
    return absl::StrCat(
        out, "<p class=\"mute\">This split was recorded at ",
        rows.empty() ? "no step" : absl::StrCat("one step (", rows[0].step_low, ")"),
        " only; the training split (<code>record.sample_rate</code> &gt; 0) shows "
        "the load over training.</p>");
  }
  return absl::StrCat(out,
                      "<p class=\"mute\">Every recorded event per step bucket: the bars are "
                      "the pathway's load over its uniform share (dashed line = 1).</p>",
                      SvgLoadBars(rows));
}

std::string LogitTable(const std::vector<LogitEntry>& rows, const char* id, const char* title) {
  std::string out = absl::StrCat("<section><h3 id=\"", id, "\">", title,
                                 "</h3><table><thead><tr><th>token</th><th>",
                                 Tip("logit", MeasureTip("logit")), "</th></tr></thead><tbody>");
  for (const LogitEntry& e : rows) {
    absl::StrAppend(&out, "<tr><td><code>", TokenHtml(e.text), "</code></td><td class=\"n\">",
                    Fmt(e.value, 3), "</td></tr>");
  }
  return out + "</tbody></table></section>";
}

std::string LogitsSection(const PathwayLogits& l) {
  std::string out = "<h2 id=\"logits\">Tokens it raises and lowers</h2>";
  if (!l.computed) {
    return absl::StrCat(out, "<p class=\"mute\">Not computed: ",
                        Esc(l.note.empty() ? "no checkpoint (give ?checkpoint=DIR under "
                                             "--allowed-root, or label the run \"checkpoint\")"
                                           : l.note),
                        "</p>");
  }
  absl::StrAppend(&out, "<p class=\"mute\">Direct effect on the logits of its output on its top ",
                  l.contexts, " contexts (checkpoint <code>", Esc(l.checkpoint),
                  "</code>): through the final layer norm's scale and the unembedding.</p>",
                  "<div class=\"cols\">", LogitTable(l.raised, "raised", "raised most"),
                  LogitTable(l.lowered, "lowered", "lowered most"), "</div>");
  return out;
}

// The stored per-category breakdown (monoroute ablate --lexicon), or how to compute one.
std::string AblationCategoryTable(const engine::AblationResult& a) {
  if (a.categories.empty()) {
    return "<p class=\"mute\">Per category: not computed (run <code>monoroute ablate</code> with "
           "<code>--lexicon DIR</code> to split the effect by the category of the current "
           "token).</p>";
  }
  std::string out = absl::StrCat(
      "<h3 id=\"ablation-categories\">Per category of the current token</h3><p "
      "class=\"mute\">Categories from <code>",
      Esc(a.category_source),
      "</code>. Null: the same load-matched controls on their tokens of the "
      "category; chance level 0; 95% paired interval. Categories with fewer than ",
      a.min_category_tokens, " routed tokens are listed without an effect.</p>",
      "<table class=\"ablation-categories\"><thead><tr><th>category</th><th>",
      Tip("tokens", MeasureTip("ablation_category_tokens")), "</th><th>",
      Tip("increase", MeasureTip("ablation_category_target")), "</th><th>",
      Tip("controls' tokens", MeasureTip("ablation_category_tokens")), "</th><th>",
      Tip("controls' increase", MeasureTip("ablation_category_control")), "</th><th>",
      Tip("difference [95% CI]", MeasureTip("ablation_category_difference")),
      "</th></tr></thead><tbody>");
  for (const engine::AblationCategoryEffect& r : a.categories) {
    const std::string effect =
        r.status == "ok" ? absl::StrCat(Fmt(r.difference.estimate, 4), " ",
                                        FmtInterval(r.difference.low, r.difference.high, 4))
                         : absl::StrCat("<span class=\"mute\">", Esc(r.status), "</span>");
    absl::StrAppend(&out, "<tr><td>", Esc(r.category), "</td><td class=\"n\">", r.tokens,
                    "</td><td class=\"n\">", Fmt(r.target_increase, 4), "</td><td class=\"n\">",
                    r.control_tokens, "</td><td class=\"n\">", Fmt(r.control_increase, 4),
                    "</td><td class=\"n\">", effect, "</td></tr>");
  }
  return out + "</tbody></table>";
}

// The stored controlled ablation (monoroute ablate --save), or why there is none.
std::string AblationSection(const PathwayProfile& p) {
  const PathwayAblation& a = p.ablation;
  std::string out = absl::StrCat("<h2 id=\"ablation\">Controlled ablation</h2>");
  const std::string how = absl::StrCat(
      "Store one with <code>monoroute ablate --model CHECKPOINT --data FILE --layer ", p.layer,
      " --pathway ", p.pathway, " --save</code>",
      a.path.empty() ? "" : absl::StrCat(" (it writes <code>", Esc(a.path), "</code>)"), ".");
  if (!a.found) {
    return absl::StrCat(out, "<p class=\"mute\">No ablation result for this run",
                        a.note.empty() ? " (no checkpoint: give ?checkpoint=DIR or label the run "
                                         "\"checkpoint\")"
                                       : absl::StrCat(": ", Esc(a.note)),
                        ". ", how, "</p>");
  }
  const engine::AblationResult& r = a.result;
  std::vector<std::string> controls;
  for (const engine::AblationControl& c : r.controls) controls.push_back(absl::StrCat(c.pathway));
  absl::StrAppend(
      &out, "<p class=\"answer\">", Tip("Controlled effect", MeasureTip("ablation_effect")), " ",
      Fmt(r.effect_difference.estimate, 4), " nats ",
      FmtInterval(r.effect_difference.low, r.effect_difference.high, 4),
      ": disabling the pathway raises the loss on its ", r.selected_tokens, " routed tokens by ",
      Fmt(r.target_effect, 4), ", its load-matched controls (pathways ",
      Esc(absl::StrJoin(controls, ", ")), ") raise theirs by ", Fmt(r.control_effect, 4),
      ".</p><table><thead><tr><th>its routed tokens</th><th>tokens</th><th>loss increase</th>"
      "</tr></thead><tbody><tr><td>its most frequent token ids</td><td class=\"n\">",
      r.top_token_count, "</td><td class=\"n\">", Fmt(r.top_increase, 4),
      "</td></tr><tr><td>the rest</td><td class=\"n\">", r.rest_token_count,
      "</td><td class=\"n\">", Fmt(r.rest_increase, 4),
      "</td></tr><tr><td>difference</td><td></td><td class=\"n\">", Fmt(r.top_vs_rest.estimate, 4),
      " ", FmtInterval(r.top_vs_rest.low, r.top_vs_rest.high, 4),
      "</td></tr></tbody></table><p class=\"mute\">95% percentile intervals, block bootstrap over ",
      r.sequences, " evaluation sequences (", r.bootstrap, " replicates). Read from <code>",
      Esc(a.path), "</code>.</p>", AblationCategoryTable(r));
  return out;
}

std::string Header(const PathwayProfile& p, const PathwaySummaryView* row) {
  std::string out = absl::StrCat(
      "<h1>Layer ", p.layer, " &middot; pathway ", p.pathway, "</h1><p>neuron slice ", p.pathway,
      " of ", p.num_pathways, " (top-", p.top_k, " routing); split <code>", Esc(p.split),
      "</code></p><p>", Tip("load", MeasureTip("load_vs_uniform")), " ", p.load, " of ",
      p.layer_events, " tokens = ", Fmt(p.load_vs_uniform, 2), "&times; uniform &middot; ",
      Tip("density", MeasureTip("density")), " ", Fmt(p.density, 4), " &middot; ",
      Tip("mean gate", MeasureTip("mean_gate")), " ", Fmt(p.mean_gate, 3), "</p>");
  if (row != nullptr) {
    absl::StrAppend(&out, "<p class=\"answer\">", Tip("KL excess", MeasureTip("kl_excess_nats")),
                    " ", Fmt(row->kl_excess, 3), " nats ",
                    FmtInterval(row->kl_ci.low, row->kl_ci.high, 3), "; ",
                    row->specialised ? "<strong>specialised</strong>" : "not flagged specialised",
                    row->category_specialised ? "; category-enriched" : "");
    if (!row->responds_to.empty()) absl::StrAppend(&out, "; responds to ", Esc(row->responds_to));
    out += "</p>";
  }
  return out;
}

}  // namespace

std::string ContextHtml(const Context& c, uint32_t top_k) {
  std::string out = "<div class=\"ctx\">";
  for (size_t i = 0; i < c.tokens.size(); ++i) {
    const ContextToken& t = c.tokens[i];
    if (i == c.routed_index) {
      std::vector<std::string> co;
      for (uint32_t q : c.co_selected) co.push_back(absl::StrCat(q));
      absl::StrAppend(
          &out, "<mark class=\"hit\" tabindex=\"0\" data-gate=\"", Fmt(c.gate, 3), "\">",
          TokenHtml(t.text), "<span class=\"tip\" role=\"tooltip\">gate ", Fmt(c.gate, 3),
          " &middot; rank ", c.rank, " of ", top_k, " &middot; with pathways ",
          absl::StrJoin(co, ", "), " &middot; next token <code>", TokenHtml(c.next_text),
          "</code> &middot; sequence ", c.sequence_id, " position ", c.position, "</span></mark>");
    } else if (t.gate > 0) {
      absl::StrAppend(&out, "<span class=\"t\" style=\"background:", GateColour(t.gate * 0.6),
                      "\" title=\"gate ", Fmt(t.gate, 3), "\">", TokenHtml(t.text), "</span>");
    } else {
      absl::StrAppend(&out, "<span class=\"t\">", TokenHtml(t.text), "</span>");
    }
  }
  return out + "</div>";
}

std::string RenderPathwayPage(const PathwayProfile& p, const PathwaySummaryView* row,
                              const std::vector<std::string>& control_splits,
                              const SiteLinks& links) {
  std::string body = Header(p, row);
  absl::StrAppend(&body, "<h2 id=\"top\">Top contexts</h2><p class=\"mute\">The ",
                  p.top_contexts.size(),
                  " tokens with the highest gate; the routed token is highlighted (focus or hover "
                  "it for its gate, rank, co-selected pathways and next token), neighbours shaded "
                  "by this pathway's gate on them.</p>");
  for (const Context& c : p.top_contexts) body += ContextHtml(c, p.top_k);
  if (p.top_contexts.empty()) body += "<p class=\"mute\">No token selects this pathway.</p>";
  body += "<h2 id=\"quantiles\">Contexts by gate quantile</h2>";
  for (const QuantileGroup& g : p.quantile_groups) {
    absl::StrAppend(&body, "<h3>quantile ", Fmt(g.quantile_low, 2), "&ndash;",
                    Fmt(g.quantile_high, 2), ": gate ", Fmt(g.gate_low, 3), "&ndash;",
                    Fmt(g.gate_high, 3), " (", g.events, " tokens)</h3>");
    for (const Context& c : g.examples) body += ContextHtml(c, p.top_k);
  }
  absl::StrAppend(&body, "<h2 id=\"hist\">Gate histogram</h2>",
                  SvgHistogram(p.gate_histogram.counts, p.gate_histogram.low, p.gate_histogram.high,
                               "gate weight histogram"));
  body += LoadSection(p.load_over_training);
  absl::StrAppend(&body, "<div class=\"cols\"><section><h2 id=\"tokens\">Tokens by lift</h2>",
                  LiftTable(p.tokens_by_lift, "token"),
                  "</section><section><h2 id=\"next\">Next tokens by lift</h2>",
                  LiftTable(p.next_tokens_by_lift, "next token"), "</section></div>");
  body += LogitsSection(p.logits);
  if (!links.static_site || p.ablation.found) body += AblationSection(p);
  absl::StrAppend(&body, "<h2 id=\"partners\">Co-activation: same layer</h2>",
                  PartnerTable(p.same_layer_partners, p.same_layer_null, links, 8));
  if (p.has_next_layer) {
    absl::StrAppend(&body, "<h2>Co-activation: next routed layer (", p.next_layer, ")</h2>",
                    PartnerTable(p.next_layer_partners, p.next_layer_null, links, 8));
  }
  if (!links.static_site && !control_splits.empty()) {
    body += "<h2>The same pathway in the controls</h2><ul>";
    for (const std::string& s : control_splits) {
      absl::StrAppend(&body, "<li><a href=\"", Esc(links.PathwayInSplit(p.layer, p.pathway, s)),
                      "\">", Esc(s), "</a></li>");
    }
    body += "</ul>";
  }
  return Page(absl::StrCat("layer ", p.layer, " pathway ", p.pathway), Nav(links), body);
}

}  // namespace monoroute::analysis::explorer
