// Build identity (see build_info.h); the version and build type come from CMake definitions.
#include "common/base/build_info.h"

#include "absl/strings/str_cat.h"

#ifndef MONOROUTE_VERSION
#define MONOROUTE_VERSION "unknown"
#endif
#ifndef MONOROUTE_BUILD_TYPE
#define MONOROUTE_BUILD_TYPE "unknown"
#endif

namespace monoroute {

const char* BuildVersion() { return MONOROUTE_VERSION; }

const char* BuildType() { return MONOROUTE_BUILD_TYPE; }

std::string BuildCompiler() {
#if defined(__clang__)
  return absl::StrCat("clang ", __clang_major__, ".", __clang_minor__, ".", __clang_patchlevel__);
#elif defined(__GNUC__)
  return absl::StrCat("gcc ", __GNUC__, ".", __GNUC_MINOR__, ".", __GNUC_PATCHLEVEL__);
#else
  return "unknown";
#endif
}

}  // namespace monoroute
