// `monoroute demo [--out DIR] [--work-dir DIR] [--model DIR --data FILE]`: the one-command
// embedded default. Starts monoroute-recorder, -analysis and -trainer as separate processes on
// free 127.0.0.1 ports, then (no --model) generates a story corpus, pretrains a TinyStories-1M-
// architecture model on it, GLBL fine-tunes it with pathway routing (routing events of the final
// held-out evaluation go to the recorder under split "valid", with the controls the engine records
// on the same sequences: "valid/fresh_routers" and "valid/dense_slices"), fetches the report from
// the analysis service, writes llm_routing_results.json and llm_monosemanticity.png into --out,
// stops the services with SIGTERM and prints a summary: every measure's excess over its null and
// over the controls, with intervals. With --model/--data it fine-tunes
// a real TinyStories-1M checkpoint on the given text instead.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "clients/cli/command.h"
#include "clients/cli/report_summary.h"
#include "clients/cli/service_process.h"
#include "clients/cli/trainer_cli_util.h"
#include "common/base/status_macros.h"
#include "monoroute/analysis/v1/analysis.grpc.pb.h"

namespace monoroute::cli {
namespace {

namespace fs = std::filesystem;

struct DemoOpts {
  std::string out_dir = "out";
  std::string work_dir;  // empty: a fresh temp dir, removed at the end unless --keep
  std::string model_dir;
  std::string data_path;
  std::string bin_dir;
  int stories = 6000;
  int64_t pretrain_steps = 120;
  int64_t finetune_steps = 60;
  int batch_size = 16;
  int seq_len = 128;
  double sample_rate = 0.0;
  int threads = 0;
  bool keep = false;
};

std::string SelfDir() {
  std::error_code ec;
  fs::path p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : p.parent_path().string();
}

std::string Q(const std::string& s) { return "\"" + s + "\""; }  // YAML-quoted path

absl::StatusOr<trainer::v1::Job> RunJob(trainer::v1::Trainer::Stub* stub,
                                        const std::string& address, const std::string& yaml,
                                        const std::string& name) {
  trainer::v1::SubmitJobRequest req;
  req.set_spec_yaml(yaml);
  req.set_name(name);
  trainer::v1::SubmitJobResponse resp;
  grpc::ClientContext ctx;
  grpc::Status s = stub->SubmitJob(&ctx, req, &resp);
  if (!s.ok()) return RpcError(s, address);
  std::cout << "[" << name << "] submitted " << resp.job().id() << std::endl;
  auto job = WatchUntilDone(stub, address, resp.job().id(), "text", "[" + name + "] ", 10.0);
  if (!job.ok()) return job.status();
  if (job->state() != trainer::v1::SUCCEEDED) {
    return absl::AbortedError(absl::StrCat(name, " job ", job->id(), " ended ",
                                           StateName(job->state()), ": ", job->failure_reason()));
  }
  return job;
}

absl::Status Demo(const DemoOpts& o) {
  const auto t0 = std::chrono::steady_clock::now();
  if (o.model_dir.empty() != o.data_path.empty()) {
    return UsageError("--model and --data go together");
  }
  std::error_code ec;
  std::string work = o.work_dir;
  bool temp_work = work.empty();
  if (temp_work) {
    std::string tmpl = (fs::temp_directory_path() / "monoroute-demo-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) return absl::InternalError("cannot create a temp dir");
    work = tmpl;
  }
  work = fs::absolute(work).lexically_normal().string();
  fs::create_directories(work + "/logs", ec);
  fs::create_directories(o.out_dir, ec);
  if (ec) return absl::InvalidArgumentError(absl::StrCat("--out ", o.out_dir, ": ", ec.message()));
  const std::string bin = o.bin_dir.empty() ? SelfDir() : o.bin_dir;
  std::cout << "monoroute demo: work dir " << work << ", logs in " << work << "/logs" << std::endl;

  // 1. Data: a generated corpus (with token categories for the report) or the given text.
  std::string train_path, lexicon;
  if (o.model_dir.empty()) {
    train_path = work + "/corpus/train.txt";
    lexicon = work + "/corpus/categories.tsv";
    fs::create_directories(work + "/corpus", ec);
    ServiceProcess gen;
    absl::Status s =
        gen.Start("corpus generate",
                  {bin + "/monoroute", "corpus", "generate", "--stories", std::to_string(o.stories),
                   "--seed", "1", "--out", train_path, "--categories", lexicon},
                  work + "/logs/corpus.log");
    if (!s.ok()) return s;
    while (gen.Running()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::string how = gen.Stop(std::chrono::seconds(1));
    if (how != "exit 0") {
      return absl::InternalError(
          absl::StrCat("corpus generate failed (", how, "): ", Tail(work + "/logs/corpus.log")));
    }
    std::cout << "corpus: " << Tail(work + "/logs/corpus.log", 200).substr(0, 120);
  } else {
    train_path = fs::absolute(o.data_path).string();
  }

  // 2. The three services on free ports.
  auto picked = PickFreePorts(6);
  if (!picked.ok()) return picked.status();
  const std::vector<int> ports = *picked;
  auto addr = [](int port) { return absl::StrCat("127.0.0.1:", port); };
  const std::string rec = addr(ports[0]), ana = addr(ports[1]), tra = addr(ports[2]);
  ServiceProcess recorder, analysis, trainer_proc;
  RETURN_IF_ERROR(recorder.Start("monoroute-recorder",
                                 {bin + "/monoroute-recorder", "--listen", rec, "--data-dir",
                                  work + "/recorder", "--metrics-listen", addr(ports[3])},
                                 work + "/logs/recorder.log"));
  std::vector<std::string> analysis_args = {
      bin + "/monoroute-analysis", "--listen",    ana, "--recorder", rec,
      "--metrics-listen",          addr(ports[4])};
  if (!lexicon.empty()) {
    analysis_args.push_back("--lexicon");
    analysis_args.push_back(lexicon);
  }
  RETURN_IF_ERROR(analysis.Start("monoroute-analysis", analysis_args, work + "/logs/analysis.log"));
  std::vector<std::string> trainer_args = {bin + "/monoroute-trainer",
                                           "--listen",
                                           tra,
                                           "--data-dir",
                                           work + "/trainer",
                                           "--recorder",
                                           rec,
                                           "--metrics-listen",
                                           addr(ports[5]),
                                           "--allowed-root",
                                           work};
  for (const std::string& extra : {o.model_dir, o.data_path}) {
    if (!extra.empty()) {
      trainer_args.push_back("--allowed-root");
      trainer_args.push_back(fs::absolute(extra).parent_path().string());
    }
  }
  RETURN_IF_ERROR(
      trainer_proc.Start("monoroute-trainer", trainer_args, work + "/logs/trainer.log"));
  RETURN_IF_ERROR(recorder.WaitReady(rec, std::chrono::seconds(30)));
  RETURN_IF_ERROR(analysis.WaitReady(ana, std::chrono::seconds(30)));
  RETURN_IF_ERROR(trainer_proc.WaitReady(tra, std::chrono::seconds(30)));
  std::cout << "services: recorder " << rec << ", analysis " << ana << ", trainer " << tra
            << " (metrics :" << ports[3] << " :" << ports[4] << " :" << ports[5] << ")"
            << std::endl;

  auto stub = ConnectTrainer(tra, 10);
  if (!stub.ok()) return stub.status();

  // 3. Pretrain (dense) on the generated corpus, unless a model was given.
  const std::string common = absl::StrFormat(
      "data: {train_path: %s, seq_len: %d, valid_fraction: 0.05}\n"
      "threads: %d\nlog_every: 5\n",
      Q(train_path), o.seq_len, o.threads);
  std::string model_dir = o.model_dir.empty() ? "" : fs::absolute(o.model_dir).string();
  double pretrain_val = 0;
  if (model_dir.empty()) {
    std::string yaml = absl::StrCat(
        "kind: pretrain\n", common,
        absl::StrFormat("optim: {lr: 3e-3, warmup_steps: 30, max_steps: %d, batch_size: %d}\n"
                        "eval_every: 0\neval_batches: 10\ncheckpoint_every: 100\n",
                        o.pretrain_steps, o.batch_size));
    auto job = RunJob(stub->get(), tra, yaml, "pretrain");
    if (!job.ok()) return job.status();
    model_dir = job->checkpoint_dir();
    pretrain_val = job->final_val_loss();
  }

  // 4. GLBL fine-tune with routing; the final held-out evaluation's routing goes to the recorder.
  std::string yaml = absl::StrCat(
      "kind: finetune\nmodel_dir: ", Q(model_dir), "\n", common,
      "routing: {num_pathways: 16, top_k: 4, router_hidden: 128, route_every_n_layers: 2,\n"
      "          balancing: {method: glbl, alpha: 0.01}}\n",
      absl::StrFormat("optim: {lr: 1e-3, warmup_steps: 10, max_steps: %d, batch_size: %d}\n"
                      "eval_every: 0\neval_batches: 10\ncheckpoint_every: 50\n"
                      "record: {sample_rate: %g, eval_split_events: true}\n",
                      o.finetune_steps, o.batch_size, o.sample_rate));
  auto ft = RunJob(stub->get(), tra, yaml, "finetune");
  if (!ft.ok()) return ft.status();
  std::cout << "[finetune] events recorded " << ft->events().events_acked() << ", dropped "
            << ft->events().events_dropped() << std::endl;

  // 5. The report, computed on the held-out split.
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(256 << 20);
  auto achan = grpc::CreateCustomChannel(ana, grpc::InsecureChannelCredentials(), args);
  auto astub = analysis::v1::Analysis::NewStub(achan);
  analysis::v1::ReportRequest rreq;
  rreq.set_run_id(ft->recorder_run_id().empty() ? ft->id() : ft->recorder_run_id());
  rreq.mutable_selection()->set_split("valid");
  analysis::v1::ReportResponse report;
  grpc::ClientContext actx;
  actx.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(5));
  grpc::Status rs = astub->ComputeReport(&actx, rreq, &report);
  if (!rs.ok()) {
    return absl::Status(FromGrpcStatus(rs).code(),
                        absl::StrCat("analysis report: ", rs.error_message()));
  }
  const std::string json_path = (fs::path(o.out_dir) / "llm_routing_results.json").string();
  const std::string png_path = (fs::path(o.out_dir) / "llm_monosemanticity.png").string();
  RETURN_IF_ERROR(WriteFileAtomic(json_path, report.json()));
  RETURN_IF_ERROR(WriteFileAtomic(png_path, report.png()));

  // 6. Stop the services and summarise.
  std::string how_t = trainer_proc.Stop(std::chrono::seconds(20));
  std::string how_a = analysis.Stop(std::chrono::seconds(10));
  std::string how_r = recorder.Stop(std::chrono::seconds(20));
  const double total_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << "\nmonoroute demo summary (" << FormatDuration(total_s) << ")\n";
  if (pretrain_val > 0) std::cout << absl::StrFormat("  pretrain val_loss   %.4f\n", pretrain_val);
  std::cout << absl::StrFormat("  finetune val_loss   %.4f (GLBL, 16 pathways, top-4)\n",
                               ft->final_val_loss());
  std::cout << SummariseReport(report.json());
  std::cout << "  wrote " << json_path << " and " << png_path << "\n";
  std::cout << "  services stopped: trainer " << how_t << ", analysis " << how_a << ", recorder "
            << how_r << "\n";
  if (temp_work && !o.keep) fs::remove_all(work, ec);
  return absl::OkStatus();
}

MONOROUTE_REGISTER_COMMAND(demo, [](CLI::App& app) {
  auto o = std::make_shared<DemoOpts>();
  CLI::App* sub = app.add_subcommand(
      "demo", "Start the services, pretrain + GLBL fine-tune, write the monosemanticity report");
  sub->add_option("--out", o->out_dir, "Where llm_routing_results.json/.png go")
      ->capture_default_str();
  sub->add_option("--work-dir", o->work_dir, "Services' data, checkpoints, logs (default: temp)");
  sub->add_option("--model", o->model_dir, "HF TinyStories-1M checkpoint dir (skips pretraining)");
  sub->add_option("--data", o->data_path, "Training text for --model (e.g. TinyStories train)");
  sub->add_option("--bin-dir", o->bin_dir, "Where the service binaries are (default: beside me)");
  sub->add_option("--stories", o->stories, "Generated stories")->capture_default_str();
  sub->add_option("--pretrain-steps", o->pretrain_steps, "Pretrain steps")->capture_default_str();
  sub->add_option("--finetune-steps", o->finetune_steps, "Fine-tune steps")->capture_default_str();
  sub->add_option("--batch-size", o->batch_size, "Sequences per step")->capture_default_str();
  sub->add_option("--seq-len", o->seq_len, "Tokens per sequence")->capture_default_str();
  sub->add_option("--sample-rate", o->sample_rate,
                  "Share of fine-tune train steps whose routing is recorded too")
      ->capture_default_str();
  sub->add_option("--threads", o->threads, "Training threads (0: every CPU available)");
  sub->add_flag("--keep", o->keep, "Keep the temp work dir");
  SetAction(sub, [o]() { return Demo(*o); });
});

}  // namespace
}  // namespace monoroute::cli
