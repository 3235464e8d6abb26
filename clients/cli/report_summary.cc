// SummariseReport: reads the report JSON and prints fixed-width tables.
#include "clients/cli/report_summary.h"

#include <map>
#include <nlohmann/json.hpp>

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

// The excess and interval of an Effect object ({"observed","null_mean","excess","ci"}).
const json& Ex(const json& e) {
  static const json kNull;
  return e.is_object() && e.contains("excess") ? e["excess"] : kNull;
}
const json& Ci(const json& e) {
  static const json kNull;
  return e.is_object() && e.contains("ci") ? e["ci"] : kNull;
}

// Does the interval lie entirely above / below 0?
std::string Verdict(const json& ci) {
  if (!ci.is_array() || ci.size() != 2 || !Finite(ci[0]) || !Finite(ci[1])) return "";
  if (ci[0].get<double>() > 0) return " (higher)";
  if (ci[1].get<double>() < 0) return " (lower)";
  return " (no difference shown)";
}

// What each layer responds to: I(pathway; source) per source and the conditional.
void SourcesTable(const json& doc, std::string* out_ptr) {
  std::string& out = *out_ptr;
  absl::StrAppend(&out,
                  "What the routing responds to: I(pathway; source) excess over the null (nats), "
                  "95% CI:\n");
  absl::StrAppend(&out, absl::StrFormat("  %-6s %-16s %-24s %-24s %-24s %-24s\n", "layer",
                                        "verdict", "current token", "previous token", "next token",
                                        "token | previous token"));
  for (const json& L : doc["layers"]) {
    std::map<std::string, std::string> src;
    if (L.contains("sources")) {
      for (const json& s : L["sources"]) {
        src[s.value("source", "")] = WithCi(Ex(s["mi"]), Ci(s["mi"]));
      }
    }
    auto get = [&](const char* k) { return src.count(k) ? src[k] : std::string("n/a"); };
    absl::StrAppend(
        &out,
        absl::StrFormat("  %-6d %-16s %-24s %-24s %-24s %-24s\n", L.value("layer", 0),
                        L.value("routing_source", ""), get("current_token"), get("previous_token"),
                        get("next_token"),
                        WithCi(Ex(L["current_given_previous"]), Ci(L["current_given_previous"]))));
  }
}

// Token MI over the null and each recorded control, as a share of ln(P/k).
void MiTable(const json& doc, std::string* out_ptr) {
  std::string& out = *out_ptr;
  absl::StrAppend(&out,
                  "Token information in the routing, I(pathway; token) excess over the null as a "
                  "share of its ceiling ln(P/k), 95% CI:\n");
  absl::StrAppend(&out, absl::StrFormat("  %-6s %-26s %-32s %-32s\n", "layer", "trained",
                                        "minus fresh routers (step 0)", "minus dense slices"));
  for (const json& L : doc["layers"]) {
    const double ceil = Finite(L["mi_ceiling_nats"]) ? L["mi_ceiling_nats"].get<double>() : 1.0;
    auto scaled = [&](const json& v) { return Finite(v) ? json(v.get<double>() / ceil) : json(); };
    auto scaled_ci = [&](const json& ci) {
      if (!ci.is_array() || ci.size() != 2) return json();
      return json::array({scaled(ci[0]), scaled(ci[1])});
    };
    std::string cols[2];
    const char* names[2] = {"fresh_routers", "dense_slices"};
    for (int i = 0; i < 2; ++i) {
      const json* c = Control(L, names[i]);
      cols[i] = c ? WithCi(scaled(Ex((*c)["mi_delta"])), scaled_ci(Ci((*c)["mi_delta"]))) +
                        Verdict(Ci((*c)["mi_delta"]))
                  : "not recorded";
    }
    absl::StrAppend(&out, absl::StrFormat("  %-6d %-26s %-32s %-32s\n", L.value("layer", 0),
                                          WithCi(scaled(Ex(L["mi"])), scaled_ci(Ci(L["mi"]))),
                                          cols[0], cols[1]));
  }
}

// Token specialisation against its chance, category AMI, MaxVio.
void TokenSpecialisationTable(const json& doc, std::string* out_ptr) {
  std::string& out = *out_ptr;
  absl::StrAppend(&out,
                  "Token specialisation (share of a token's occurrences in its top pathway) "
                  "against its chance, and category structure:\n");
  absl::StrAppend(&out, absl::StrFormat("  %-6s %-10s %-8s %-26s %-30s %-24s %s\n", "layer",
                                        "tok.spec", "chance", "excess [95% CI]",
                                        "minus fresh routers", "category AMI [95% CI]", "MaxVio"));
  for (const json& L : doc["layers"]) {
    const json* c = Control(L, "fresh_routers");
    const json& ts = L["token_specialisation"];
    const json& ami = L["category_ami"];
    absl::StrAppend(
        &out,
        absl::StrFormat("  %-6d %-10s %-8s %-26s %-30s %-24s %s\n", L.value("layer", 0),
                        Value(ts.value("observed", json())), Value(ts.value("null_mean", json())),
                        WithCi(Ex(ts), Ci(ts)),
                        c ? WithCi(Ex((*c)["token_specialisation_delta"]),
                                   Ci((*c)["token_specialisation_delta"]))
                          : "not recorded",
                        Finite(Ex(ami)) ? WithCi(Ex(ami), Ci(ami), "%.3f") : "n/a (no labels)",
                        Value(L["max_violation"], "%.2f")));
  }
}

// The specialised pathways, with what each responds to.
void SpecialisedPathways(const json& doc, std::string* out_ptr) {
  std::string& out = *out_ptr;
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
  absl::StrAppend(&out,
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
        &out,
        absl::StrFormat("  layer %d pathway %-2d responds to %s, KL excess %s, share over "
                        "control %s  %s%s\n",
                        p.value("layer", 0), p.value("pathway", 0), p.value("routing_source", ""),
                        WithCi(Ex(p["kl"]), Ci(p["kl"]), "%.2f"),
                        WithCi(Ex(p["kl_vs_control"]), Ci(p["kl_vs_control"]), "%.2f"),
                        p.value("category_specialised", false)
                            ? absl::StrCat("[", p.value("category", ""), "] ")
                            : "",
                        toks));
  }
  if (flagged.size() > 10) absl::StrAppend(&out, "  ... ", flagged.size() - 10, " more\n");
}

// The flag counts of the trained routing and of every control.
void FlagCounts(const json& doc, std::string* out_ptr) {
  std::string& out = *out_ptr;
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
  absl::StrAppend(&out,
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
