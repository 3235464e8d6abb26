// Engine-backed job runner with recorder upload.
#include "services/trainer/engine_backend.h"

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/base/file_util.h"
#include "common/base/status_macros.h"
#include "common/engine/job_spec.h"
#include "common/engine/train.h"
#include "common/engine/training_observer.h"
#include "services/recorder/recorder_client.h"

namespace monoroute::trainer {
namespace {

namespace fs = std::filesystem;

// Whether the user set top-level `key` in the YAML or the overrides.
bool NamesKey(const std::string& yaml, const std::vector<std::string>& overrides,
              const std::string& key) {
  for (const auto& o : overrides) {
    if (absl::StartsWith(o, key + "=")) return true;
  }
  try {
    YAML::Node n = YAML::Load(yaml);
    return n.IsMap() && n[key].IsDefined() && !n[key].IsNull();
  } catch (const YAML::Exception&) {
    return false;  // the engine's parser reports the syntax error
  }
}

// A YAML single-quoted scalar.
std::string YamlQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

// Architecture facts the recorder's RunSpec needs: layer count and vocabulary size.
absl::Status ModelShape(const engine::JobSpec& spec, int* num_layers, int* vocab) {
  std::string config;
  if (spec.kind == "finetune") {
    config = (fs::path(spec.model_dir) / "config.json").string();
  } else if (!spec.model.config_path.empty()) {
    config = spec.model.config_path;
  }
  *num_layers = spec.model.num_layers;
  *vocab = spec.model.vocab_size;
  if (config.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::string text, ReadFile(config));
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(config, ": not a JSON object"));
  }
  *num_layers = j.value("num_layers", j.value("n_layer", *num_layers));
  *vocab = j.value("vocab_size", *vocab);
  return absl::OkStatus();
}

std::vector<uint32_t> RoutedLayers(const engine::JobSpec& spec, int num_layers) {
  std::vector<uint32_t> out;
  if (!spec.routing.layers.empty()) {
    for (int l : spec.routing.layers) out.push_back(static_cast<uint32_t>(l));
    return out;
  }
  int every = std::max(1, spec.routing.route_every_n_layers);
  for (int l = 0; l < num_layers; l += every) out.push_back(static_cast<uint32_t>(l));
  return out;
}

// Bridges engine callbacks to the job context and uploads routing events.
class ServiceObserver : public engine::TrainingObserver {
 public:
  ServiceObserver(JobContext* ctx, std::string job_id, recorder::RecorderWriter* writer,
                  recorder::RunSpecLite run_spec)
      : ctx_(ctx), job_id_(std::move(job_id)), writer_(writer), run_spec_(std::move(run_spec)) {}

  void OnStart(int64_t start_step, int64_t total_steps) override {
    ctx_->OnStart(start_step, total_steps);
  }

  void OnStep(const engine::StepReport& r) override {
    JobProgress p;
    p.step = r.step;
    p.total_steps = r.total_steps;
    p.lm_loss = r.lm_loss;
    p.balance_loss = r.balance_loss;
    p.total_loss = r.total_loss;
    p.lr = r.lr;
    p.tokens_per_s = r.tokens_per_s;
    p.eta_s = r.eta_s;
    p.tokens_seen = r.tokens_seen;
    for (const auto& b : r.balance) {
      p.balance.push_back({b.layer, b.load, b.max_violation, b.load_entropy, b.balance_loss});
    }
    ctx_->OnProgress(p);
    PublishStats();
  }

  void OnEval(const engine::EvalReport& r) override {
    ctx_->OnEval({r.step, r.val_loss, r.perplexity, r.split});
  }

  bool WantsRoutingEvents() const override { return writer_ != nullptr; }

  void OnRoutingEvents(const engine::RoutingEventsBatch& b) override {
    const size_t n = b.token_id.size();
    if (!EnsureRun()) {
      dropped_locally_ += n;
      return;
    }
    recorder::EventBlock block;
    block.run_id = job_id_;
    block.batch_seq = b.block_id;
    block.split = b.split;
    block.step.assign(n, static_cast<uint64_t>(b.step));
    block.layer.assign(n, static_cast<uint32_t>(b.layer));
    block.sequence_id = b.sequence_id;
    block.position = b.position;
    block.token_id = b.token_id;
    block.next_token_id = b.next_token_id;
    block.pathways = b.pathways;
    block.weights = b.weights;
    writer_->Append(std::move(block));  // a drop is counted by the writer
  }

