// libFuzzer target: the job spec parser (common/engine/job_spec ParseJobSpecYaml), the text
// SubmitJob and `monoroute train` accept. Lines starting with "#set " (YAML comments) are also
// passed as --set overrides ("#set optim.lr=0.1"). Properties: no crash, hang, runaway memory or
// sanitizer report; an accepted spec serialises (JobSpecToYaml) to YAML that parses back to the
// same spec (compared by its serialisation).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "common/engine/job_spec.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> overrides;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::ConsumePrefix(&line, "#set ")) overrides.emplace_back(line);
  }
  auto spec = monoroute::engine::ParseJobSpecYaml(text, overrides);
  if (!spec.ok()) return 0;
  const std::string yaml = monoroute::engine::JobSpecToYaml(*spec);
  auto back = monoroute::engine::ParseJobSpecYaml(yaml);
  FUZZ_CHECK(back.ok(), "JobSpecToYaml of an accepted spec is rejected: %s\n%s",
             back.status().ToString().c_str(), yaml.c_str());
  const std::string yaml2 = monoroute::engine::JobSpecToYaml(*back);
  FUZZ_CHECK(yaml == yaml2, "spec changed in the YAML round trip:\n%s\n---\n%s", yaml.c_str(),
             yaml2.c_str());
  return 0;
}
