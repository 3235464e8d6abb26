// The build's identity, described once for every binary: version, build type and compiler
// (`monoroute version` and every service's `monoroute_<svc>_build_info` metric print these).
#ifndef MONOROUTE_COMMON_BASE_BUILD_INFO_H_
#define MONOROUTE_COMMON_BASE_BUILD_INFO_H_

#include <string>

namespace monoroute {

// The project version (CMake's PROJECT_VERSION), e.g. "0.1.0".
const char* BuildVersion();

// The CMake build type this binary was compiled with, e.g. "Release".
const char* BuildType();

// The compiler that built this binary, e.g. "gcc 12.2.0" or "clang 14.0.6".
std::string BuildCompiler();

}  // namespace monoroute

#endif  // MONOROUTE_COMMON_BASE_BUILD_INFO_H_
