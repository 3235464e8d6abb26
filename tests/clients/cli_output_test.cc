// The shared grammar of the real `monoroute` tool (clients/cli/command.h): every command that
// prints a result accepts `--output json` and then prints only JSON on stdout (one document per
// line), errors are one JSON object {"error":{"code","message","command"}} on stderr with the exit
// codes of text mode, and the deprecated spellings (`--json`, `--output PATH`, `submit FILE`)
// still work with a note on stderr. The commands run against a tiny model trained here by
// `monoroute train` and against monoroute-recorder / -trainer / -analysis started on port 0.
// `monoroute demo --output json` runs in install_test (an installed tree).
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/clients/cli_test_util.h"
#include "tests/testing/process.h"
#include "tests/testing/services.h"
#include "tests/testing/temp_files.h"

namespace monoroute {
namespace {

namespace fs = std::filesystem;
using ::monoroute::testing::CliCommand;
using ::monoroute::testing::CommandResult;
using ::monoroute::testing::JsonLines;
using ::monoroute::testing::ReadText;
using ::monoroute::testing::RunCli;
using ::monoroute::testing::RunCommandSplit;
using ::monoroute::testing::ServiceStack;
using ::monoroute::testing::TempDir;
using ::monoroute::testing::WriteText;
using json = nlohmann::json;

const std::string kFixtures = std::string(MONOROUTE_SOURCE_DIR) + "/tests/fixtures";

// Runs `args --output json`, expects exit 0 and exactly one JSON document on stdout.
json JsonResult(const std::string& args) {
  CommandResult r = RunCli(args + " --output json");
  EXPECT_EQ(r.code, 0) << args << "\nstdout: " << r.out << "\nstderr: " << r.err;
  std::vector<json> docs = JsonLines(r);
  EXPECT_EQ(docs.size(), 1u) << args << "\nstdout: " << r.out;
  return docs.empty() ? json() : docs.back();
}

// The error object of a failed JSON-mode run: the last stderr line, parsed.
json JsonError(const CommandResult& r) {
  std::vector<std::string> lines = absl::StrSplit(r.err, '\n', absl::SkipEmpty());
  EXPECT_FALSE(lines.empty()) << "no stderr";
  if (lines.empty()) return json();
  json j = json::parse(lines.back(), nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << "last stderr line is not JSON: " << lines.back();
  EXPECT_TRUE(j.contains("error")) << lines.back();
  return j.is_discarded() ? json() : j["error"];
}

// A safetensors file holding `input_ids` int64 [1, n] = ids (hand-encoded).
void WriteInputIds(const std::string& path, const std::vector<int64_t>& ids) {
  const std::string header =
      absl::StrCat("{\"input_ids\":{\"dtype\":\"I64\",\"shape\":[1,", ids.size(),
                   "],\"data_offsets\":[0,", 8 * ids.size(), "]}}");
  std::string out;
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  out += header;
  for (int64_t v : ids) {
    for (int i = 0; i < 8; ++i)
      out.push_back(static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xff));
  }
  WriteText(path, out);
}

// A tiny pretrain job spec (hidden 16, 2 layers) on `train`, into `out`.
std::string TinySpec(const std::string& train, const std::string& out, bool routed, int steps) {
  return absl::StrCat(
      "kind: pretrain\n"
      "model: {hidden_size: 16, num_layers: 2, num_heads: 2, intermediate_size: 64,\n"
      "        max_position_embeddings: 64, window_size: 8}\n"
      "routing: {enabled: ",
      routed ? "true" : "false",
      ", num_pathways: 8, top_k: 2, router_hidden: 16}\n"
      "data: {train_path: \"",
      train,
      "\", valid_fraction: 0.1, seq_len: 32}\n"
      "optim: {lr: 3.0e-3, warmup_steps: 1, max_steps: ",
      steps,
      ", batch_size: 4}\n"
      "eval_every: 0\neval_batches: 2\ncheckpoint_every: 0\nlog_every: 1\nthreads: 1\n"
      "record: {sample_rate: 0.0, eval_split_events: true}\n"
      "output_dir: \"",
      out, "\"\n");
}

class CliOutputTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("monoroute_cli");
    const std::string d = dir_->path();
    corpus_ = JsonResult(absl::StrCat("corpus generate --stories 160 --seed 1 --out ", d,
                                      "/train.txt --categories ", d, "/categories.tsv"));
    WriteText(d + "/routed.yaml", TinySpec(d + "/train.txt", d + "/routed", true, 4));
    WriteText(d + "/dense.yaml", TinySpec(d + "/train.txt", d + "/dense", false, 2));
    trained_ = JsonResult(absl::StrCat("train --config ", d, "/routed.yaml --quiet"));
    dense_ = JsonResult(absl::StrCat("train --config ", d, "/dense.yaml --quiet"));

