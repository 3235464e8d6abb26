// `monoroute demo [--out DIR] [--work-dir DIR] [--model DIR --data FILE]`: the one-command
// embedded default. Starts monoroute-recorder, -analysis and -trainer (from the directory of this
// executable, or --bin-dir) as separate processes on 127.0.0.1 port 0 (each prints the ports it
// bound), then (no --model) generates a story corpus, pretrains a TinyStories-1M-architecture
// model on it, GLBL fine-tunes it with pathway routing (routing events of the final held-out
// evaluation go to the recorder under split "valid", with the controls the engine records on the
// same sequences: "valid/fresh_routers" and "valid/dense_slices"), fetches the report from the
// analysis service, writes llm_routing_results.json and llm_monosemanticity.png into --out, stops
// the services with SIGTERM and prints a summary: every measure's excess over its null and over
// the controls, with intervals (--output json: one JSON object). With --model/--data it fine-tunes
// a real TinyStories-1M checkpoint on the given text instead. SIGINT / SIGTERM stop the services
// (SIGTERM to each, which checkpoints a running job) and end the demo with CANCELLED; the
// services also die with the demo if it is killed (PR_SET_PDEATHSIG, services/trainer/subprocess).
// The settings of its two jobs are examples/jobs/demo-{pretrain,finetune}.yaml. --arch gpt-neox
// (or gpt2) pretrains that family's structure instead, at a demo size (DemoArchitectures).
// The analysis service also serves the pathway explorer (--http-listen 127.0.0.1:0, reading
// checkpoints below the work dir); the summary ends with its URL. With --explore the recorder and
// analysis services stay up after the summary, for browsing, until SIGINT / SIGTERM.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>
#include <regex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "clients/cli/bench_timing.h"
#include "clients/cli/command.h"
#include "clients/cli/report_summary.h"
#include "clients/cli/trainer_cli_util.h"
#include "common/base/data_dirs.h"
#include "common/base/status_macros.h"
#include "common/base/subprocess.h"
#include "common/corpus/corpus_writer.h"
#include "monoroute/analysis/v1/analysis.grpc.pb.h"
#include "services/analysis/explorer/html.h"

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
  std::string arch = "gpt-neo";  // the pretrained model's family (DemoArchitectures)
  bool keep = false;
  bool explore = false;  // keep recorder + analysis (the explorer) up until SIGINT / SIGTERM
};

// A family the demo can pretrain: the job spec's `model` section and what to say about it.
struct DemoArchitecture {
  const char* name;        // --arch
  const char* model_yaml;  // the pretrain job's `model:` line ("": the default, TinyStories-1M)
  const char* about;       // printed before the jobs and in the summary
};

// Pythia-70M's and GPT-2 small's structures at the TinyStories-1M demo's size (hidden 64,
// intermediate 256) so that the demo takes about as long: 6 layers (Pythia-70M's count), 2 heads
// of 32 dims (Pythia-70M: hidden 512, 8 heads of 64; GPT-2 small: hidden 768, 12 layers, 12 heads).
const DemoArchitecture kDemoArchitectures[] = {
    {"gpt-neo", "", "GPT-Neo, the TinyStories-1M architecture (hidden 64, 8 layers)"},
    {"gpt-neox",
     "model: {model_type: gpt_neox, vocab_size: 50304, hidden_size: 64, num_layers: 6,\n"
     "        num_heads: 2, intermediate_size: 256, max_position_embeddings: 2048,\n"
     "        rotary_pct: 0.25, rotary_emb_base: 10000, use_parallel_residual: true}\n",
     "GPT-NeoX with Pythia-70M's structure (rotary on 25% of each head's dims, parallel residual, "
     "untied embed_out, vocabulary padded to 50304, 6 layers) at the demo's size: hidden 64, "
     "2 heads (Pythia-70M: hidden 512, 8 heads); GPT-2 tokenizer files"},
    {"gpt2",
     "model: {model_type: gpt2, vocab_size: 50257, hidden_size: 64, num_layers: 6, num_heads: 2,\n"
     "        intermediate_size: 256, max_position_embeddings: 1024}\n",
     "GPT-2 with GPT-2 small's structure (learned positions, tied wte, gelu_new, Conv1D) at the "
     "demo's size: hidden 64, 6 layers, 2 heads (GPT-2 small: hidden 768, 12 layers, 12 heads)"},
};

