// Console progress of a training job: a self-overwriting bar (step, loss, tokens/s, ETA) on a
// terminal, plain lines otherwise. Torch-free.
#ifndef MONOROUTE_COMMON_ENGINE_PROGRESS_BAR_H_
#define MONOROUTE_COMMON_ENGINE_PROGRESS_BAR_H_

#include <ostream>
#include <string>

#include "common/engine/training_observer.h"

namespace monoroute::engine {

// Formats seconds as "1h02m03s" / "2m03s" / "3s".
std::string FormatDuration(double seconds);

// Renders StepReports and messages to a stream. Not thread-safe; the stream is not owned.
class ProgressBar {
 public:
  // `tty`: overwrite one line with '\r' (true) or print a line per update (false).
  ProgressBar(std::ostream* out, bool tty, int width = 24);
  // Shows a step.
  void Update(const StepReport& r);
  // Prints a message on its own line (keeping the bar below it on a terminal).
  void Message(const std::string& line);
  // Ends the bar's line.
  void Finish();
  // The text shown for a report (without '\r' / '\n').
  std::string Render(const StepReport& r) const;

 private:
  std::ostream* out_;
  bool tty_;
  int width_;
  bool bar_shown_ = false;
};

}  // namespace monoroute::engine

#endif  // MONOROUTE_COMMON_ENGINE_PROGRESS_BAR_H_