    stack_ = new ServiceStack();
    absl::Status s = testing::StartServiceStack(stack_, d, {"--allowed-root", d},
                                                {"--lexicon", d + "/categories.tsv"});
    ASSERT_TRUE(s.ok()) << s;
  }
  static void TearDownTestSuite() {
    delete stack_;
    delete dir_;
  }

  static std::string D() { return dir_->path(); }
  static std::string Ckpt() { return trained_.value("checkpoint_dir", ""); }

  static TempDir* dir_;
  static json corpus_, trained_, dense_;
  static ServiceStack* stack_;
};

TempDir* CliOutputTest::dir_ = nullptr;
json CliOutputTest::corpus_, CliOutputTest::trained_, CliOutputTest::dense_;
ServiceStack* CliOutputTest::stack_ = nullptr;

TEST_F(CliOutputTest, VersionPrintsTheBuildConfiguration) {
  json v = JsonResult("version");
  for (const char* key : {"monoroute", "build_type", "compiler", "libtorch", "grpc", "protobuf",
                          "rocksdb", "cpu_isa", "cuda", "data_dirs", "executable_dir"}) {
    EXPECT_TRUE(v.contains(key)) << key << " in " << v.dump();
  }
  EXPECT_TRUE(v["services"].get<bool>());
  EXPECT_TRUE(v["cuda"]["available"].is_boolean());
  EXPECT_FALSE(v["grpc"].get<std::string>().empty());
  EXPECT_FALSE(v["rocksdb"].get<std::string>().empty());
  EXPECT_FALSE(v["cpu_isa"]["active"].get<std::string>().empty());
  for (const char* res : {"gpt2", "lexicon", "lexicon_pos", "examples"}) {
    EXPECT_TRUE(fs::is_directory(v["data_dirs"][res]["path"].get<std::string>())) << res;
  }
  CommandResult text = RunCli("version");
  EXPECT_EQ(text.code, 0);
  for (const char* word : {"LibTorch", "CUDA", "gRPC", "Protobuf", "RocksDB", "CPU kernels"}) {
    EXPECT_NE(text.out.find(word), std::string::npos) << word << " in " << text.out;
  }
}

TEST_F(CliOutputTest, CorpusAndTrainPrintJson) {
  EXPECT_EQ(corpus_["stories"].get<int>(), 160);
  EXPECT_GT(corpus_["categories"]["tokens"].get<int64_t>(), 0);
  EXPECT_EQ(trained_["final_step"].get<int>(), 4) << trained_.dump();
  EXPECT_FALSE(trained_["stopped_early"].get<bool>());
  EXPECT_TRUE(fs::is_directory(Ckpt())) << trained_.dump();
  EXPECT_TRUE(trained_["val_loss"].is_number());
  json spec = JsonResult(absl::StrCat("train --config ", D(), "/routed.yaml --print-spec"));
  EXPECT_NE(spec["spec_yaml"].get<std::string>().find("kind: pretrain"), std::string::npos);
  EXPECT_TRUE(spec.contains("estimated_peak_memory"));
}

