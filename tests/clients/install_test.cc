// The install layout: `cmake --install <build> --prefix <tmp>` puts the binaries in <tmp>/bin and
// their data under <tmp>/share/monoroute; the installed binaries find it relative to themselves,
// without the source checkout. Proven by running from a directory outside the repository with an
// environment holding no MONOROUTE_* variable: `monoroute version --output json` resolves every
// data directory to the install, and `monoroute demo` (small settings: 300 stories, 4 + 4 steps)
// runs to its report under `strace -f`, which records every file the demo and its three service
// processes open: none lies in the source checkout or the build tree.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/testing/process.h"
#include "tests/testing/temp_files.h"

namespace monoroute {
namespace {

namespace fs = std::filesystem;
using ::monoroute::testing::CommandResult;
using ::monoroute::testing::ReadText;
using ::monoroute::testing::RunCommand;
using ::monoroute::testing::RunCommandSplit;
using ::monoroute::testing::TempDir;

const std::string kSource = fs::canonical(MONOROUTE_SOURCE_DIR).string();
const std::string kBuild = fs::canonical(MONOROUTE_BUILD_DIR).string();

// `cmd` run in `cwd` with an environment of PATH and HOME only (no MONOROUTE_* variable).
std::string Clean(const std::string& cwd, const std::string& cmd) {
  return absl::StrCat("cd '", cwd, "' && env -i PATH=/usr/bin:/bin HOME='", cwd, "' ", cmd);
}

TEST(InstallTest, InstalledTreeRunsTheDemoWithoutTheSourceCheckout) {
  TempDir tmp("monoroute_install");
  const std::string prefix = tmp.Sub("prefix");
  CommandResult inst = RunCommand(absl::StrCat("'", MONOROUTE_CMAKE, "' --install '", kBuild,
                                               "' --prefix '", prefix, "'"));
  ASSERT_EQ(inst.code, 0) << inst.out;
  for (const char* bin : {"monoroute", "monoroute-recorder", "monoroute-analysis",
                          "monoroute-trainer"}) {
    EXPECT_TRUE(fs::exists(prefix + "/bin/" + bin)) << bin;
  }
  const std::string share = prefix + "/share/monoroute";
  for (const char* f : {"gpt2/vocab.json", "gpt2/merges.txt", "lexicon/animal.tsv",
                        "examples/README.md", "examples/jobs/demo-pretrain.yaml",
                        "proto/monoroute/trainer/v1/trainer.proto"}) {
    EXPECT_TRUE(fs::exists(share + "/" + f)) << f;
  }
  EXPECT_FALSE(fs::is_empty(share + "/lexicon_pos"));

  // The data directories the installed binary resolves.
  CommandResult v = RunCommandSplit(Clean(tmp.path(), prefix + "/bin/monoroute version --output json"));
  ASSERT_EQ(v.code, 0) << v.err;
  nlohmann::json version = nlohmann::json::parse(v.out, nullptr, false);
  ASSERT_FALSE(version.is_discarded()) << v.out;
  EXPECT_EQ(version["executable_dir"], fs::canonical(prefix + "/bin").string());
  for (const auto& [name, d] : version["data_dirs"].items()) {
    EXPECT_EQ(d["source"], "install") << name;
    EXPECT_EQ(d["path"], fs::canonical(share + "/" + name).string()) << name;
  }

  // The demo, every process traced.
  const std::string trace = tmp.Sub("trace");
  CommandResult demo = RunCommandSplit(Clean(
      tmp.path(),
      absl::StrCat("strace -f -qq -e trace=open,openat,execve,stat,newfstatat,access -o '", trace,
                   "' ", prefix,
                   "/bin/monoroute demo --stories 300 --pretrain-steps 4 --finetune-steps 4 "
                   "--batch-size 4 --seq-len 32 --threads 2 --out out --work-dir work "
                   "--output json")));
  ASSERT_EQ(demo.code, 0) << demo.err << "\nrecorder log: "
                          << ReadText(tmp.Sub("work/logs/recorder.log"))
                          << "\ntrainer log: " << ReadText(tmp.Sub("work/logs/trainer.log"));
  nlohmann::json summary = nlohmann::json::parse(demo.out, nullptr, false);
  ASSERT_FALSE(summary.is_discarded()) << demo.out;
  EXPECT_TRUE(fs::exists(tmp.Sub("out/llm_routing_results.json")));
  EXPECT_TRUE(fs::exists(tmp.Sub("out/llm_monosemanticity.png")));
  EXPECT_GT(summary["events_recorded"].get<int64_t>(), 0) << summary.dump();
  EXPECT_EQ(summary["services_stopped"]["trainer"], "exit code 0");
  EXPECT_EQ(summary["services_stopped"]["recorder"], "exit code 0");

  const std::string traced = ReadText(trace);
  ASSERT_FALSE(traced.empty());
  // The tokenizer files were read from the install (the demo's corpus categories need them).
  EXPECT_NE(traced.find(share + "/gpt2/vocab.json"), std::string::npos);
  int pids_exec = 0;
  for (absl::string_view line : absl::StrSplit(traced, '\n', absl::SkipEmpty())) {
    EXPECT_EQ(line.find(kSource + "/"), absl::string_view::npos) << line;
    if (line.find("execve(\"" + prefix + "/bin/monoroute-") != absl::string_view::npos) ++pids_exec;
  }
  EXPECT_GE(pids_exec, 3) << "the three services were started from the install";
}

}  // namespace
}  // namespace monoroute
