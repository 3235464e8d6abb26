// The cairo drawing helpers (toy text API in DejaVu Sans, from fonts-dejavu).
#include "services/analysis/cairo_draw.h"

#include <algorithm>
#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace monoroute::analysis::draw {
namespace {

cairo_status_t AppendPng(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

}  // namespace

void Rgb(cairo_t* cr, int hex, double alpha) {
  cairo_set_source_rgba(cr, ((hex >> 16) & 255) / 255.0, ((hex >> 8) & 255) / 255.0,
                        (hex & 255) / 255.0, alpha);
}

// Draws `text` with its anchor at (x, y): align 0 left, 0.5 centre, 1 right; baseline at y.
void Text(cairo_t* cr, const std::string& text, double x, double y, double size, double align,
          bool bold) {
  cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL,
                         bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
  cairo_text_extents_t ext;
  cairo_text_extents(cr, text.c_str(), &ext);
  cairo_move_to(cr, x - align * ext.x_advance, y);
  cairo_show_text(cr, text.c_str());
}

void MonoText(cairo_t* cr, const std::string& text, double x, double y, double size, bool bold) {
  cairo_select_font_face(cr, "DejaVu Sans Mono", CAIRO_FONT_SLANT_NORMAL,
                         bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
  cairo_move_to(cr, x, y);
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

// A signed axis: ticks from ymin to ymax, grid lines, zero line emphasised.
YScale SignedAxes(cairo_t* cr, const Box& a, double ymin, double ymax, const std::string& ylabel,
                  int ticks) {
  cairo_set_line_width(cr, 1.0);
  for (int i = 0; i <= ticks; ++i) {
    const double v = ymin + (ymax - ymin) * i / ticks;
    const double y = a.y + a.h - a.h * i / ticks;
    Rgb(cr, 0xdddddd);
    cairo_move_to(cr, a.x, y);
    cairo_line_to(cr, a.x + a.w, y);
    cairo_stroke(cr);
    Rgb(cr, 0x333333);
    Text(cr, absl::StrFormat("%.2f", v), a.x - 8, y + 5, 14, 1.0);
  }
  if (ymin < 0 && ymax > 0) {
    const double y0 = a.y + a.h - a.h * (-ymin) / (ymax - ymin);
    Rgb(cr, 0x555555);
    cairo_set_line_width(cr, 1.5);
    cairo_move_to(cr, a.x, y0);
    cairo_line_to(cr, a.x + a.w, y0);
    cairo_stroke(cr);
  }
  Rgb(cr, 0x333333);
  cairo_set_line_width(cr, 1.5);
  cairo_move_to(cr, a.x, a.y);
  cairo_line_to(cr, a.x, a.y + a.h);
  cairo_line_to(cr, a.x + a.w, a.y + a.h);
  cairo_stroke(cr);
  VerticalText(cr, ylabel, a.x - 62, a.y + a.h / 2, 16);
  return {a, ymin, ymax};
}

// Value range [lo, hi] covering `values` and 0, padded and rounded to 0.05.
std::pair<double, double> Range(const std::vector<double>& values) {
  double lo = 0.0, hi = 0.05;
  for (double v : values) {
    if (!std::isfinite(v)) continue;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  const double pad = 0.08 * (hi - lo);
  return {std::floor((lo - (lo < 0 ? pad : 0)) * 20) / 20, std::ceil((hi + pad) * 20) / 20};
}

// A bar from 0 to v with a CI whisker, at centre x.
void Bar(cairo_t* cr, double x, double w, double v, const Interval& ci,
         const std::function<double(double)>& y_of, int colour) {
  if (!std::isfinite(v)) return;
  const double y0 = y_of(0.0), y1 = y_of(v);
  Rgb(cr, colour, 0.85);
  cairo_rectangle(cr, x - w / 2, std::min(y0, y1), w, std::abs(y1 - y0));
  cairo_fill(cr);
  if (std::isfinite(ci.low) && std::isfinite(ci.high)) {
    Rgb(cr, 0x111111);
    cairo_set_line_width(cr, 1.5);
    cairo_move_to(cr, x, y_of(ci.low));
    cairo_line_to(cr, x, y_of(ci.high));
    cairo_move_to(cr, x - w / 4, y_of(ci.low));
    cairo_line_to(cr, x + w / 4, y_of(ci.low));
    cairo_move_to(cr, x - w / 4, y_of(ci.high));
    cairo_line_to(cr, x + w / 4, y_of(ci.high));
    cairo_stroke(cr);
  }
}

void Legend(cairo_t* cr, double x, double y,
            const std::vector<std::pair<int, std::string>>& items) {
  for (const auto& [colour, label] : items) {
    Rgb(cr, colour);
    cairo_rectangle(cr, x, y - 11, 14, 14);
    cairo_fill(cr);
    Rgb(cr, 0x333333);
    Text(cr, label, x + 20, y + 1, 14);
    cairo_text_extents_t ext;
    cairo_text_extents(cr, label.c_str(), &ext);
    x += 40 + ext.x_advance;
  }
}

absl::StatusOr<std::string> EncodePng(cairo_surface_t* surface, cairo_t* cr) {
  cairo_surface_flush(surface);
  if (cairo_status(cr) != CAIRO_STATUS_SUCCESS) {
    return absl::InternalError(
        absl::StrCat("cairo drawing failed: ", cairo_status_to_string(cairo_status(cr))));
  }
  std::string png;
  const cairo_status_t st = cairo_surface_write_to_png_stream(surface, AppendPng, &png);
  if (st != CAIRO_STATUS_SUCCESS) {
    return absl::InternalError(
        absl::StrCat("cairo PNG encoding failed: ", cairo_status_to_string(st)));
  }
  return png;
}

Canvas::Canvas(int w, int h)
    : surface_(cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h), cairo_surface_destroy),
      cr_(cairo_create(surface_.get()), cairo_destroy) {
  Rgb(cr_.get(), 0xffffff);
  cairo_paint(cr_.get());
  Rgb(cr_.get(), 0x111111);
}

}  // namespace monoroute::analysis::draw