TEST_F(CliOutputTest, ModelCommandsPrintJson) {
  const std::string d = D();
  json e =
      JsonResult(absl::StrCat("eval --model ", Ckpt(), " --data ", d,
                              "/train.txt --seq-len 16 --batch 2 --max-batches 1 --threads 1"));
  EXPECT_TRUE(e["loss"].is_number()) << e.dump();
  json a = JsonResult(absl::StrCat("ablate --model ", Ckpt(), " --data ", d,
                                   "/train.txt --layer 0 --pathway 0 --controls 1 --bootstrap 10 "
                                   "--seq-len 16 --batch 2 --max-batches 2 --threads 1"));
  EXPECT_EQ(a["layer"].get<int>(), 0) << a.dump();
  WriteInputIds(d + "/in.safetensors", {1, 2, 3, 4});
  json f = JsonResult(absl::StrCat("forward --model ", kFixtures, "/gptneo_tiny --input ", d,
                                   "/in.safetensors --out ", d, "/fwd.safetensors"));
  EXPECT_EQ(f["logits_shape"], json({1, 4, 1000})) << f.dump();
  EXPECT_TRUE(fs::exists(d + "/fwd.safetensors"));
  fs::create_directories(d + "/conv");
  fs::copy(kFixtures + "/gptneo_tiny_bin", d + "/conv", fs::copy_options::recursive);
  json c =
      JsonResult(absl::StrCat("convert --model ", d, "/conv --out ", d, "/conv/x.safetensors"));
  EXPECT_EQ(c["out"], d + "/conv/x.safetensors");
  EXPECT_GT(c["tensors_written"].get<int>(), 0);
  json t = JsonResult("tokenize < /dev/null");
  EXPECT_TRUE(t["ids"].is_array());
  CommandResult enc =
      RunCommandSplit("printf 'Once upon a time' | " + CliCommand("tokenize --output json"));
  ASSERT_EQ(enc.code, 0) << enc.err;
  json ids = JsonLines(enc).at(0)["ids"];
  EXPECT_FALSE(ids.empty());
  CommandResult dec = RunCommandSplit("printf '" + ids.dump() + "' | " +
                                      CliCommand("tokenize --decode --output json"));
  ASSERT_EQ(dec.code, 0) << dec.err;
  EXPECT_EQ(JsonLines(dec).at(0)["text"], "Once upon a time");
}

TEST_F(CliOutputTest, BenchesPrintJson) {
  json t = JsonResult("bench train --batch 2 --seq 8 --steps 1 --warmup 0 --hidden 16 --threads 1");
  EXPECT_GT(t["tokens_per_s"].get<double>(), 0) << t.dump();
  json a = JsonResult(
      "bench analysis --events 20000 --layers 1 --pathways 8 --top-k 2 --vocab 1000 --repeats 1 "
      "--null-replicates 2 --bootstrap 0 --no-baseline --threads 1");
  EXPECT_GT(a["seconds"].get<double>(), 0) << a.dump();
  json r = JsonResult("bench recorder --events 4000 --writers 1 --batch-tokens 1000");
  EXPECT_EQ(r["events"].get<uint64_t>(), 4000u) << r.dump();
}

TEST_F(CliOutputTest, HealthPrintsJson) {
  json h = JsonResult("health --address " + stack_->rec.address());
  EXPECT_EQ(h["status"], "SERVING");
  json l = JsonResult(
      absl::StrCat("health --address 127.0.0.1:", stack_->ana.health, " --service liveness"));
  EXPECT_EQ(l["status"], "SERVING");
  CommandResult down = RunCli("health --address 127.0.0.1:1 --timeout 0.5 --output json");
  EXPECT_EQ(down.code, 1);
  EXPECT_EQ(down.out, "");
  EXPECT_EQ(JsonError(down)["code"], "UNAVAILABLE");
}

TEST_F(CliOutputTest, TrainerAndAnalysisCommandsPrintJson) {
  const std::string d = D();
  const std::string trainer = " --trainer " + stack_->tra.address();
  WriteText(d + "/job.yaml", TinySpec(d + "/train.txt", d + "/submitted", true, 3));
  json job = JsonResult("submit --config " + d + "/job.yaml --name tiny" + trainer);
  const std::string id = job["id"].get<std::string>();
  ASSERT_FALSE(id.empty()) << job.dump();
  CommandResult w = RunCli("watch " + id + trainer + " --output json");
  ASSERT_EQ(w.code, 0) << w.err;
  std::vector<json> updates = JsonLines(w);
  ASSERT_FALSE(updates.empty());
  EXPECT_EQ(updates.back()["job"]["state"], "SUCCEEDED") << updates.back().dump();
  json jobs = JsonResult("jobs" + trainer);
  bool listed = false;
  for (const json& j : jobs["jobs"]) listed = listed || j["id"] == id;
  EXPECT_TRUE(listed) << jobs.dump();

  WriteText(d + "/long.yaml", TinySpec(d + "/train.txt", d + "/long", false, 100000));
  json long_job = JsonResult("submit --config " + d + "/long.yaml" + trainer);
  json cancelled = JsonResult("cancel " + long_job["id"].get<std::string>() + trainer);
  EXPECT_EQ(cancelled["id"], long_job["id"]);

  const std::string run = updates.back()["job"].value("recorder_run_id", id);
  json rep =
      JsonResult(absl::StrCat("report ", run, " --out ", d,
                              "/report --split valid --bootstrap 0 --category-permutations 0 "
                              "--null-replicates 2 --no-png --analysis ",
                              stack_->ana.address()));
  EXPECT_TRUE(fs::exists(rep["json"].get<std::string>())) << rep.dump();
}

