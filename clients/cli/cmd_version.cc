// `monoroute version [--output json]`: the tool's version and build configuration: LibTorch, CUDA
// (available, runtime version, devices), gRPC / Protobuf / RocksDB (builds with the services), the
// BLAS library loaded (OpenBLAS' own configuration string when it is OpenBLAS), compiler, build
// type, the CPU kernel path, the executable and the data directories it resolved
// (common/base/data_dirs.h).
#include <ATen/detail/CUDAHooksInterface.h>
#include <dlfcn.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/strings/str_cat.h"
#include "clients/cli/command.h"
#include "common/base/build_info.h"
#include "common/base/data_dirs.h"
#include "common/model/cpu_isa.h"

#ifdef MONOROUTE_WITH_SERVICES_BUILD
#include <google/protobuf/stubs/common.h>
#include <grpcpp/grpcpp.h>
#include <rocksdb/version.h>
#endif

namespace monoroute::cli {
namespace {

// The BLAS shared library mapped into this process (from /proc/self/maps), or "".
std::string LoadedBlas() {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    const size_t slash = line.find('/');
    if (slash == std::string::npos) continue;
    const std::string path = line.substr(slash);
    const std::string base = path.substr(path.rfind('/') + 1);
    if (base.rfind("libblas", 0) == 0 || base.rfind("libopenblas", 0) == 0 ||
        base.rfind("libmkl_rt", 0) == 0 || base.rfind("libblis", 0) == 0) {
      return path;
    }
  }
  return "";
}

// OpenBLAS' configuration string ("OpenBLAS 0.3.21 DYNAMIC_ARCH ...") when OpenBLAS is loaded.
nlohmann::json OpenBlasConfig() {
  using Fn = char* (*)();
  auto fn = reinterpret_cast<Fn>(::dlsym(RTLD_DEFAULT, "openblas_get_config"));
  if (fn == nullptr) return nullptr;
  return std::string(fn());
}

nlohmann::json Cuda() {
  nlohmann::json c = {{"available", torch::cuda::is_available()},
                      {"devices", torch::cuda::device_count()},
                      {"runtime_version", nullptr}};
  try {
    const int64_t v = at::detail::getCUDAHooks().versionCUDART();
    if (v > 0) c["runtime_version"] = absl::StrCat(v / 1000, ".", (v % 1000) / 10);
  } catch (const std::exception&) {
    // A CPU-only LibTorch has no CUDA runtime to ask.
  }
  return c;
}

nlohmann::json BuildConfiguration() {
  nlohmann::json j;
  j["monoroute"] = BuildVersion();
  j["build_type"] = BuildType();
  j["compiler"] = BuildCompiler();
#ifdef MONOROUTE_WITH_SERVICES_BUILD
  j["services"] = true;
  j["grpc"] = grpc::Version();
  j["protobuf"] = google::protobuf::internal::VersionString(GOOGLE_PROTOBUF_VERSION);
  j["rocksdb"] = absl::StrCat(ROCKSDB_MAJOR, ".", ROCKSDB_MINOR, ".", ROCKSDB_PATCH);
#else
  j["services"] = false;
  j["grpc"] = nullptr;
  j["protobuf"] = nullptr;
  j["rocksdb"] = nullptr;
#endif
  j["libtorch"] = TORCH_VERSION;
  j["cuda"] = Cuda();
  const std::string blas = LoadedBlas();
  j["blas"] = blas.empty() ? nlohmann::json(nullptr) : nlohmann::json(blas);
  j["openblas"] = OpenBlasConfig();
  j["cpu_isa"] = {{"active", model::CpuIsaName(model::ActiveCpuIsa())},
                  {"supported", model::CpuIsaName(model::SupportedCpuIsa())}};
  j["executable_dir"] = ExecutableDir();
  nlohmann::json data = nlohmann::json::object();
  for (const DataDir& d : ResolveAllDataDirs()) {
    data[d.name] = {{"path", d.path}, {"source", d.source}};
  }
  j["data_dirs"] = data;
  return j;
}

std::string OrNone(const nlohmann::json& v) {
  return v.is_string() ? v.get<std::string>() : std::string("none");
}

std::string FormatText(const nlohmann::json& j) {
  std::string s = absl::StrCat("monoroute ", j["monoroute"].get<std::string>(),
                               j["services"].get<bool>() ? " (services)" : " (engine only)", "\n");
  absl::StrAppend(&s, "  build        ", j["build_type"].get<std::string>(), ", ",
                  j["compiler"].get<std::string>(), "\n");
  absl::StrAppend(&s, "  LibTorch     ", j["libtorch"].get<std::string>(), "\n");
  const nlohmann::json& c = j["cuda"];
  absl::StrAppend(&s, "  CUDA         ",
                  c["available"].get<bool>()
                      ? absl::StrCat("available, ", c["devices"].get<int64_t>(), " device(s)")
                      : std::string("not available"),
                  c["runtime_version"].is_string()
                      ? absl::StrCat(", runtime ", c["runtime_version"].get<std::string>())
                      : std::string(),
                  "\n");
  absl::StrAppend(&s, "  gRPC         ", OrNone(j["grpc"]), "\n");
  absl::StrAppend(&s, "  Protobuf     ", OrNone(j["protobuf"]), "\n");
  absl::StrAppend(&s, "  RocksDB      ", OrNone(j["rocksdb"]), "\n");
  absl::StrAppend(&s, "  BLAS         ", OrNone(j["blas"]), "\n");
  if (j["openblas"].is_string()) {
    absl::StrAppend(&s, "  OpenBLAS     ", j["openblas"].get<std::string>(), "\n");
  }
  absl::StrAppend(&s, "  CPU kernels  ", j["cpu_isa"]["active"].get<std::string>(),
                  " (supported: ", j["cpu_isa"]["supported"].get<std::string>(), ")\n");
  absl::StrAppend(&s, "  executable   ", j["executable_dir"].get<std::string>(), "\n");
  for (const auto& [name, d] : j["data_dirs"].items()) {
    absl::StrAppend(&s, "  data ", name, std::string(name.size() < 8 ? 8 - name.size() : 0, ' '),
                    d["path"].get<std::string>(), " (", d["source"].get<std::string>(), ")\n");
  }
  return s;
}

MONOROUTE_REGISTER_COMMAND(version, [](CLI::App& app) {
  CLI::App* sub = app.add_subcommand("version", "Print the version and build configuration");
  SetAction(sub, []() {
    const nlohmann::json j = BuildConfiguration();
    return PrintResult(j, FormatText(j));
  });
});

}  // namespace
}  // namespace monoroute::cli