// The architecture named by --arch; INVALID_ARGUMENT naming the choices otherwise.
absl::StatusOr<const DemoArchitecture*> FindDemoArchitecture(const std::string& name) {
  for (const DemoArchitecture& a : kDemoArchitectures) {
    if (name == a.name) return &a;
  }
  return UsageError(absl::StrCat("--arch: '", name, "' is not gpt-neo, gpt-neox or gpt2"));
}

// Process groups of the running services (0: none) and the signal that interrupted the demo.
constexpr int kMaxServices = 3;
std::atomic<pid_t> g_service_pids[kMaxServices];
std::atomic<int> g_interrupted{0};

// SIGINT / SIGTERM: forward SIGTERM to every service's group (async-signal-safe calls only).
void OnSignal(int sig) {
  g_interrupted.store(sig);
  for (auto& p : g_service_pids) {
    const pid_t pid = p.load();
    if (pid > 0) ::kill(-pid, SIGTERM);
  }
}

// Installs OnSignal for the demo's lifetime; restores the previous handlers on destruction.
class SignalForwarding {
 public:
  SignalForwarding() {
    struct sigaction sa = {};
    sa.sa_handler = OnSignal;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, &old_int_);
    ::sigaction(SIGTERM, &sa, &old_term_);
  }
  ~SignalForwarding() {
    ::sigaction(SIGINT, &old_int_, nullptr);
    ::sigaction(SIGTERM, &old_term_, nullptr);
    for (auto& p : g_service_pids) p.store(0);
  }
  SignalForwarding(const SignalForwarding&) = delete;
  SignalForwarding& operator=(const SignalForwarding&) = delete;

 private:
  struct sigaction old_int_ = {}, old_term_ = {};
};

absl::Status Interrupted() {
  const int sig = g_interrupted.load();
  return absl::CancelledError(absl::StrCat("interrupted by ", sig == SIGINT ? "SIGINT" : "SIGTERM",
                                           "; the services were stopped"));
}

// One service child: started on port 0, its bound ports read from its log.
class ServiceChild {
 public:
  ServiceChild(std::string name, int slot) : name_(std::move(name)), slot_(slot) {}
  ~ServiceChild() { Stop(std::chrono::seconds(10)); }

  absl::Status Start(const std::vector<std::string>& argv, const std::string& log) {
    log_ = log;
    SubprocessOptions so;
    so.argv = argv;
    so.log_path = log;
    ASSIGN_OR_RETURN(proc_, Subprocess::Start(so));
    g_service_pids[slot_].store(proc_->pid());
    return absl::OkStatus();
  }

  // Waits until the log shows the gRPC port ("listening on HOST:PORT" / "listening on port N")
  // and, when `metrics`, the metrics port ("metrics on HOST:PORT").
  absl::Status WaitPorts(bool metrics, std::chrono::seconds timeout) {
    static const std::regex listen_re("listening on (?:[0-9.]+:|port )([0-9]+)");
    static const std::regex metrics_re("metrics on [0-9.]+:([0-9]+)");
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      if (g_interrupted.load() != 0) return Interrupted();
      const std::string text = ReadFile(log_).value_or("");
      std::smatch m, mm;
      if (std::regex_search(text, m, listen_re) &&
          (!metrics || std::regex_search(text, mm, metrics_re))) {
        port_ = std::stoi(m[1].str());
        if (metrics) metrics_port_ = std::stoi(mm[1].str());
        return absl::OkStatus();
      }
      if (std::optional<ExitInfo> e = proc_->TryWait(); e.has_value()) {
        return absl::InternalError(absl::StrCat(name_, " exited (", e->Describe(), "); log ", log_,
                                                ": ", TailLines(log_)));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return absl::DeadlineExceededError(absl::StrCat(name_, " did not print its port within ",
                                                    timeout.count(), " s; log ", log_, ": ",
                                                    TailLines(log_)));
  }

  // SIGTERM, then SIGKILL after `grace`; how it ended ("exit code 0", ...).
  std::string Stop(std::chrono::seconds grace) {
    if (proc_ == nullptr) return stopped_;
    stopped_ = proc_->Terminate(grace).Describe();
    g_service_pids[slot_].store(0);
    proc_.reset();
    return stopped_;
  }

  // The first match of `re`'s group 1 in the log ("" when absent).
  std::string LogMatch(const std::regex& re) const {
    const std::string text = ReadFile(log_).value_or("");
    std::smatch m;
    return std::regex_search(text, m, re) ? m[1].str() : "";
  }

  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }
  int metrics_port() const { return metrics_port_; }

