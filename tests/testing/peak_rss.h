// Peak resident memory of this process for memory-bound tests: reset the kernel's high-water mark
// (VmHWM, via /proc/self/clear_refs) before the work and read it after. Header-only; Linux.
#ifndef MONOROUTE_TESTS_TESTING_PEAK_RSS_H_
#define MONOROUTE_TESTS_TESTING_PEAK_RSS_H_

#include <sys/resource.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <string>

namespace monoroute::testing {

// Resets VmHWM to the current RSS. False where the kernel refuses (then PeakRssBytes() is the
// process's lifetime peak, an upper bound of the work's).
inline bool ResetPeakRss() {
  std::ofstream f("/proc/self/clear_refs");
  f << "5";
  f.flush();
  return f.good();
}

// The value of `key` (e.g. "VmHWM:") in /proc/self/status, in bytes (the file gives kB); -1 when
// absent or unreadable.
inline int64_t ProcStatusBytes(const std::string& key) {
  std::ifstream in("/proc/self/status");
  std::string k;
  while (in >> k) {
    if (k == key) {
      int64_t kb = 0;
      in >> kb;
      return kb * 1024;
    }
    std::string rest;
    std::getline(in, rest);
  }
  return -1;
}

// VmHWM of this process in bytes (since the last ResetPeakRss()); getrusage's ru_maxrss when
// /proc is unavailable.
inline int64_t PeakRssBytes() {
  const int64_t hwm = ProcStatusBytes("VmHWM:");
  if (hwm >= 0) return hwm;
  struct rusage ru {};
  ::getrusage(RUSAGE_SELF, &ru);
  return static_cast<int64_t>(ru.ru_maxrss) * 1024;
}

// Current RSS (VmRSS) in bytes; 0 when unavailable.
inline int64_t CurrentRssBytes() { return std::max<int64_t>(ProcStatusBytes("VmRSS:"), 0); }

}  // namespace monoroute::testing

#endif  // MONOROUTE_TESTS_TESTING_PEAK_RSS_H_
