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

// Does the interval lie entirely above / below 0?
std::string Verdict(const json& ci) {
  if (!ci.is_array() || ci.size() != 2 || !Finite(ci[0]) || !Finite(ci[1])) return "";
  if (ci[0].get<double>() > 0) return " (higher)";
  if (ci[1].get<double>() < 0) return " (lower)";
  return " (no difference shown)";
}

}  // namespace

std::string SummariseReport(const std::string& report_json) {
  json doc = json::parse(report_json, nullptr, false);
  if (doc.is_discarded() || !doc.contains("layers")) return "report: unreadable JSON\n";
  std::string out;
  const json& run = doc["run"];
  absl::StrAppend(&out, "run ", run.value("run_id", ""), ", split '",
                  run["selection"].value("split", ""), "': ",
                  run["freshness"].value("events", uint64_t{0}), " events",
                  run["freshness"].value("finished", false) ? " (finished)" : "", "\n");
  absl::StrAppend(&out,
                  "Token information in the routing, I(pathway; token) excess over the null as a "
                  "share of its ceiling ln(P/k), 95% CI:\n");
  absl::StrAppend(&out, absl::StrFormat("  %-6s %-26s %-32s %-32s\n", "layer", "trained",
                                        "minus fresh routers (step 0)", "minus dense slices"));
  for (const json& L : doc["layers"]) {
    const double ceil = Finite(L["mi_ceiling_nats"]) ? L["mi_ceiling_nats"].get<double>() : 1.0;
    auto scaled = [&](const json& v) { return Finite(v) ? json(v.get<double>() / ceil) : json(); };
    auto scaled_ci = [&](const json& ci) {
      if (!ci.is_array()) return json();
      return json::array({scaled(ci[0]), scaled(ci[1])});
    };
    std::string cols[2];
    const char* names[2] = {"fresh_routers", "dense_slices"};
    for (int i = 0; i < 2; ++i) {
      const json* c = Control(L, names[i]);
      cols[i] = c ? WithCi(scaled((*c)["mi_excess_delta"]), scaled_ci((*c)["mi_excess_delta_ci"])) +
                        Verdict((*c)["mi_excess_delta_ci"])
                  : "not recorded";
    }
    absl::StrAppend(&out, absl::StrFormat("  %-6d %-26s %-32s %-32s\n", L.value("layer", 0),
                                          WithCi(scaled(L["mi_excess_nats"]),
                                                 scaled_ci(L["mi_excess_ci"])),
                                          cols[0], cols[1]));
  }
  absl::StrAppend(&out, "Token specialisation (share of a token's occurrences in its top pathway) "
                        "against its chance, and category structure:\n");
  absl::StrAppend(&out, absl::StrFormat("  %-6s %-10s %-8s %-26s %-30s %-24s %s\n", "layer", "tok.spec",
                                        "chance", "excess [95% CI]", "minus fresh routers",
                                        "category AMI [95% CI]", "MaxVio"));
  for (const json& L : doc["layers"]) {
    const json* c = Control(L, "fresh_routers");
    absl::StrAppend(
        &out,
        absl::StrFormat("  %-6d %-10s %-8s %-26s %-30s %-24s %s\n", L.value("layer", 0),
                        Value(L["token_specialisation"]), Value(L["token_specialisation_chance"]),
                        WithCi(L["token_specialisation_excess"], L["token_specialisation_excess_ci"]),
                        c ? WithCi((*c)["token_specialisation_excess_delta"],
                                   (*c)["token_specialisation_excess_delta_ci"])
                          : "not recorded",
                        Finite(L["category_ami"])
                            ? WithCi(L["category_ami"], L["category_ami_ci"], "%.3f")
                            : "n/a (no labels)",
                        Value(L["max_violation"], "%.2f")));
  }
  // Specialised pathways.
  std::vector<const json*> flagged;
  std::string reference = "null";
  for (const json& L : doc["layers"]) {
    if (L.value("specialised_reference", "") == "fresh_routers") reference = "fresh routers";
    if (L.value("specialised_reference", "") == "none") reference = "none (no bootstrap)";
    for (const json& p : L["pathways"]) {
      if (p.value("specialised", false)) flagged.push_back(&p);
    }
  }
  absl::StrAppend(&out, "Specialised pathways (KL excess lower bound > min effect, FDR 5%; judged "
                        "against: ", reference, "): ", flagged.size(), "\n");
  for (size_t i = 0; i < flagged.size() && i < 10; ++i) {
    const json& p = *flagged[i];
    std::string toks;
    for (const json& t : p["top_tokens"]) {
      if (toks.size() > 40) break;
      absl::StrAppend(&toks, toks.empty() ? "" : " ", "'", t.value("token", ""), "'");
    }
    absl::StrAppend(&out, absl::StrFormat("  layer %d pathway %-2d KL excess %s, vs control %s  %s%s\n",
                                          p.value("layer", 0), p.value("pathway", 0),
                                          WithCi(p["kl_excess_nats"], p["kl_excess_ci"], "%.2f"),
                                          WithCi(p["kl_excess_vs_control_nats"],
                                                 p["kl_excess_vs_control_ci"], "%.2f"),
                                          p.value("category_specialised", false)
                                              ? absl::StrCat("[", p.value("enriched_category", ""),
                                                             "] ")
                                              : "",
                                          toks));
  }
  if (flagged.size() > 10) absl::StrAppend(&out, "  ... ", flagged.size() - 10, " more\n");
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
  absl::StrAppend(&out, "Pathways token-specialised vs the null / category-specialised (label "
                        "permutation, FDR 5%): trained ",
                  token_flagged_null, " and ", cat_flagged, ctl_text, "\n");
  return out;
}

}  // namespace monoroute::cli
