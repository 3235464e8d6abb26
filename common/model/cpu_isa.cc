// CPU kernel path: detection with __builtin_cpu_supports (which also checks that the OS saves
// the YMM/ZMM state), request from MONOROUTE_CPU_ISA or SetCpuIsa, kept in one atomic.
#include "common/model/cpu_isa.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/base/enum_names.h"

namespace monoroute::model {
namespace {

// Names of the paths, best first (the order errors list them).
constexpr EnumNames<CpuIsa, 3> kCpuIsaNames = {
    {{CpuIsa::kAvx512, "avx512"}, {CpuIsa::kAvx2, "avx2"}, {CpuIsa::kGeneric, "generic"}}};

constexpr int kUnset = -1;
std::atomic<int> g_active{kUnset};

CpuIsa Detect() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx2") &&
      __builtin_cpu_supports("fma")) {
    return CpuIsa::kAvx512;
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return CpuIsa::kAvx2;
#endif
  return CpuIsa::kGeneric;
}

// The request in MONOROUTE_CPU_ISA, capped to what the CPU supports; problems go to stderr once
// (this runs once, from ActiveCpuIsa).
CpuIsa FromEnvironment() {
  const CpuIsa supported = SupportedCpuIsa();
  const char* env = std::getenv("MONOROUTE_CPU_ISA");
  if (env == nullptr) return supported;
  absl::StatusOr<CpuIsa> want = ParseCpuIsa(env, "MONOROUTE_CPU_ISA");
  if (!want.ok()) {
    std::fprintf(stderr, "%s; using auto (%s)\n", std::string(want.status().message()).c_str(),
                 CpuIsaName(supported));
    return supported;
  }
  if (*want > supported) {
    std::fprintf(stderr, "MONOROUTE_CPU_ISA=%s: this CPU supports at most %s; using %s\n", env,
                 CpuIsaName(supported), CpuIsaName(supported));
    return supported;
  }
  return *want;
}

}  // namespace

const char* CpuIsaName(CpuIsa isa) { return NameOf(kCpuIsaNames, isa, "generic"); }

absl::StatusOr<CpuIsa> ParseCpuIsa(absl::string_view name, absl::string_view field) {
  if (name.empty() || name == "auto") return SupportedCpuIsa();
  if (std::optional<CpuIsa> isa = FindEnum(kCpuIsaNames, name)) return *isa;
  return UnsupportedNameError(field, name, AcceptedNames(kCpuIsaNames, {"auto"}));
}

CpuIsa SupportedCpuIsa() {
  static const CpuIsa supported = Detect();
  return supported;
}

CpuIsa ActiveCpuIsa() {
  int v = g_active.load(std::memory_order_relaxed);
  if (v == kUnset) {
    static const int from_env = static_cast<int>(FromEnvironment());
    int expected = kUnset;
    g_active.compare_exchange_strong(expected, from_env);
    v = g_active.load(std::memory_order_relaxed);
  }
  return static_cast<CpuIsa>(v);
}

absl::Status SetCpuIsa(absl::string_view name) {
  absl::StatusOr<CpuIsa> want = ParseCpuIsa(name, "CPU path");
  if (!want.ok()) return want.status();
  if (*want > SupportedCpuIsa()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "CPU path '", name, "': this CPU supports at most ", CpuIsaName(SupportedCpuIsa())));
  }
  g_active.store(static_cast<int>(*want));
  return absl::OkStatus();
}

}  // namespace monoroute::model