TEST_F(CliOutputTest, StudyPrintsJson) {
  json s = JsonResult(absl::StrCat(
      "study balancing --model ", dense_.value("checkpoint_dir", ""), " --data ", D(),
      "/train.txt --out ", D(), "/study --methods glbl --seeds 1 --steps 2 --batch-size 2 ",
      "--seq-len 16 --bootstrap 0 --threads 1 --lexicon ", D(), "/categories.tsv"));
  EXPECT_TRUE(fs::exists(s["study_json"].get<std::string>())) << s.dump();
  EXPECT_TRUE(s["study"].is_object());
}

TEST_F(CliOutputTest, ErrorsAreOneJsonObjectWithTheCodeAndTheTextModeExitCode) {
  // A run-time error: exit 1 (or 2 for bad usage), nothing on stdout.
  CommandResult missing =
      RunCli("eval --model " + D() + "/nope --data " + D() + "/train.txt --output json");
  EXPECT_NE(missing.code, 0);
  EXPECT_EQ(missing.out, "");
  json err = JsonError(missing);
  EXPECT_FALSE(err["code"].get<std::string>().empty());
  EXPECT_NE(err["message"].get<std::string>().find("nope"), std::string::npos) << err.dump();
  EXPECT_EQ(err["command"], "monoroute eval");
  CommandResult text = RunCli("eval --model " + D() + "/nope --data " + D() + "/train.txt");
  EXPECT_EQ(text.code, missing.code);
  EXPECT_EQ(text.err.rfind("monoroute eval: ", 0), 0u) << text.err;

  // A parse error: exit 2, INVALID_ARGUMENT.
  CommandResult bad = RunCli("version --no-such-flag --output json");
  EXPECT_EQ(bad.code, 2);
  EXPECT_EQ(JsonError(bad)["code"], "INVALID_ARGUMENT");
  CommandResult format = RunCli("version --output yaml");
  EXPECT_EQ(format.code, 2);
  EXPECT_NE(format.err.find("--output"), std::string::npos);

  // A service that is down: UNAVAILABLE, exit 1.
  CommandResult down = RunCli("jobs --trainer 127.0.0.1:1 --output json");
  EXPECT_EQ(down.code, 1);
  EXPECT_EQ(JsonError(down)["code"], "UNAVAILABLE");
  EXPECT_EQ(JsonError(RunCli("report r1 --out " + D() + "/x --analysis " + stack_->ana.address() +
                             " --output json"))["code"],
            "NOT_FOUND");
}

TEST_F(CliOutputTest, DeprecatedSpellingsStillWorkWithANote) {
  const std::string d = D();
  WriteInputIds(d + "/in2.safetensors", {5, 6});
  CommandResult fwd = RunCli(absl::StrCat("forward --model ", kFixtures, "/gptneo_tiny --input ", d,
                                          "/in2.safetensors --output ", d, "/old.safetensors"));
  EXPECT_EQ(fwd.code, 0) << fwd.err;
  EXPECT_TRUE(fs::exists(d + "/old.safetensors"));
  EXPECT_NE(fwd.err.find("--output PATH is deprecated"), std::string::npos) << fwd.err;

  CommandResult json_flag = RunCli("version --json");
  EXPECT_EQ(json_flag.code, 0);
  EXPECT_EQ(JsonLines(json_flag).size(), 1u);
  EXPECT_NE(json_flag.err.find("--json is deprecated"), std::string::npos);

  WriteText(d + "/pos.yaml", TinySpec(d + "/train.txt", d + "/positional", false, 1));
  CommandResult pos =
      RunCli("submit " + d + "/pos.yaml --trainer " + stack_->tra.address() + " --output json");
  EXPECT_EQ(pos.code, 0) << pos.err;
  EXPECT_EQ(JsonLines(pos).size(), 1u);
  EXPECT_NE(pos.err.find("deprecated"), std::string::npos) << pos.err;
  CommandResult none = RunCli("submit --trainer " + stack_->tra.address());
  EXPECT_EQ(none.code, 2);
  EXPECT_NE(none.err.find("--config"), std::string::npos) << none.err;
}

}  // namespace
}  // namespace monoroute