  void OnCheckpoint(int64_t step, const std::string& dir, double seconds) override {
    ctx_->OnCheckpoint(step, dir, seconds);
    PublishStats();
  }

  bool ShouldStop() override { return ctx_->ShouldStop(); }

  // Pushes the attempt's event counters to the job; `unflushed_dropped` adds events that were
  // never acked because the final flush timed out.
  void PublishStats(uint64_t unflushed_dropped = 0) {
    JobEventStats s;
    if (writer_ != nullptr) {
      recorder::RecorderWriterStats w = writer_->stats();
      s.events_enqueued = w.events_enqueued;
      s.events_acked = w.events_acked;
      s.events_dropped = w.events_dropped;
      s.batches_acked = w.batches_acked;
      s.duplicate_acks = w.duplicate_acks;
    }
    s.events_dropped += dropped_locally_ + unflushed_dropped;
    ctx_->OnEventStats(s);
  }

  // Whether this attempt declared the run, and whether it dropped events before the writer.
  bool run_created() const { return run_created_; }
  uint64_t dropped_locally() const { return dropped_locally_; }

 private:
  // Declares the run once; retried at most every 5 s while the recorder is unreachable.
  bool EnsureRun() {
    if (run_created_) return true;
    auto now = std::chrono::steady_clock::now();
    if (attempted_ && now - last_attempt_ < std::chrono::seconds(5)) return false;
    attempted_ = true;
    last_attempt_ = now;
    absl::Status s = writer_->CreateRun(run_spec_);
    if (!s.ok()) {
      fprintf(stderr, "monoroute-trainer: %s: recorder CreateRun failed (events dropped): %s\n",
              job_id_.c_str(), std::string(s.message()).c_str());
      return false;
    }
    run_created_ = true;
    return true;
  }

