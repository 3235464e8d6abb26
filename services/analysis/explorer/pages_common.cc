// SiteLinks, measure tooltips and the small pages (runs list, login, error).
#include <ctime>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/analysis/explorer/html.h"
#include "services/analysis/explorer/pages.h"
#include "services/analysis/explorer/pages_internal.h"

namespace monoroute::analysis::explorer {

std::string SiteLinks::Runs() const { return static_site ? "" : "/"; }

std::string SiteLinks::Overview() const {
  if (static_site) return "index.html";
  return absl::StrCat("/runs/", UrlEncode(run_id), Query(split));
}

std::string SiteLinks::Query(const std::string& s) const {
  std::string q;
  if (!s.empty()) absl::StrAppend(&q, "?split=", UrlEncode(s));
  if (!checkpoint.empty()) {
    absl::StrAppend(&q, q.empty() ? "?" : "&", "checkpoint=", UrlEncode(checkpoint));
  }
  return q;
}

std::string SiteLinks::PathwayFile(uint32_t layer, uint32_t pathway) {
  return absl::StrCat("layer", layer, "_pathway", pathway, ".html");
}

std::string SiteLinks::Pathway(uint32_t layer, uint32_t pathway) const {
  if (static_site) return PathwayFile(layer, pathway);
  return PathwayInSplit(layer, pathway, split);
}

std::string SiteLinks::PathwayInSplit(uint32_t layer, uint32_t pathway,
                                      const std::string& s) const {
  if (static_site) return "";
  return absl::StrCat("/runs/", UrlEncode(run_id), "/layers/", layer, "/pathways/", pathway,
                      Query(s));
}

std::string SiteLinks::Try() const {
  return static_site ? "" : absl::StrCat("/runs/", UrlEncode(run_id), "/try", Query(""));
}

std::string SiteLinks::Compare(const std::string& baseline_run) const {
  return static_site
             ? ""
             : absl::StrCat("/runs/", UrlEncode(run_id), "/compare/", UrlEncode(baseline_run));
}

std::string MeasureTip(const std::string& m) {
  static const std::pair<const char*, const char*> kTips[] = {
      {"mi_nats",
       "I(pathway; token) over routings, in nats; excess = observed minus its "
       "within-sequence top-k permutation null (docs/analysis.md, Definitions)."},
      {"mean_kl_nats",
       "Mean over pathways of KL(pathway's tokens || layer's tokens): token "
       "specialisation corrected for token frequency, minus its null."},
      {"mean_purity", "1 - H_p / ln(vocab), mean over pathways, minus its null."},
      {"token_specialisation",
       "Mean share of a token's events routed to its top pathway, "
       "minus the same estimator's expectation under the routing null."},
      {"category_ami",
       "I(pathway; category) adjusted for chance: 0 under the label-permutation "
       "null, 1 at its ceiling."},
      {"coactivation",
       "Co-activation: share of the tokens' co-selected pathway pairs away from the load-matched "
       "expectation (0 = pairs chosen as independently as the loads allow), minus its level "
       "under that null, with its block-bootstrap interval (docs/analysis.md, Routing "
       "structure)."},
      {"locality",
       "Locality: share of a token's top-k pathways that the previous token also chose, minus "
       "the same share when each sequence's top-k sets are shuffled among its tokens (exact "
       "expectation), with its block-bootstrap interval (docs/analysis.md, Routing structure)."},
      {"cross_layer_mi",
       "Cross-layer consistency: I(pathway here; pathway in the next routed layer) for the same "
       "token, in nats, minus its level when the next layer's sets are shuffled within each "
       "sequence, with its block-bootstrap interval (docs/analysis.md, Routing structure)."},
      {"ablation_effect",
       "Mean loss increase (nats per token) on the tokens routed to the pathway when it is "
       "disabled, minus the same for its load-matched control pathways, with its 95% block-"
       "bootstrap interval (docs/engine.md, controlled ablation)."},
      {"ablation_category_tokens",
       "The pathway's routed tokens whose current token is in the category (lexicon), and the "
       "same for its load-matched controls, summed (docs/analysis.md, Per-category ablation)."},
      {"ablation_category_target",
       "Mean loss increase (nats per token) on the pathway's routed tokens of the category when "
       "the pathway is disabled (docs/analysis.md, Per-category ablation)."},
      {"ablation_category_control",
       "The null: mean loss increase over the load-matched control pathways' own tokens of the "
       "category, pooled, each control disabled alone (docs/analysis.md, Per-category "
       "ablation)."},
      {"ablation_category_difference",
       "Target minus control increase for the category; chance level 0; 95% percentile block-"
       "bootstrap interval over sequences, paired (one resample recomputes both); not computed "
       "below the minimum token count (docs/analysis.md, Per-category ablation)."},
      {"pair_lift",
       "Tokens selecting both pathways over the load-matched expectation (1 = as the loads "
       "predict); listed when the interval of its excess over the null lies above 0 "
       "(docs/analysis.md, Routing structure)."},
      {"max_violation", "MaxVio = max load / mean load - 1: 0 when perfectly balanced."},
      {"load_vs_uniform",
       "The pathway's load (tokens selecting it) over the uniform share "
       "N k / P: 1 = uniform."},
      {"mean_gate",
       "Mean renormalised gate weight over the tokens that select the pathway "
       "(gates of a token's top-k sum to 1)."},
      {"density", "Share of the layer's tokens that select the pathway."},
      {"lift",
       "Share of the token among the pathway's tokens over its share among the layer's "
       "tokens: 1 = no preference. Tokens seen fewer than min_token_count times are left "
       "out."},
      {"partner_lift",
       "Tokens selecting both pathways over the null's expectation: > 1 = they "
       "fire together more often than their loads imply."},
      {"kl_excess_nats",
       "The pathway's KL to the layer's token distribution minus its routing "
       "null, with its 95% block-bootstrap interval."},
      {"gate", "Renormalised gate weight of this pathway on the token (its top-k sum to 1)."},
      {"logit",
       "The pathway's direct effect on a token's logit: its slice of the MLP down-projection "
       "applied to its mean gated activation on its top contexts, times the final layer norm's "
       "scale, through the unembedding (docs/explorer.md)."},
      {"load_over_training",
       "Events selecting the pathway per step bucket over the uniform share (bucket events "
       "times top-k over P): 1 = uniform."},
  };
  for (const auto& [k, v] : kTips) {
    if (m == k) return v;
  }
  return absl::StrCat(m, ": see docs/analysis.md.");
}

std::string Nav(const SiteLinks& links) {
  std::string out;
  if (!links.static_site) out += "<a href=\"/\">runs</a>";
  if (!links.run_id.empty()) {
    absl::StrAppend(&out, " <a href=\"", Esc(links.Overview()), "\">run ", Esc(links.run_id),
                    "</a>");
    if (!links.static_site) absl::StrAppend(&out, " <a href=\"", Esc(links.Try()), "\">try</a>");
  }
  return out;
}

std::string RenderRunsPage(const std::vector<RunListing>& runs) {
  std::string body =
      "<h1>Runs</h1><table><thead><tr><th>run</th><th>events</th><th>state</th><th>model / "
      "balancing</th><th>splits</th><th>headline</th></tr></thead><tbody>";
  for (const RunListing& r : runs) {
    auto label = [&](const char* k) {
      auto it = r.labels.find(k);
      return it == r.labels.end() ? std::string() : it->second;
    };
    const std::string state = r.finished        ? "finished"
                              : r.still_writing ? "still writing"
                                                : "not finished";
    absl::StrAppend(&body, "<tr><td><a href=\"/runs/", UrlEncode(r.run_id), "\">", Esc(r.run_id),
                    "</a></td><td class=\"n\">", r.events, "</td><td>", state, "</td><td>",
                    Esc(label("kind")), " ", Esc(label("routing")), " / ", Esc(label("balancing")),
                    "</td><td>", Esc(absl::StrJoin(r.splits, ", ")), "</td><td>", Esc(r.headline),
                    "</td></tr>");
  }
  body += "</tbody></table>";
  if (runs.empty()) body += "<p class=\"mute\">The recorder holds no runs yet.</p>";
  return Page("runs", "<a href=\"/\">runs</a>", body);
}

std::string RenderLoginPage(const std::string& next, bool failed) {
  std::string body = "<h1>Token required</h1>";
  if (failed) body += "<p role=\"alert\"><strong>That token is not valid.</strong></p>";
  absl::StrAppend(&body,
                  "<p>This analysis service needs its bearer token (the file given to "
                  "<code>--auth-token-file</code>).</p><form method=\"post\" action=\"/login\">"
                  "<input type=\"hidden\" name=\"next\" value=\"",
                  Esc(next),
                  "\"><label for=\"token\">Token</label> <input id=\"token\" name=\"token\" "
                  "type=\"password\" autocomplete=\"current-password\" autofocus> "
                  "<button type=\"submit\">Log in</button></form>");
  return Page("login", "", body);
}

std::string RenderErrorPage(int http_code, const std::string& message) {
  return Page(absl::StrCat("error ", http_code), "<a href=\"/\">runs</a>",
              absl::StrCat("<h1>Error ", http_code, "</h1><p>", Esc(message), "</p>"));
}

}  // namespace monoroute::analysis::explorer
