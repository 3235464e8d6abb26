// The report figure, drawn with cairo's toy text API in DejaVu Sans (fonts-dejavu).
#include "services/analysis/report_png.h"

#include <cairo.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/analysis/cairo_draw.h"
#include "services/analysis/report_answer.h"
#include "services/analysis/run_analysis.h"

namespace monoroute::analysis {
namespace {

using draw::Bar;
using draw::Box;
using draw::Legend;
using draw::MonoText;
using draw::Panel;
using draw::Range;
using draw::Rgb;
using draw::Shorten;
using draw::SignedAxes;
using draw::Text;
using draw::YScale;

constexpr int kWidth = 1600;
constexpr int kHeight = 1300;
constexpr size_t kAnswerLines = 8;

const ControlComparison* Control(const LayerResult& L, const char* name) {
  for (const auto& c : L.controls) {
    if (c.control == name) return &c;
  }
  return nullptr;
}

Interval Scale(const Interval& i, double s) { return {i.low * s, i.high * s}; }

constexpr int kTrained = 0x1f77b4, kFresh = 0xff7f0e, kDense = 0x2ca02c, kFlag = 0xd62728;

// A panel's y axis over `vals` (labelled `ylabel`) and its width per layer of the run.
struct LayerAxes {
  YScale Y;
  double slot;
};
LayerAxes AxesPerLayer(cairo_t* cr, const Box& a, const RunAnalysis& run,
                       const std::vector<double>& vals, const std::string& ylabel) {
  const auto [lo, hi] = Range(vals);
  return {SignedAxes(cr, a, lo, hi, ylabel), a.w / std::max<size_t>(run.layers.size(), 1)};
}

// Panel A: I(pathway; token) excess over the null as a share of its ceiling ln(P/k), for the
// trained routing and each control.
void ExcessPerLayer(cairo_t* cr, const Box& b, const RunAnalysis& run) {
  const Box a = Panel(cr, b, "Token information in routing: MI excess over null / ln(P/k), 95% CI");
  std::vector<double> vals;
  for (const auto& L : run.layers) {
    const double s = 1.0 / L.mi_ceiling_nats;
    vals.push_back(L.mi.excess * s);
    vals.push_back(L.mi.ci.high * s);
    for (const auto& c : L.controls) vals.push_back(c.mi.ci.high * s);
    for (const auto& c : L.controls) vals.push_back(c.mi.excess * s);
  }
  const auto [Y, slot] = AxesPerLayer(cr, a, run, vals, "excess MI / ln(P/k)");
  const size_t n = run.layers.size();
  const double bw = std::min(40.0, slot / 4.5);
  for (size_t i = 0; i < n; ++i) {
    const LayerResult& L = run.layers[i];
    const double s = 1.0 / L.mi_ceiling_nats;
    const double cx = a.x + slot * (i + 0.5);
    Bar(cr, cx - bw * 1.1, bw, L.mi.excess * s, Scale(L.mi.ci, s), Y, kTrained);
    if (const ControlComparison* c = Control(L, kFreshRoutersControl)) {
      Bar(cr, cx, bw, c->mi.excess * s, Scale(c->mi.ci, s), Y, kFresh);
    }
    if (const ControlComparison* c = Control(L, kDenseSlicesControl)) {
      Bar(cr, cx + bw * 1.1, bw, c->mi.excess * s, Scale(c->mi.ci, s), Y, kDense);
    }
    Rgb(cr, 0x333333);
    Text(cr, absl::StrCat("layer ", L.layer), cx, a.y + a.h + 22, 15, 0.5);
  }
  Legend(cr, a.x, b.y + b.h - 18,
         {{kTrained, "trained routing"},
          {kFresh, "fresh routers (step 0)"},
          {kDense, "dense slices"}});
}

// Panel B: trained minus control, with paired intervals (what training added).
void DeltaPerLayer(cairo_t* cr, const Box& b, const RunAnalysis& run) {
  const Box a = Panel(cr, b, "Trained minus control (paired over sequences), 95% CI");
  bool any = false;
  std::vector<double> vals;
  for (const auto& L : run.layers) {
    for (const auto& c : L.controls) {
      any = true;
      vals.push_back(c.mi_delta.excess / L.mi_ceiling_nats);
      vals.push_back(c.mi_delta.ci.low / L.mi_ceiling_nats);
      vals.push_back(c.mi_delta.ci.high / L.mi_ceiling_nats);
      vals.push_back(c.token_specialisation_delta.excess);
      vals.push_back(c.token_specialisation_delta.ci.low);
      vals.push_back(c.token_specialisation_delta.ci.high);
    }
  }
  if (!any) {
    Rgb(cr, 0x666666);
    Text(cr, "No controls recorded for this selection: no causal claim can be made.", a.x,
         a.y + a.h / 2, 16);
    Text(cr, "(controls are recorded on the evaluation split of routed jobs)", a.x,
         a.y + a.h / 2 + 24, 14);
    return;
  }
  const auto [Y, slot] = AxesPerLayer(cr, a, run, vals, "difference");
  const size_t n = run.layers.size();
  const double bw = std::min(30.0, slot / 6);
  for (size_t i = 0; i < n; ++i) {
    const LayerResult& L = run.layers[i];
    const double cx = a.x + slot * (i + 0.5);
    const double s = 1.0 / L.mi_ceiling_nats;
    int j = 0;
    for (const char* name : {kFreshRoutersControl, kDenseSlicesControl}) {
      const ControlComparison* c = Control(L, name);
      const int colour = j == 0 ? kFresh : kDense;
      if (c != nullptr) {
        Bar(cr, cx - bw * (2.2 - 1.1 * j), bw, c->mi_delta.excess * s, Scale(c->mi_delta.ci, s), Y,
            colour);
        cairo_save(cr);
        Bar(cr, cx + bw * (1.1 + 1.1 * j), bw, c->token_specialisation_delta.excess,
            c->token_specialisation_delta.ci, Y, colour);
        cairo_restore(cr);
      }
      ++j;
    }
    Rgb(cr, 0x333333);
    Text(cr, absl::StrCat("layer ", L.layer), cx, a.y + a.h + 22, 15, 0.5);
    Text(cr, "MI", cx - bw * 1.65, a.y + a.h + 38, 11, 0.5);
    Text(cr, "tok.spec", cx + bw * 1.65, a.y + a.h + 38, 11, 0.5);
  }
  Legend(cr, a.x, b.y + b.h - 6, {{kFresh, "minus fresh routers"}, {kDense, "minus dense slices"}});
}

// Panel C: every pathway's KL excess over the null with its interval; red = specialised; the
// orange tick marks the fresh-router control's mean pathway excess (+ the minimum effect).
void PathwayExcess(cairo_t* cr, const Box& b, const RunAnalysis& run,
                   const AnalysisOptions* options) {
  const Box a = Panel(cr, b, "Pathways: KL excess over null (nats), 95% CI; red = specialised");
  std::vector<double> vals;
  for (const auto& L : run.layers) {
    for (const auto& p : L.pathways) {
      vals.push_back(p.kl.excess);
      vals.push_back(p.kl.ci.high);
      vals.push_back(p.kl.ci.low);
    }
    if (const ControlComparison* c = Control(L, kFreshRoutersControl)) {
      vals.push_back(c->mean_kl.excess);
    }
  }
  const auto [Y, slot] = AxesPerLayer(cr, a, run, vals, "KL excess (nats)");
  const size_t n = run.layers.size();
  for (size_t i = 0; i < n; ++i) {
    const LayerResult& L = run.layers[i];
    const double x0 = a.x + slot * i + slot * 0.1, span = slot * 0.8;
    const size_t P = L.pathways.size();
    for (size_t p = 0; p < P; ++p) {
      const PathwayResult& r = L.pathways[p];
      if (!std::isfinite(r.kl.excess)) continue;
      const double x = x0 + span * (p + 0.5) / P;
      const int colour = r.specialised ? kFlag : kTrained;
      if (std::isfinite(r.kl.ci.low)) {
        Rgb(cr, colour, 0.6);
        cairo_set_line_width(cr, 1.5);
        cairo_move_to(cr, x, Y(r.kl.ci.low));
        cairo_line_to(cr, x, Y(r.kl.ci.high));
        cairo_stroke(cr);
      }
      Rgb(cr, colour);
      cairo_arc(cr, x, Y(r.kl.excess), 3.5, 0, 2 * M_PI);
      cairo_fill(cr);
    }
    if (const ControlComparison* c = Control(L, kFreshRoutersControl)) {
      Rgb(cr, kFresh);
      cairo_set_line_width(cr, 2.5);
      const double y = Y(c->mean_kl.excess);
      cairo_move_to(cr, x0, y);
      cairo_line_to(cr, x0 + span, y);
      cairo_stroke(cr);
      if (options != nullptr) {
        cairo_set_line_width(cr, 1.0);
        const double yt = Y(c->mean_kl.excess + options->min_effect_nats);
        cairo_move_to(cr, x0, yt);
        cairo_line_to(cr, x0 + span, yt);
        cairo_stroke(cr);
      }
    }
    Rgb(cr, 0x333333);
    Text(cr, absl::StrCat("layer ", L.layer, ": ", L.specialised_pathways, "/", P), x0 + span / 2,
         a.y + a.h + 22, 15, 0.5);
  }
  Legend(cr, a.x, b.y + b.h - 18,
         {{kTrained, "pathway"},
          {kFlag, "specialised (FDR-controlled)"},
          {kFresh, "fresh-router control mean (+ min effect)"}});
}

// Panel D: the specialised pathways (or a plain statement that there are none), then token
// specialisation against its chance and the load balance per layer.
void Findings(cairo_t* cr, const Box& b, const RunAnalysis& run) {
  Rgb(cr, 0x222222);
  Text(cr, "Specialised pathways (lower CI bound > min effect, FDR 5%)", b.x + 10, b.y + 26, 19,
       0.0, true);
  std::vector<const PathwayResult*> flagged;
  std::string reference = "null";
  for (const auto& L : run.layers) {
    if (L.specialised_reference == kFreshRoutersControl) reference = "fresh routers";
    for (const auto& p : L.pathways) {
      if (p.specialised) flagged.push_back(&p);
    }
  }
  std::sort(flagged.begin(), flagged.end(), [](const PathwayResult* x, const PathwayResult* y) {
    const double a =
        std::isfinite(x->kl_vs_control.ci.low) ? x->kl_vs_control.ci.low : x->kl.ci.low;
    const double c =
        std::isfinite(y->kl_vs_control.ci.low) ? y->kl_vs_control.ci.low : y->kl.ci.low;
    return a > c;
  });
  double y = b.y + 56;
  Rgb(cr, 0x444444);
  Text(cr, absl::StrCat("judged against: ", reference), b.x + 14, y, 14);
  y += 24;
  if (flagged.empty()) {
    Rgb(cr, 0x111111);
    Text(cr, "None: no pathway is more token-specific than the reference by the minimum effect.",
         b.x + 14, y, 15);
    y += 26;
  } else {
    Rgb(cr, 0x333333);
    MonoText(cr, "ly/pw  KL excess [95% CI]   vs control [95% CI]  category   top tokens", b.x + 14,
             y, 12, true);
    y += 20;
    for (size_t i = 0; i < std::min<size_t>(flagged.size(), 10); ++i) {
      const PathwayResult& p = *flagged[i];
      std::string toks;
      for (size_t t = 0; t < std::min<size_t>(p.top_tokens.size(), 4); ++t) {
        absl::StrAppend(&toks, t ? " " : "", "'", Shorten(p.top_tokens[t].token, 10), "'");
      }
      MonoText(
          cr,
          absl::StrFormat("%2u/%-2u  %5.2f [%5.2f, %5.2f]  %5.2f [%5.2f, %5.2f]  %-10s %s", p.layer,
                          p.pathway, p.kl.excess, p.kl.ci.low, p.kl.ci.high, p.kl_vs_control.excess,
                          p.kl_vs_control.ci.low, p.kl_vs_control.ci.high,
                          Shorten(p.category_specialised ? p.category : "-", 10), toks),
          b.x + 14, y, 12);
      y += 19;
    }
    if (flagged.size() > 10) {
      Text(cr, absl::StrCat("... and ", flagged.size() - 10, " more"), b.x + 14, y, 13);
      y += 19;
    }
  }
  y += 14;
  Rgb(cr, 0x222222);
  Text(cr, "Per layer", b.x + 10, y, 16, 0.0, true);
  y += 22;
  Rgb(cr, 0x333333);
  MonoText(cr, "layer tok.spec (chance) excess [95% CI]    cat. AMI [95% CI]       MaxVio util.",
           b.x + 14, y, 12, true);
  y += 20;
  for (const auto& L : run.layers) {
    const std::string ami = std::isfinite(L.category_ami.excess)
                                ? absl::StrFormat("%.3f [%.3f, %.3f]", L.category_ami.excess,
                                                  L.category_ami.ci.low, L.category_ami.ci.high)
                                : std::string("n/a (no labels)");
    MonoText(cr,
             absl::StrFormat("%5u %.3f (%.3f) %+.3f [%+.3f, %+.3f]  %-23s %6.2f %5.2f", L.layer,
                             L.token_specialisation.observed, L.token_specialisation.null_mean,
                             L.token_specialisation.excess, L.token_specialisation.ci.low,
                             L.token_specialisation.ci.high, ami, L.max_violation, L.utilisation),
             b.x + 14, y, 12);
    y += 19;
  }
}

}  // namespace

absl::StatusOr<std::string> RenderReportPng(const RunAnalysis& run, const RunAnalysis* baseline,
                                            const AnalysisOptions* options) {
  draw::Canvas canvas(kWidth, kHeight);
  cairo_t* cr = canvas.cr();
  Text(cr, absl::StrCat("What do the pathways respond to? run ", Shorten(run.info.run_id, 48)), 20,
       38, 26, 0.0, true);
  uint64_t blocks = 0;
  for (const auto& L : run.layers) blocks = std::max<uint64_t>(blocks, L.blocks);
  std::string sub = absl::StrFormat(
      "%u pathways, top-%u, %llu events, %llu sequences", run.info.num_pathways, run.info.top_k,
      static_cast<unsigned long long>(run.info.events), static_cast<unsigned long long>(blocks));
  absl::StrAppend(&sub, ", split ", run.info.split.empty() ? "all" : run.info.split);
  if (baseline) absl::StrAppend(&sub, ", baseline ", Shorten(baseline->info.run_id, 32));
  if (run.info.finished) {
    absl::StrAppend(&sub, " (run finished)");
  } else if (run.info.still_writing) {
    absl::StrAppend(&sub, " (run still being written)");
  }
  absl::StrAppend(
      &sub, ". Null: top-k sets permuted within sequences; CIs: block bootstrap over sequences.");
  Rgb(cr, 0x444444);
  Text(cr, sub, 20, 66, 15);
  // The answer, one sentence per layer (at most kAnswerLines).
  double top = 90;
  Rgb(cr, 0x111111);
  for (size_t i = 0; i < run.layers.size() && i < kAnswerLines; ++i) {
    Text(cr, Shorten(LayerAnswer(run.layers[i]), 230), 20, top, 13);
    top += 18;
  }
  const double half_w = kWidth / 2.0, half_h = (kHeight - top) / 2.0;
  ExcessPerLayer(cr, {0, top, half_w, half_h}, run);
  DeltaPerLayer(cr, {half_w, top, half_w, half_h}, run);
  PathwayExcess(cr, {0, top + half_h, half_w, half_h}, run, options);
  Findings(cr, {half_w, top + half_h, half_w, half_h}, run);
  return canvas.Png();
}

}  // namespace monoroute::analysis