 private:
  std::string name_;
  int slot_;
  std::string log_;
  std::unique_ptr<Subprocess> proc_;
  int port_ = 0, metrics_port_ = 0;
  std::string stopped_ = "not started";
};

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
  if (g_interrupted.load() != 0) return Interrupted();
  if (!s.ok()) return RpcError(s, address);
  std::cout << "[" << name << "] submitted " << resp.job().id() << std::endl;
  auto job = WatchUntilDone(stub, address, resp.job().id(), "text", "[" + name + "] ", 10.0);
  if (g_interrupted.load() != 0) return Interrupted();
  if (!job.ok()) return job.status();
  if (job->state() == trainer::v1::SUCCEEDED_WITH_WARNINGS) {
    for (const auto& w : job->warnings()) std::cout << "[" << name << "] warning: " << w << "\n";
  } else if (job->state() != trainer::v1::SUCCEEDED) {
    return absl::AbortedError(absl::StrCat(name, " job ", job->id(), " ended ",
                                           StateName(job->state()), ": ", job->failure_reason()));
  }
  return job;
}

// The explorer's page of `run` (its try page and pathway pages read `checkpoint`), "" without
// an explorer.
std::string ExplorerRunUrl(const std::string& explorer_url, const std::string& run,
                           const std::string& checkpoint) {
  if (explorer_url.empty()) return "";
  std::string url = absl::StrCat(explorer_url, "runs/", run);
  if (!checkpoint.empty())
    absl::StrAppend(&url, "?checkpoint=", analysis::explorer::UrlEncode(checkpoint));
  return url;
}

void PrintExplorerUrl(const std::string& run_url, bool explore) {
  if (run_url.empty()) return;
  std::cout << "  explorer: " << run_url
            << (explore ? " (up for browsing until Ctrl-C)"
                        : " (up while the demo ran; scripts/demo.sh --explore keeps it up)")
            << "\n";
}

