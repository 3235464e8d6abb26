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

namespace monoroute::analysis {
namespace {

constexpr int kWidth = 1600;
constexpr int kHeight = 1150;

struct Box {
  double x, y, w, h;
};

void Rgb(cairo_t* cr, int hex, double alpha = 1.0) {
  cairo_set_source_rgba(cr, ((hex >> 16) & 255) / 255.0, ((hex >> 8) & 255) / 255.0,
                        (hex & 255) / 255.0, alpha);
}

// Draws `text` with its anchor at (x, y): align 0 left, 0.5 centre, 1 right; baseline at y.
void Text(cairo_t* cr, const std::string& text, double x, double y, double size, double align = 0.0,
          bool bold = false) {
  cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL,
                         bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
  cairo_text_extents_t ext;
  cairo_text_extents(cr, text.c_str(), &ext);
  cairo_move_to(cr, x - align * ext.x_advance, y);
  cairo_show_text(cr, text.c_str());
}

void VerticalText(cairo_t* cr, const std::string& text, double x, double y, double size) {
  cairo_save(cr);
  cairo_translate(cr, x, y);
  cairo_rotate(cr, -M_PI / 2);
  Text(cr, text, 0, 0, size, 0.5);
  cairo_restore(cr);
}

// A panel frame with a title; returns the plot area (inside axes margins).
Box Panel(cairo_t* cr, const Box& b, const std::string& title) {
  Rgb(cr, 0x222222);
  Text(cr, title, b.x + 10, b.y + 26, 19, 0.0, true);
  return {b.x + 80, b.y + 50, b.w - 110, b.h - 115};
}

// Axes with y ticks from 0 to ymax and a y label.
void Axes(cairo_t* cr, const Box& a, double ymax, const std::string& ylabel, int ticks = 5) {
  cairo_set_line_width(cr, 1.0);
  for (int i = 0; i <= ticks; ++i) {
    const double v = ymax * i / ticks;
    const double y = a.y + a.h - a.h * i / ticks;
    Rgb(cr, 0xdddddd);
    cairo_move_to(cr, a.x, y);
    cairo_line_to(cr, a.x + a.w, y);
    cairo_stroke(cr);
    Rgb(cr, 0x333333);
    Text(cr, absl::StrFormat("%.2f", v), a.x - 8, y + 5, 14, 1.0);
  }
  Rgb(cr, 0x333333);
  cairo_set_line_width(cr, 1.5);
  cairo_move_to(cr, a.x, a.y);
  cairo_line_to(cr, a.x, a.y + a.h);
  cairo_line_to(cr, a.x + a.w, a.y + a.h);
  cairo_stroke(cr);
  VerticalText(cr, ylabel, a.x - 62, a.y + a.h / 2, 16);
}

cairo_status_t AppendPng(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

// Cuts `s` to at most `n` code points (never inside a UTF-8 sequence), adding "..." if cut.
std::string Shorten(const std::string& s, size_t n) {
  size_t cps = 0, i = 0;
  while (i < s.size()) {
    if (cps == n) return s.substr(0, i) + "...";
    const unsigned char c = s[i];
    i += c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    ++cps;
  }
  return s;
}

void PurityPerLayer(cairo_t* cr, const Box& b, const RunAnalysis& run,
                    const RunAnalysis* baseline) {
  const Box a = Panel(cr, b, "Pathway purity per layer vs permutation null");
  double ymax = 0.05;
  for (const auto& L : run.layers) {
    for (const auto& p : L.pathways) {
      if (std::isfinite(p.purity)) ymax = std::max(ymax, p.purity);
      if (std::isfinite(p.null_purity_mean))
        ymax = std::max(ymax, p.null_purity_mean + 3 * p.null_purity_std);
    }
  }
  if (baseline) {
    for (const auto& L : baseline->layers)
      if (std::isfinite(L.mean_purity)) ymax = std::max(ymax, L.mean_purity);
  }
  ymax = std::min(1.0, std::ceil(ymax * 1.1 * 20) / 20);
  Axes(cr, a, ymax, "purity = 1 - H / ln V");
  const size_t n = run.layers.size();
  const double slot = a.w / std::max<size_t>(n, 1);
  auto Y = [&](double v) { return a.y + a.h - a.h * std::clamp(v / ymax, 0.0, 1.0); };
  for (size_t i = 0; i < n; ++i) {
    const LayerResult& L = run.layers[i];
    const double cx = a.x + slot * (i + 0.5);
    // Null band: mean +- 2 sd of a single pathway's purity under the permutation null.
    double m = 0, v = 0;
    int k = 0;
    for (const auto& p : L.pathways) {
      if (!std::isfinite(p.null_purity_mean) || !std::isfinite(p.null_purity_std)) continue;
      m += p.null_purity_mean;
      v += p.null_purity_std;
      ++k;
    }
    if (k > 0) {
      m /= k;
      v /= k;
      Rgb(cr, 0x999999, 0.35);
      cairo_rectangle(cr, cx - slot * 0.4, Y(m + 2 * v), slot * 0.8,
                      std::max(2.0, Y(m - 2 * v) - Y(m + 2 * v)));
      cairo_fill(cr);
    }
    // Pathway dots (red when specialised), spread horizontally.
    const size_t P = L.pathways.size();
    for (size_t j = 0; j < P; ++j) {
      const auto& p = L.pathways[j];
      if (!std::isfinite(p.purity)) continue;
      const double x = cx - slot * 0.3 + slot * 0.6 * (P > 1 ? double(j) / (P - 1) : 0.5);
      Rgb(cr, p.specialised ? 0xd62728 : 0x1f77b4, 0.85);
      cairo_arc(cr, x, Y(p.purity), 4.5, 0, 2 * M_PI);
      cairo_fill(cr);
    }
    // Mean purity tick.
    Rgb(cr, 0x111111);
    cairo_set_line_width(cr, 3);
    cairo_move_to(cr, cx - slot * 0.38, Y(L.mean_purity));
    cairo_line_to(cr, cx + slot * 0.38, Y(L.mean_purity));
    cairo_stroke(cr);
    if (baseline) {
      for (const auto& B : baseline->layers) {
        if (B.layer != L.layer || !std::isfinite(B.mean_purity)) continue;
        Rgb(cr, 0xff7f0e);
        cairo_set_line_width(cr, 2.5);
        const double y = Y(B.mean_purity);
        cairo_move_to(cr, cx, y - 8);
        cairo_line_to(cr, cx + 8, y);
        cairo_line_to(cr, cx, y + 8);
        cairo_line_to(cr, cx - 8, y);
        cairo_close_path(cr);
        cairo_stroke(cr);
      }
    }
    Rgb(cr, 0x333333);
    Text(cr, absl::StrFormat("layer %u (z = %.1f)", L.layer, L.purity_z), cx, a.y + a.h + 24, 14,
         0.5);
  }
  // Legend.
  double lx = a.x + 10, ly = b.y + b.h - 12;
  Rgb(cr, 0x999999, 0.35);
  cairo_rectangle(cr, lx, ly - 12, 22, 12);
  cairo_fill(cr);
  Rgb(cr, 0x333333);
  Text(cr, "null: mean +- 2 sd", lx + 28, ly, 13);
  lx += 170;
  Rgb(cr, 0x1f77b4);
  cairo_arc(cr, lx + 6, ly - 5, 4.5, 0, 2 * M_PI);
  cairo_fill(cr);
  Rgb(cr, 0x333333);
  Text(cr, "pathway", lx + 16, ly, 13);
  lx += 85;
  Rgb(cr, 0xd62728);
  cairo_arc(cr, lx + 6, ly - 5, 4.5, 0, 2 * M_PI);
  cairo_fill(cr);
  Rgb(cr, 0x333333);
  Text(cr, "specialised (z >= threshold)", lx + 16, ly, 13);
  lx += 215;
  Rgb(cr, 0x111111);
  cairo_set_line_width(cr, 3);
  cairo_move_to(cr, lx, ly - 5);
  cairo_line_to(cr, lx + 22, ly - 5);
  cairo_stroke(cr);
  Text(cr, "layer mean", lx + 28, ly, 13);
  if (baseline) {
    lx += 110;
    Rgb(cr, 0xff7f0e);
    Text(cr, "<> baseline mean", lx, ly, 13);
  }
}

void PurityHistogram(cairo_t* cr, const Box& b, const RunAnalysis& run) {
  const Box a = Panel(cr, b, "Distribution of pathway purities (all layers)");
  constexpr int kBins = 20;
  std::vector<int> bins(kBins, 0);
  double null_sum = 0;
  int null_n = 0, total = 0;
  for (const auto& L : run.layers) {
    for (const auto& p : L.pathways) {
      if (!std::isfinite(p.purity)) continue;
      bins[std::clamp(static_cast<int>(p.purity * kBins), 0, kBins - 1)]++;
      ++total;
      if (std::isfinite(p.null_purity_mean)) {
        null_sum += p.null_purity_mean;
        ++null_n;
      }
    }
  }
  const int maxc = std::max(1, *std::max_element(bins.begin(), bins.end()));
  const int ymax = 5 * static_cast<int>(std::ceil(maxc * 1.1 / 5.0));  // ticks are integers
  Axes(cr, a, 1.0, "pathways", 5);
  // Replace the 0..1 tick labels with counts (Axes draws fractions).
  Rgb(cr, 0xffffff);
  cairo_rectangle(cr, a.x - 60, a.y - 10, 58, a.h + 20);
  cairo_fill(cr);
  Rgb(cr, 0x333333);
  for (int i = 0; i <= 5; ++i) {
    Text(cr, absl::StrFormat("%.0f", ymax * i / 5.0), a.x - 8, a.y + a.h - a.h * i / 5 + 5, 14,
         1.0);
  }
  const double bw = a.w / kBins;
  for (int i = 0; i < kBins; ++i) {
    const double h = a.h * bins[i] / ymax;
    Rgb(cr, 0x1f77b4, 0.8);
    cairo_rectangle(cr, a.x + i * bw + 1, a.y + a.h - h, bw - 2, h);
    cairo_fill(cr);
  }
  Rgb(cr, 0x333333);
  for (int i = 0; i <= 10; i += 2) {
    Text(cr, absl::StrFormat("%.1f", i / 10.0), a.x + a.w * i / 10, a.y + a.h + 20, 14, 0.5);
  }
  Text(cr, "pathway purity", a.x + a.w / 2, a.y + a.h + 44, 16, 0.5);
  if (null_n > 0) {
    const double nm = null_sum / null_n;
    const double x = a.x + a.w * nm;
    Rgb(cr, 0xd62728);
    cairo_set_line_width(cr, 2);
    const double dash[] = {6, 4};
    cairo_set_dash(cr, dash, 2, 0);
    cairo_move_to(cr, x, a.y);
    cairo_line_to(cr, x, a.y + a.h);
    cairo_stroke(cr);
    cairo_set_dash(cr, nullptr, 0, 0);
    Text(cr, absl::StrFormat("mean null purity %.3f", nm), std::min(x + 6, a.x + a.w - 200),
         a.y + 16, 14);
  }
  Rgb(cr, 0x333333);
  Text(cr, absl::StrCat(total, " pathways with load"), a.x + a.w, a.y + 36, 14, 1.0);
}

void TopPathways(cairo_t* cr, const Box& b, const RunAnalysis& run) {
  Rgb(cr, 0x222222);
  Text(cr, "Top specialised pathways (by purity z-score) and their top tokens", b.x + 10, b.y + 26,
       19, 0.0, true);
  std::vector<const PathwayResult*> all;
  for (const auto& L : run.layers)
    for (const auto& p : L.pathways)
      if (std::isfinite(p.purity_z)) all.push_back(&p);
  std::sort(all.begin(), all.end(), [](const PathwayResult* x, const PathwayResult* y) {
    return x->purity_z > y->purity_z;
  });
  const size_t rows = std::min<size_t>(all.size(), 10);
  double y = b.y + 58;
  Rgb(cr, 0x555555);
  Text(cr, "layer/path", b.x + 10, y, 14, 0, true);
  Text(cr, "purity (null)", b.x + 105, y, 14, 0, true);
  Text(cr, "z", b.x + 245, y, 14, 0, true);
  Text(cr, "KL", b.x + 305, y, 14, 0, true);
  Text(cr, "top category", b.x + 365, y, 14, 0, true);
  Text(cr, "top tokens (share)", b.x + 500, y, 14, 0, true);
  for (size_t i = 0; i < rows; ++i) {
    const PathwayResult& p = *all[i];
    y += 28;
    Rgb(cr, p.specialised ? 0xd62728 : 0x333333);
    Text(cr, absl::StrFormat("L%u / P%u", p.layer, p.pathway), b.x + 10, y, 15);
    Rgb(cr, 0x333333);
    Text(cr, absl::StrFormat("%.3f (%.3f)", p.purity, p.null_purity_mean), b.x + 105, y, 15);
    Text(cr, absl::StrFormat("%.1f", p.purity_z), b.x + 245, y, 15);
    Text(cr, absl::StrFormat("%.2f", p.kl_nats), b.x + 305, y, 15);
    Text(cr,
         p.categories.empty()
             ? std::string("-")
             : absl::StrFormat("%s %.0f%%", p.categories[0].category, 100 * p.categories[0].share),
         b.x + 365, y, 15);
    std::string toks;
    for (size_t t = 0; t < std::min<size_t>(p.top_tokens.size(), 5); ++t) {
      const auto& tk = p.top_tokens[t];
      const std::string s = tk.token.empty() ? absl::StrCat("#", tk.token_id) : tk.token;
      absl::StrAppend(&toks, t ? "  " : "", "'", Shorten(s, 10), "' ",
                      absl::StrFormat("%.0f%%", 100 * tk.share));
    }
    Text(cr, toks, b.x + 500, y, 15);
  }
  if (rows == 0) {
    Rgb(cr, 0x333333);
    Text(cr, "no pathway with load", b.x + 10, y + 30, 15);
  }
}

void Utilisation(cairo_t* cr, const Box& b, const RunAnalysis& run) {
  const Box a = Panel(cr, b, "Utilisation and load balance per layer");
  Axes(cr, a, 1.0, "share");
  const size_t n = run.layers.size();
  const double slot = a.w / std::max<size_t>(n, 1);
  for (size_t i = 0; i < n; ++i) {
    const LayerResult& L = run.layers[i];
    const double cx = a.x + slot * (i + 0.5);
    const double bw = slot * 0.3;
    const double h1 = a.h * std::clamp(L.utilisation, 0.0, 1.0);
    Rgb(cr, 0x2ca02c, 0.85);
    cairo_rectangle(cr, cx - bw - 2, a.y + a.h - h1, bw, h1);
    cairo_fill(cr);
    const double h2 = a.h * std::clamp(L.load_entropy_normalised, 0.0, 1.0);
    Rgb(cr, 0x9467bd, 0.85);
    cairo_rectangle(cr, cx + 2, a.y + a.h - h2, bw, h2);
    cairo_fill(cr);
    Rgb(cr, 0x333333);
    Text(cr, absl::StrFormat("%.2f", L.utilisation), cx - bw / 2 - 2, a.y + a.h - h1 - 6, 13, 0.5);
    Text(cr, absl::StrFormat("%.2f", L.load_entropy_normalised), cx + 2 + bw / 2,
         a.y + a.h - h2 - 6, 13, 0.5);
    Text(cr, absl::StrCat("layer ", L.layer), cx, a.y + a.h + 22, 15, 0.5);
  }
  const double ly = b.y + b.h - 12;
  Rgb(cr, 0x2ca02c, 0.85);
  cairo_rectangle(cr, a.x + 10, ly - 12, 22, 12);
  cairo_fill(cr);
  Rgb(cr, 0x333333);
  Text(cr, "utilisation (load share >= t / P)", a.x + 38, ly, 13);
  Rgb(cr, 0x9467bd, 0.85);
  cairo_rectangle(cr, a.x + 270, ly - 12, 22, 12);
  cairo_fill(cr);
  Rgb(cr, 0x333333);
  Text(cr, "load entropy / ln P", a.x + 298, ly, 13);
}

}  // namespace

absl::StatusOr<std::string> RenderReportPng(const RunAnalysis& run, const RunAnalysis* baseline) {
  std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)> surface(
      cairo_image_surface_create(CAIRO_FORMAT_RGB24, kWidth, kHeight), cairo_surface_destroy);
  std::unique_ptr<cairo_t, decltype(&cairo_destroy)> ctx(cairo_create(surface.get()),
                                                         cairo_destroy);
  cairo_t* cr = ctx.get();
  Rgb(cr, 0xffffff);
  cairo_paint(cr);
  Rgb(cr, 0x111111);
  Text(cr, absl::StrCat("Pathway monosemanticity: run ", Shorten(run.info.run_id, 48)), 20, 38, 26,
       0.0, true);
  std::string sub =
      absl::StrFormat("%u pathways, top-%u, %llu events, watermark %llu", run.info.num_pathways,
                      run.info.top_k, static_cast<unsigned long long>(run.info.events),
                      static_cast<unsigned long long>(run.info.watermark));
  if (!run.info.split.empty()) absl::StrAppend(&sub, ", split ", run.info.split);
  if (baseline) absl::StrAppend(&sub, ", baseline ", Shorten(baseline->info.run_id, 32));
  if (run.info.still_writing) absl::StrAppend(&sub, " (run still being written)");
  Rgb(cr, 0x444444);
  Text(cr, sub, 20, 66, 16);
  const double top = 85, half_w = kWidth / 2.0, half_h = (kHeight - top) / 2.0;
  PurityPerLayer(cr, {0, top, half_w, half_h}, run, baseline);
  PurityHistogram(cr, {half_w, top, half_w, half_h}, run);
  TopPathways(cr, {0, top + half_h, half_w * 1.25, half_h}, run);
  Utilisation(cr, {half_w * 1.25, top + half_h, half_w * 0.75, half_h}, run);
  cairo_surface_flush(surface.get());
  if (cairo_status(cr) != CAIRO_STATUS_SUCCESS) {
    return absl::InternalError(
        absl::StrCat("cairo drawing failed: ", cairo_status_to_string(cairo_status(cr))));
  }
  std::string png;
  const cairo_status_t st = cairo_surface_write_to_png_stream(surface.get(), AppendPng, &png);
  if (st != CAIRO_STATUS_SUCCESS) {
    return absl::InternalError(
        absl::StrCat("cairo PNG encoding failed: ", cairo_status_to_string(st)));
  }
  return png;
}

}  // namespace monoroute::analysis