  JobContext* ctx_;
  std::string job_id_;
  recorder::RecorderWriter* writer_;
  recorder::RunSpecLite run_spec_;
  bool run_created_ = false;
  bool attempted_ = false;
  std::chrono::steady_clock::time_point last_attempt_;
  uint64_t dropped_locally_ = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<EngineBackend>> EngineBackend::Create(
    const EngineBackendOptions& options) {
  if (options.max_queue_events == 0) {
    return absl::InvalidArgumentError("max_queue_events: must be > 0");
  }
  return std::unique_ptr<EngineBackend>(new EngineBackend(options));
}

absl::StatusOr<PreparedSpec> EngineBackend::Prepare(const std::string& spec_yaml,
                                                    const std::vector<std::string>& overrides,
                                                    const std::string& default_output_dir,
                                                    const std::string& default_device) {
  // Defaults go first, so the user's own overrides still win.
  std::vector<std::string> all;
  const bool user_output = NamesKey(spec_yaml, overrides, "output_dir");
  if (!user_output) all.push_back("output_dir=" + YamlQuote(default_output_dir));
  if (!NamesKey(spec_yaml, overrides, "device"))
    all.push_back("device=" + YamlQuote(default_device));
  all.insert(all.end(), overrides.begin(), overrides.end());
  ASSIGN_OR_RETURN(engine::JobSpec spec, engine::ParseJobSpecYaml(spec_yaml, all));
  PreparedSpec p;
  if (user_output) p.paths.push_back({"output_dir", spec.output_dir});
  if (!spec.model_dir.empty()) p.paths.push_back({"model_dir", spec.model_dir});
  if (!spec.model.config_path.empty())
    p.paths.push_back({"model.config_path", spec.model.config_path});
  if (!spec.data.train_path.empty()) p.paths.push_back({"data.train_path", spec.data.train_path});
  if (!spec.data.valid_path.empty()) p.paths.push_back({"data.valid_path", spec.data.valid_path});
  if (!spec.data.tokenizer_dir.empty()) {
    p.paths.push_back({"data.tokenizer_dir", spec.data.tokenizer_dir});
  }
  if (!spec.data.cache_dir.empty()) p.paths.push_back({"data.cache_dir", spec.data.cache_dir});
  p.spec_yaml = engine::JobSpecToYaml(spec);
  p.kind = spec.kind;
  p.output_dir = spec.output_dir;
  p.device = spec.device;
  p.records_events = !options_.recorder_address.empty() && engine::IsRouted(spec) &&
                     (spec.record.sample_rate > 0 || spec.record.eval_split_events);
  return p;
}

absl::Status EngineBackend::CheckFiles(const PreparedSpec& prepared) {
  ASSIGN_OR_RETURN(engine::JobSpec spec, engine::ParseJobSpecYaml(prepared.spec_yaml, {}));
  return engine::ValidateJobSpecPaths(spec);
}

absl::StatusOr<RunOutcome> EngineBackend::Run(const JobRecord& job, JobContext* ctx) {
  ASSIGN_OR_RETURN(engine::JobSpec spec, engine::ParseJobSpecYaml(job.spec_yaml, {}));
  std::unique_ptr<recorder::RecorderWriter> writer;
  recorder::RunSpecLite run_spec;
  if (!job.recorder_run_id.empty() && !options_.recorder_address.empty()) {
    int num_layers = 0, vocab = 0;
    RETURN_IF_ERROR(ModelShape(spec, &num_layers, &vocab));
    run_spec.set_run_id(job.recorder_run_id);
    for (uint32_t l : RoutedLayers(spec, num_layers)) run_spec.add_routed_layers(l);
    run_spec.set_num_pathways(spec.routing.num_pathways);
    run_spec.set_top_k(spec.routing.top_k);
    run_spec.set_vocab_size(vocab);
    run_spec.set_store_raw_events(true);
    (*run_spec.mutable_labels())["job"] = job.id;
    (*run_spec.mutable_labels())["kind"] = spec.kind;
    (*run_spec.mutable_labels())["balancing"] = spec.routing.balancing.method;
    if (!job.name.empty()) (*run_spec.mutable_labels())["name"] = job.name;
    recorder::RecorderWriterOptions wo;
    wo.address = options_.recorder_address;
    wo.writer_id = job.id;
    wo.bearer_token = options_.recorder_token;
    wo.max_queue_events = options_.max_queue_events;
    wo.max_block = std::chrono::milliseconds(options_.max_block_ms);
    wo.rpc_timeout = std::chrono::milliseconds(3000);
    ASSIGN_OR_RETURN(writer, recorder::RecorderWriter::Create(wo));
  }
  ServiceObserver observer(ctx, job.id, writer.get(), run_spec);
  absl::StatusOr<engine::TrainResult> result = engine::RunTrainingJob(spec, &observer);
  if (writer != nullptr) {
    const bool complete = result.ok() && !result->stopped_early;
    absl::Status flushed = writer->Flush(std::chrono::milliseconds(
        complete ? options_.flush_timeout_ms : options_.stop_flush_timeout_ms));
    uint64_t unflushed = 0;
    if (!flushed.ok()) {
      fprintf(stderr, "monoroute-trainer: %s: recorder flush: %s\n", job.id.c_str(),
              std::string(flushed.message()).c_str());
      recorder::RecorderWriterStats w = writer->stats();
      uint64_t settled = w.events_acked + w.events_dropped;
      // Not acked now and lost with the writer, unless the job resumes and re-sends them.
      if (complete && w.events_enqueued > settled) unflushed = w.events_enqueued - settled;
    }
    observer.PublishStats(unflushed);
    // A complete job whose every event is durable marks its run finished, so the recorder
    // refuses late batches (re-sends of applied ones are still acked as duplicates).
    // `job.events` holds the earlier attempts' counters.
    const recorder::RecorderWriterStats w = writer->stats();
    if (complete && flushed.ok() && observer.dropped_locally() == 0 && w.events_dropped == 0 &&
        job.events.events_dropped == 0) {
      absl::Status finished =
          writer->FinishRun(run_spec.run_id(), std::chrono::milliseconds(10000));
      // NOT_FOUND without a CreateRun in any attempt: nothing was recorded, nothing to finish.
      const bool nothing_recorded =
          absl::IsNotFound(finished) && !observer.run_created() && job.events.events_enqueued == 0;
      if (!finished.ok() && !nothing_recorded) {
        fprintf(stderr, "monoroute-trainer: %s: recorder FinishRun (not fatal): %s\n",
                job.id.c_str(), std::string(finished.message()).c_str());
      }
    }
  }
  if (!result.ok()) return result.status();
  RunOutcome out;
  out.stopped_early = result->stopped_early;
  out.final_step = result->final_step;
  out.final_val_loss = result->final_val_loss;
  out.checkpoint_dir = result->checkpoint_dir;
  return out;
}

}  // namespace monoroute::trainer
