// Run-time choice of the instruction set the hand-written CPU kernels use (fused LM loss, fused
// attention, row exp, AdamW). Every kernel is compiled for each path with function target
// attributes (never whole-file -m flags, so no AVX-512 code leaks into shared inline functions),
// and the path is picked at run time from what the CPU (and OS) support, capped by a request:
// the environment variable MONOROUTE_CPU_ISA (read once, at the first kernel call) or
// SetCpuIsa() (e.g. `monoroute bench train --isa avx2`). Forcing a lower path lets one machine
// test every path; a path the CPU lacks is never executed.
#ifndef MONOROUTE_COMMON_MODEL_CPU_ISA_H_
#define MONOROUTE_COMMON_MODEL_CPU_ISA_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace monoroute::model {

// Kernel paths, ordered: a CPU that runs one runs every lower one.
enum class CpuIsa {
  kGeneric = 0,  // baseline x86-64 (SSE2) or any non-x86 CPU: compiler-vectorised C++
  kAvx2 = 1,     // AVX2 + FMA (x86-64-v3)
  kAvx512 = 2,   // AVX-512 F/BW/VL/DQ/CD (x86-64-v4)
};

// "generic", "avx2" or "avx512".
const char* CpuIsaName(CpuIsa isa);

// Parses "generic", "avx2", "avx512"; "auto" (or "") gives the best supported path. Unknown
// names are INVALID_ARGUMENT naming `field` (e.g. "--isa" or "MONOROUTE_CPU_ISA").
absl::StatusOr<CpuIsa> ParseCpuIsa(absl::string_view name, absl::string_view field);

// The best path this CPU and OS support (cpuid + XSAVE state via __builtin_cpu_supports).
// Thread-safe.
CpuIsa SupportedCpuIsa();

// The path the kernels use now: the request (SetCpuIsa, else MONOROUTE_CPU_ISA, else auto),
// which never exceeds SupportedCpuIsa(). An unparsable or unsupported MONOROUTE_CPU_ISA is
// reported once on stderr and then treated as "auto" / capped. Thread-safe (an atomic).
CpuIsa ActiveCpuIsa();

// Requests a path by name ("auto", "avx512", "avx2", "generic"). INVALID_ARGUMENT for an
// unknown name, FAILED_PRECONDITION when the CPU lacks the path (the active path is then
// unchanged). Process-wide; takes effect for kernels started afterwards. Thread-safe.
absl::Status SetCpuIsa(absl::string_view name);

}  // namespace monoroute::model

#endif  // MONOROUTE_COMMON_MODEL_CPU_ISA_H_