// --explore: blocks until SIGINT / SIGTERM (OnSignal also sends the services SIGTERM).
void WaitForSignal(const std::string& run_url) {
  std::cerr << "browsing " << run_url << "\nthe recorder and analysis services stay up until Ctrl-C"
            << std::endl;
  while (g_interrupted.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  std::cerr << "stopping the services" << std::endl;
}

// Where the report goes under --out.
std::string ReportJsonPath(const DemoOpts& o) {
  return (fs::path(o.out_dir) / "llm_routing_results.json").string();
}
std::string ReportPngPath(const DemoOpts& o) {
  return (fs::path(o.out_dir) / "llm_monosemanticity.png").string();
}

// The demo's work dir (a fresh temp dir unless --work-dir) with logs/, and --out.
absl::StatusOr<std::string> MakeWorkDir(const DemoOpts& o) {
  std::string work = o.work_dir;
  if (work.empty()) {
    std::string tmpl = (fs::temp_directory_path() / "monoroute-demo-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) return absl::InternalError("cannot create a temp dir");
    work = tmpl;
  }
  std::error_code ec;
  work = fs::absolute(work).lexically_normal().string();
  fs::create_directories(work + "/logs", ec);
  fs::create_directories(o.out_dir, ec);
  if (ec) return absl::InvalidArgumentError(absl::StrCat("--out ", o.out_dir, ": ", ec.message()));
  return work;
}

// The training text: a generated corpus (with token categories for the report, `*lexicon`) or
// the given --data.
absl::StatusOr<std::string> MakeData(const DemoOpts& o, const std::string& work,
                                     std::string* lexicon) {
  if (!o.model_dir.empty()) return fs::absolute(o.data_path).string();
  const std::string train_path = work + "/corpus/train.txt";
  *lexicon = work + "/corpus/categories.tsv";
  std::error_code ec;
  fs::create_directories(work + "/corpus", ec);
  CorpusWriterOptions cw;
  cw.num_stories = o.stories;
  cw.seed = 1;
  cw.out_path = train_path;
  cw.categories_path = *lexicon;
  ASSIGN_OR_RETURN(CorpusSummary sum, WriteCorpus(cw));
  std::cout << absl::StrFormat("corpus: %d stories, %d bytes, %d tokens\n", sum.stories, sum.bytes,
                               sum.tokens)
            << std::flush;
  return train_path;
}

// The three services of the demo, each on 127.0.0.1 port 0 (gRPC and metrics), and the
// explorer's URL.
struct DemoServices {
  ServiceChild recorder{"monoroute-recorder", 0};
  ServiceChild analysis{"monoroute-analysis", 1};
  ServiceChild trainer{"monoroute-trainer", 2};
  std::string explorer_url;
};

absl::Status StartServices(const DemoOpts& o, const std::string& work, const std::string& bin,
                           const std::string& lexicon, DemoServices* sv) {
  const std::string any = "127.0.0.1:0";
  RETURN_IF_ERROR(sv->recorder.Start({bin + "/monoroute-recorder", "--listen", any, "--data-dir",
                                      work + "/recorder", "--metrics-listen", any},
                                     work + "/logs/recorder.log"));
  RETURN_IF_ERROR(sv->recorder.WaitPorts(true, std::chrono::seconds(60)));
  const std::string rec = sv->recorder.address();
  std::vector<std::string> analysis_args = {bin + "/monoroute-analysis",
                                            "--listen",
                                            any,
                                            "--recorder",
                                            rec,
                                            "--metrics-listen",
                                            any,
                                            "--http-listen",
                                            any,
                                            "--allowed-root",
                                            work};
  if (!lexicon.empty()) analysis_args.insert(analysis_args.end(), {"--lexicon", lexicon});
  RETURN_IF_ERROR(sv->analysis.Start(analysis_args, work + "/logs/analysis.log"));
  std::vector<std::string> trainer_args = {bin + "/monoroute-trainer",
                                           "--listen",
                                           any,
                                           "--data-dir",
                                           work + "/trainer",
                                           "--recorder",
                                           rec,
                                           "--metrics-listen",
                                           any,
                                           "--allowed-root",
                                           work};
  for (const std::string& extra : {o.model_dir, o.data_path}) {
    if (!extra.empty()) {
      trainer_args.insert(trainer_args.end(),
                          {"--allowed-root", fs::absolute(extra).parent_path().string()});
    }
  }
  RETURN_IF_ERROR(sv->trainer.Start(trainer_args, work + "/logs/trainer.log"));
  RETURN_IF_ERROR(sv->analysis.WaitPorts(true, std::chrono::seconds(60)));
  RETURN_IF_ERROR(sv->trainer.WaitPorts(true, std::chrono::seconds(60)));
  // The analysis service prints "explorer on URL" before its gRPC port.
  sv->explorer_url = sv->analysis.LogMatch(std::regex("explorer on (\\S+)"));
  std::cout << "services: recorder " << rec << ", analysis " << sv->analysis.address()
            << ", trainer " << sv->trainer.address() << " (metrics :" << sv->recorder.metrics_port()
            << " :" << sv->analysis.metrics_port() << " :" << sv->trainer.metrics_port() << ")"
            << std::endl;
  return absl::OkStatus();
}

// What the two jobs produced.
struct DemoJobs {
  double pretrain_val = 0;  // 0: no pretrain (--model given)
  trainer::v1::Job finetune;
};

// Pretrains (dense, unless --model) and GLBL fine-tunes with routing; the final held-out
// evaluation's routing goes to the recorder.
absl::StatusOr<DemoJobs> RunDemoJobs(const DemoOpts& o, const DemoArchitecture& arch,
                                     const std::string& train_path, DemoServices& sv) {
  const std::string tra = sv.trainer.address();
  auto stub = ConnectTrainer(tra, {}, 10);  // its own plaintext children on 127.0.0.1
  if (!stub.ok()) return stub.status();
  const std::string common = absl::StrFormat(
      "data: {train_path: %s, seq_len: %d, valid_fraction: 0.05}\n"
      "threads: %d\nlog_every: 5\n",
      Q(train_path), o.seq_len, o.threads);
  DemoJobs jobs;
  std::string model_dir = o.model_dir.empty() ? "" : fs::absolute(o.model_dir).string();
  if (model_dir.empty()) {
    std::string yaml = absl::StrCat(
        "kind: pretrain\n", arch.model_yaml, common,
        absl::StrFormat("optim: {lr: 3e-3, warmup_steps: 30, max_steps: %d, batch_size: %d}\n"
                        "eval_every: 0\neval_batches: 10\ncheckpoint_every: 100\n",
                        o.pretrain_steps, o.batch_size));
    ASSIGN_OR_RETURN(trainer::v1::Job job, RunJob(stub->get(), tra, yaml, "pretrain"));
    model_dir = job.checkpoint_dir();
    jobs.pretrain_val = job.final_val_loss();
  }
  std::string yaml = absl::StrCat(
      "kind: finetune\nmodel_dir: ", Q(model_dir), "\n", common,
      "routing: {num_pathways: 16, top_k: 4, router_hidden: 128, route_every_n_layers: 2,\n"
      "          balancing: {method: glbl}}\n",
      absl::StrFormat("optim: {lr: 1e-3, warmup_steps: 10, max_steps: %d, batch_size: %d}\n"
                      "eval_every: 0\neval_batches: 10\ncheckpoint_every: 50\n"
                      "record: {sample_rate: %g, eval_split_events: true}\n",
                      o.finetune_steps, o.batch_size, o.sample_rate));
  ASSIGN_OR_RETURN(jobs.finetune, RunJob(stub->get(), tra, yaml, "finetune"));
  std::cout << "[finetune] events recorded " << jobs.finetune.events().events_acked()
            << ", dropped " << jobs.finetune.events().events_dropped() << std::endl;
  return jobs;
}

// The report of `run_id` on the held-out split, written to --out.
absl::StatusOr<analysis::v1::ReportResponse> FetchReport(const DemoOpts& o,
                                                         const std::string& address,
                                                         const std::string& run_id) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(256 << 20);
  auto achan = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
  auto astub = analysis::v1::Analysis::NewStub(achan);
  analysis::v1::ReportRequest rreq;
  rreq.set_run_id(run_id);
  rreq.mutable_selection()->set_split("valid");
  analysis::v1::ReportResponse report;
  grpc::ClientContext actx;
  actx.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(5));
  grpc::Status rs = astub->ComputeReport(&actx, rreq, &report);
  if (g_interrupted.load() != 0) return Interrupted();
  if (!rs.ok()) {
    return absl::Status(FromGrpcStatus(rs).code(),
                        absl::StrCat("analysis report: ", rs.error_message()));
  }
  RETURN_IF_ERROR(WriteFileAtomic(ReportJsonPath(o), report.json()));
  RETURN_IF_ERROR(WriteFileAtomic(ReportPngPath(o), report.png()));
  return report;
}

