// Progress bar rendering.
#include "common/engine/progress_bar.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_format.h"

namespace monoroute::engine {

std::string FormatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  int64_t s = static_cast<int64_t>(std::llround(seconds));
  int64_t h = s / 3600, m = (s % 3600) / 60, sec = s % 60;
  if (h > 0) return absl::StrFormat("%dh%02dm%02ds", h, m, sec);
  if (m > 0) return absl::StrFormat("%dm%02ds", m, sec);
  return absl::StrFormat("%ds", sec);
}

ProgressBar::ProgressBar(std::ostream* out, bool tty, int width)
    : out_(out), tty_(tty), width_(width) {}

std::string ProgressBar::Render(const StepReport& r) const {
  double frac = r.total_steps > 0 ? static_cast<double>(r.step) / r.total_steps : 0.0;
  frac = std::clamp(frac, 0.0, 1.0);
  std::string text = absl::StrFormat("step %d/%d loss %.4f", r.step, r.total_steps, r.lm_loss);
  if (!r.balance.empty()) absl::StrAppendFormat(&text, " bal %.4f", r.balance_loss);
  absl::StrAppendFormat(&text, " lr %.2e %.0f tok/s ETA %s", r.lr, r.tokens_per_s,
                        FormatDuration(r.eta_s));
  if (!tty_) return text;
  int filled = static_cast<int>(std::lround(frac * width_));
  return absl::StrFormat("[%s%s] %3d%% %s", std::string(filled, '#'),
                         std::string(width_ - filled, '.'), static_cast<int>(frac * 100), text);
}

void ProgressBar::Update(const StepReport& r) {
  if (tty_) {
    *out_ << "\r" << Render(r) << "\x1b[K" << std::flush;
    bar_shown_ = true;
  } else {
    *out_ << Render(r) << "\n" << std::flush;
  }
}

void ProgressBar::Message(const std::string& line) {
  if (tty_ && bar_shown_) *out_ << "\r\x1b[K";
  *out_ << line << "\n" << std::flush;
  bar_shown_ = false;
}

void ProgressBar::Finish() {
  if (tty_ && bar_shown_) *out_ << "\n" << std::flush;
  bar_shown_ = false;
}

}  // namespace monoroute::engine
