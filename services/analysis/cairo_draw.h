// Small cairo drawing helpers shared by the report figure and the balancing study figure:
// text in DejaVu Sans, panels, a signed y axis, bars with interval whiskers, legends, PNG
// encoding. Stateless; each function draws on the caller's cairo context (thread-compatible).
#ifndef MONOROUTE_SERVICES_ANALYSIS_CAIRO_DRAW_H_
#define MONOROUTE_SERVICES_ANALYSIS_CAIRO_DRAW_H_

#include <cairo.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "services/analysis/layer_analysis.h"

namespace monoroute::analysis::draw {

// A rectangle in pixels.
struct Box {
  double x, y, w, h;
};

// Sets the source colour from 0xRRGGBB.
void Rgb(cairo_t* cr, int hex, double alpha = 1.0);
// Draws `text` with its anchor at (x, y): align 0 left, 0.5 centre, 1 right; baseline at y.
void Text(cairo_t* cr, const std::string& text, double x, double y, double size, double align = 0.0,
          bool bold = false);
// The same in DejaVu Sans Mono (for aligned tables).
void MonoText(cairo_t* cr, const std::string& text, double x, double y, double size,
              bool bold = false);
// Text rotated by -90 degrees, centred at (x, y).
void VerticalText(cairo_t* cr, const std::string& text, double x, double y, double size);
// A panel title; returns the plot area inside the axes margins.
Box Panel(cairo_t* cr, const Box& b, const std::string& title);
// Cuts `s` to at most `n` code points (never inside a UTF-8 sequence), adding "..." if cut.
std::string Shorten(const std::string& s, size_t n);
// Value -> pixel y on an axis from lo to hi drawn in the plot area `a` (values clamped to it).
struct YScale {
  Box a;
  double lo, hi;
  double operator()(double v) const {
    return a.y + a.h - a.h * (std::clamp(v, lo, hi) - lo) / (hi - lo);
  }
};
// A y axis from ymin to ymax with grid lines, the zero line emphasised, and a label; returns its
// value -> pixel map.
YScale SignedAxes(cairo_t* cr, const Box& a, double ymin, double ymax, const std::string& ylabel,
                  int ticks = 5);
// A range [lo, hi] covering the finite `values` and 0, padded and rounded to 0.05.
std::pair<double, double> Range(const std::vector<double>& values);
// A bar from 0 to v centred at x, with the interval `ci` as a whisker (if finite).
void Bar(cairo_t* cr, double x, double w, double v, const Interval& ci,
         const std::function<double(double)>& y_of, int colour);
// A row of colour swatches with labels starting at (x, y).
void Legend(cairo_t* cr, double x, double y, const std::vector<std::pair<int, std::string>>& items);
// Encodes the surface as PNG bytes; INTERNAL if cairo fails.
absl::StatusOr<std::string> EncodePng(cairo_surface_t* surface, cairo_t* cr);

// A white RGB image of w x h pixels with its cairo context, freed on destruction; the ink is set
// to near-black for the title.
class Canvas {
 public:
  Canvas(int w, int h);
  Canvas(const Canvas&) = delete;
  Canvas& operator=(const Canvas&) = delete;
  cairo_t* cr() const { return cr_.get(); }
  // The image as PNG bytes; INTERNAL if cairo failed.
  absl::StatusOr<std::string> Png() const { return EncodePng(surface_.get(), cr_.get()); }

 private:
  std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)> surface_;
  std::unique_ptr<cairo_t, decltype(&cairo_destroy)> cr_;
};

}  // namespace monoroute::analysis::draw

#endif  // MONOROUTE_SERVICES_ANALYSIS_CAIRO_DRAW_H_