absl::Status Demo(const DemoOpts& o) {
  const auto t0 = std::chrono::steady_clock::now();
  if (o.model_dir.empty() != o.data_path.empty()) {
    return UsageError("--model and --data go together");
  }
  ASSIGN_OR_RETURN(const DemoArchitecture* arch, FindDemoArchitecture(o.arch));
  if (!o.model_dir.empty() && arch != &kDemoArchitectures[0]) {
    return UsageError("--arch chooses the pretrained model; --model brings its own architecture");
  }
  g_interrupted.store(0);
  SignalForwarding forwarding;
  const bool temp_work = o.work_dir.empty();
  ASSIGN_OR_RETURN(const std::string work, MakeWorkDir(o));
  const std::string bin = o.bin_dir.empty() ? ExecutableDir() : o.bin_dir;
  std::cout << "monoroute demo: work dir " << work << ", logs in " << work << "/logs" << std::endl;
  if (o.model_dir.empty()) std::cout << "model: " << arch->about << std::endl;
  std::string lexicon;
  ASSIGN_OR_RETURN(const std::string train_path, MakeData(o, work, &lexicon));
  if (g_interrupted.load() != 0) return Interrupted();
  DemoServices sv;
  RETURN_IF_ERROR(StartServices(o, work, bin, lexicon, &sv));
  ASSIGN_OR_RETURN(DemoJobs jobs, RunDemoJobs(o, *arch, train_path, sv));
  const trainer::v1::Job& ft = jobs.finetune;
  const std::string run_id = ft.recorder_run_id().empty() ? ft.id() : ft.recorder_run_id();
  ASSIGN_OR_RETURN(analysis::v1::ReportResponse report,
                   FetchReport(o, sv.analysis.address(), run_id));
  // Summarise; with --explore the recorder and analysis stay up until SIGINT / SIGTERM.
  const std::string how_t = sv.trainer.Stop(std::chrono::seconds(20));
  const std::string run_url = ExplorerRunUrl(sv.explorer_url, run_id, ft.checkpoint_dir());
  const double total_s = SecondsSince(t0);
  if (!JsonOutput()) {
    std::cout << "\nmonoroute demo summary (" << FormatDuration(total_s) << ")\n";
    if (jobs.pretrain_val > 0) {
      std::cout << "  model               " << arch->about << "\n";
      std::cout << absl::StrFormat("  pretrain val_loss   %.4f\n", jobs.pretrain_val);
    }
    std::cout << absl::StrFormat("  finetune val_loss   %.4f (GLBL, 16 pathways, top-4)\n",
                                 ft.final_val_loss());
    std::cout << SummariseReport(report.json());
    std::cout << "  wrote " << ReportJsonPath(o) << " and " << ReportPngPath(o) << "\n";
    PrintExplorerUrl(run_url, o.explore);
  }
  if (o.explore && !run_url.empty()) WaitForSignal(run_url);
  const std::string how_a = sv.analysis.Stop(std::chrono::seconds(10));
  const std::string how_r = sv.recorder.Stop(std::chrono::seconds(20));
  std::error_code ec;
  if (temp_work && !o.keep) fs::remove_all(work, ec);
  if (JsonOutput()) {
    PrintJson({{"report_json", ReportJsonPath(o)},
               {"report_png", ReportPngPath(o)},
               {"run_id", run_id},
               {"arch", o.model_dir.empty() ? nlohmann::json(o.arch) : nlohmann::json(nullptr)},
               {"pretrain_val_loss", jobs.pretrain_val > 0 ? nlohmann::json(jobs.pretrain_val)
                                                           : nlohmann::json(nullptr)},
               {"finetune_val_loss", ft.final_val_loss()},
               {"events_recorded", ft.events().events_acked()},
               {"events_dropped", ft.events().events_dropped()},
               {"seconds", total_s},
               {"explorer_url", run_url},
               {"work_dir", temp_work && !o.keep ? nlohmann::json(nullptr) : nlohmann::json(work)},
               {"services_stopped", {{"trainer", how_t}, {"analysis", how_a}, {"recorder", how_r}}},
               {"report", nlohmann::json::parse(report.json(), nullptr, false)}});
    return absl::OkStatus();
  }
  std::cout << "  services stopped: trainer " << how_t << ", analysis " << how_a << ", recorder "
            << how_r << "\n";
  return absl::OkStatus();
}

void AddFlags(CLI::App* sub, DemoOpts* o) {
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
  sub->add_option("--arch", o->arch,
                  "Pretrained family: gpt-neo (TinyStories-1M), gpt-neox (Pythia-70M's structure) "
                  "or gpt2 (GPT-2 small's), at a demo size")
      ->capture_default_str();
  sub->add_flag("--keep", o->keep, "Keep the temp work dir");
  sub->add_flag("--explore", o->explore,
                "After the summary keep recorder + analysis (the pathway explorer) up until "
                "Ctrl-C");
}

MONOROUTE_REGISTER_COMMAND(
    demo,
    Command<DemoOpts>(
        "demo", "Start the services, pretrain + GLBL fine-tune, write the monosemanticity report",
        AddFlags, Demo));

}  // namespace
}  // namespace monoroute::cli
