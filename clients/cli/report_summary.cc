// SummariseReport: reads the report JSON and prints fixed-width tables.
#include "clients/cli/report_summary.h"

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace monoroute::cli {
namespace {

using nlohmann::json;

bool Finite(const json& v) { return v.is_number(); }

std::string Value(const json& v, const char* fmt = "%.3f") {
  return Finite(v) ? absl::StrFormat(fmt, v.get<double>()) : "n/a";
}

std::string WithCi(const json& v, const json& ci, const char* fmt = "%+.3f") {
  if (!Finite(v)) return "n/a";
  std::string s = absl::StrFormat(fmt, v.get<double>());
  if (ci.is_array() && ci.size() == 2 && Finite(ci[0]) && Finite(ci[1])) {
    absl::StrAppend(&s, " [", absl::StrFormat(fmt, ci[0].get<double>()), ", ",
                    absl::StrFormat(fmt, ci[1].get<double>()), "]");
  }
  return s;
}

const json* Control(const json& layer, const std::string& name) {
  if (!layer.contains("controls")) return nullptr;
  for (const json& c : layer["controls"]) {
    if (c.value("control", "") == name) return &c;
  }
  return nullptr;
}

// `key` of an Effect object ({"observed","null_mean","excess","ci"}); null when it has none.
const json& Member(const json& e, const char* key) {
  static const json kNull;
  return e.is_object() && e.contains(key) ? e[key] : kNull;
}
// The excess and interval of an Effect object.
const json& Ex(const json& e) { return Member(e, "excess"); }
const json& Ci(const json& e) { return Member(e, "ci"); }

// An Effect's excess with its interval, e.g. "+0.012 [+0.003, +0.020]" ("n/a" without one).
std::string EffectText(const json& e, const char* fmt = "%+.3f") {
  return WithCi(Ex(e), Ci(e), fmt);
}

// Does the interval lie entirely above / below 0?
std::string Verdict(const json& ci) {
  if (!ci.is_array() || ci.size() != 2 || !Finite(ci[0]) || !Finite(ci[1])) return "";
  if (ci[0].get<double>() > 0) return " (higher)";
  if (ci[1].get<double>() < 0) return " (lower)";
  return " (no difference shown)";
}

// Appends one row of a fixed-width table: two spaces, then each cell left-aligned in its column's
// width (0: as is), one space apart.
void AppendRow(std::string* out, const std::vector<int>& widths,
               const std::vector<std::string>& cells) {
  absl::StrAppend(out, " ");
  for (size_t i = 0; i < cells.size(); ++i) {
    absl::StrAppend(out, " ", absl::StrFormat("%-*s", widths[i], cells[i]));
  }
  absl::StrAppend(out, "\n");
}

// Appends a table's title line and its header row.
void AppendHead(std::string* out, const char* title, const std::vector<int>& widths,
                const std::vector<std::string>& header) {
  absl::StrAppend(out, title, "\n");
  AppendRow(out, widths, header);
}

// What each layer responds to: I(pathway; source) per source and the conditional.
void SourcesTable(const json& doc, std::string* out) {
  const std::vector<int> widths = {6, 16, 24, 24, 24, 24};
  AppendHead(out,
             "What the routing responds to: I(pathway; source) excess over the null (nats), "
             "95% CI:",
             widths,
             {"layer", "verdict", "current token", "previous token", "next token",
              "token | previous token"});
  for (const json& L : doc["layers"]) {
    std::map<std::string, std::string> src;
    if (L.contains("sources")) {
      for (const json& s : L["sources"]) src[s.value("source", "")] = EffectText(s["mi"]);
    }
    auto get = [&](const char* k) { return src.count(k) ? src[k] : std::string("n/a"); };
    AppendRow(
        out, widths,
        {std::to_string(L.value("layer", 0)), L.value("routing_source", ""), get("current_token"),
         get("previous_token"), get("next_token"), EffectText(L["current_given_previous"])});
  }
}

// Token MI over the null and each recorded control, as a share of ln(P/k).
void MiTable(const json& doc, std::string* out) {
  const std::vector<int> widths = {6, 26, 32, 32};
  AppendHead(out,
             "Token information in the routing, I(pathway; token) excess over the null as a "
             "share of its ceiling ln(P/k), 95% CI:",
             widths, {"layer", "trained", "minus fresh routers (step 0)", "minus dense slices"});
  for (const json& L : doc["layers"]) {
    const double ceil = Finite(L["mi_ceiling_nats"]) ? L["mi_ceiling_nats"].get<double>() : 1.0;
    auto scaled = [&](const json& v) { return Finite(v) ? json(v.get<double>() / ceil) : json(); };
    auto scaled_ci = [&](const json& ci) {
      if (!ci.is_array() || ci.size() != 2) return json();
      return json::array({scaled(ci[0]), scaled(ci[1])});
    };
    auto share = [&](const json& e) { return WithCi(scaled(Ex(e)), scaled_ci(Ci(e))); };
    std::vector<std::string> row = {std::to_string(L.value("layer", 0)), share(L["mi"])};
    for (const char* name : {"fresh_routers", "dense_slices"}) {
      const json* c = Control(L, name);
      row.push_back(c ? share((*c)["mi_delta"]) + Verdict(Ci((*c)["mi_delta"])) : "not recorded");
    }
    AppendRow(out, widths, row);
  }
}

// Token specialisation against its chance, category AMI, MaxVio.
void TokenSpecialisationTable(const json& doc, std::string* out) {
  const std::vector<int> widths = {6, 10, 8, 26, 30, 24, 0};
  AppendHead(out,
             "Token specialisation (share of a token's occurrences in its top pathway) "
             "against its chance, and category structure:",
             widths,
             {"layer", "tok.spec", "chance", "excess [95% CI]", "minus fresh routers",
              "category AMI [95% CI]", "MaxVio"});
  for (const json& L : doc["layers"]) {
    const json* c = Control(L, "fresh_routers");
    const json& ts = L["token_specialisation"];
    const json& ami = L["category_ami"];
    AppendRow(out, widths,
              {std::to_string(L.value("layer", 0)), Value(ts.value("observed", json())),
               Value(ts.value("null_mean", json())), EffectText(ts),
               c ? EffectText((*c)["token_specialisation_delta"]) : "not recorded",
               Finite(Ex(ami)) ? EffectText(ami, "%.3f") : "n/a (no labels)",
               Value(L["max_violation"], "%.2f")});
  }
}

// The specialised pathways, with what each responds to.
void SpecialisedPathways(const json& doc, std::string* out) {
  // Specialised pathways.
  std::vector<const json*> flagged;
  std::string reference = "null";
  for (const json& L : doc["layers"]) {
    if (L.value("specialised_reference", "") == "fresh_routers") reference = "fresh routers";
    if (L.value("specialised_reference", "") == "none")
      reference = "none (no fresh-router control)";
    if (L.value("specialised_reference", "") == "gated") {
      reference = "fresh routers (a layer whose MI is not above theirs flags nothing)";
    }
    for (const json& p : L["pathways"]) {
      if (p.value("specialised", false)) flagged.push_back(&p);
    }
  }
  absl::StrAppend(out,
                  "Specialised pathways (KL excess share of its ceiling above the control's "
                  "by the minimum effect, FDR 5%; judged against: ",
                  reference, "): ", flagged.size(), "\n");
  for (size_t i = 0; i < flagged.size() && i < 10; ++i) {
    const json& p = *flagged[i];
    std::string toks;
    for (const json& t : p["top_tokens"]) {
      if (toks.size() > 40) break;
      absl::StrAppend(&toks, toks.empty() ? "" : " ", "'", t.value("token", ""), "'");
    }
    absl::StrAppend(
        out,
        absl::StrFormat("  layer %d pathway %-2d responds to %s, KL excess %s, share over "
                        "control %s  %s%s\n",
                        p.value("layer", 0), p.value("pathway", 0), p.value("routing_source", ""),
                        EffectText(p["kl"], "%.2f"), EffectText(p["kl_vs_control"], "%.2f"),
                        p.value("category_specialised", false)
                            ? absl::StrCat("[", p.value("category", ""), "] ")
                            : "",
                        toks));
  }
  if (flagged.size() > 10) absl::StrAppend(out, "  ... ", flagged.size() - 10, " more\n");
}

// The flag counts of the trained routing and of every control.
void FlagCounts(const json& doc, std::string* out) {
  // The same counts for the controls: what untrained routing or the dense slices already show.
  uint64_t cat_flagged = 0, token_flagged_null = 0;
  std::map<std::string, std::pair<uint64_t, uint64_t>> ctl;  // control -> (vs null, category)
  for (const json& L : doc["layers"]) {
    cat_flagged += L.value("category_specialised_pathways", 0);
    for (const json& p : L["pathways"]) token_flagged_null += p.value("specialised_vs_null", false);
    if (!L.contains("controls")) continue;
    for (const json& c : L["controls"]) {
      auto& e = ctl[c.value("control", "")];
      e.first += c.value("specialised_vs_null_pathways", 0);
      e.second += c.value("category_specialised_pathways", 0);
    }
  }
  std::string ctl_text;
  for (const auto& [name, counts] : ctl) {
    absl::StrAppend(&ctl_text, "; ", name, ": ", counts.first, " and ", counts.second);
  }
  absl::StrAppend(out,
                  "Pathways token-specialised vs the null / category-specialised (label "
                  "permutation, FDR 5%): trained ",
                  token_flagged_null, " and ", cat_flagged, ctl_text, "\n");
}

}  // namespace

std::string SummariseReport(const std::string& report_json) {
  json doc = json::parse(report_json, nullptr, false);
  if (doc.is_discarded() || !doc.contains("layers")) return "report: unreadable JSON\n";
  std::string out;
  const json& run = doc["run"];
  absl::StrAppend(&out, "run ", run.value("run_id", ""), ", split '",
                  run["selection"].value("split", ""),
                  "': ", run["freshness"].value("events", uint64_t{0}), " events",
                  run["freshness"].value("finished", false) ? " (finished)" : "", "\n");
  // The answer first: one sentence per layer.
  if (doc.contains("summary") && doc["summary"].contains("answers")) {
    for (const json& a : doc["summary"]["answers"]) {
      absl::StrAppend(&out, a.get<std::string>(), "\n");
    }
  }
  SourcesTable(doc, &out);
  MiTable(doc, &out);
  TokenSpecialisationTable(doc, &out);
  SpecialisedPathways(doc, &out);
  FlagCounts(doc, &out);
  return out;
}

absl::StatusOr<std::string> ReportCardSection(const std::string& report_json) {
  json doc = json::parse(report_json, nullptr, false);
  if (doc.is_discarded() || !doc.contains("summary") || !doc["summary"].contains("answers") ||
      !doc.contains("run")) {
    return absl::InvalidArgumentError("report: no summary.answers (schema 3 or later needed)");
  }
  const json& run = doc["run"];
  std::string md = absl::StrCat(
      "From `monoroute report` of run `", run.value("run_id", ""), "` (split '",
      run["selection"].value("split", ""), "', ", run["freshness"].value("events", uint64_t{0}),
      " routing events; report schema ", doc.value("schema_version", 0),
      "; every effect is stated against its null and controls in llm_routing_results.json):\n\n");
  for (const json& a : doc["summary"]["answers"])
    absl::StrAppend(&md, "- ", a.get<std::string>(), "\n");
  return md;
}

}  // namespace monoroute::cli
