// Helpers shared by the trainer subcommands of `monoroute` (submit, jobs, watch, cancel, demo):
// the --trainer/--token-file/--tls-* flags (--output is the shared one of command.h), connecting
// (service_channel.h) with a clear message when the service is down, and job formatting.
// Header-only (the CLI globs only cmd_*.cc). Thread-compatible.
#ifndef MONOROUTE_CLIENTS_CLI_TRAINER_CLI_UTIL_H_
#define MONOROUTE_CLIENTS_CLI_TRAINER_CLI_UTIL_H_

#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "clients/cli/command.h"
#include "clients/cli/service_channel.h"
#include "common/base/file_util.h"
#include "common/service/grpc_status.h"
#include "monoroute/trainer/v1/trainer.grpc.pb.h"

namespace monoroute::cli {

// Flags common to the trainer commands.
struct TrainerFlags {
  // host:port of monoroute-trainer (--trainer, env MONOROUTE_TRAINER_ADDR).
  std::string address;
  // File holding the bearer token (--token-file, env MONOROUTE_TRAINER_TOKEN_FILE); also the
  // token itself from env MONOROUTE_TRAINER_TOKEN. Sent on every call when set (a trainer with
  // --auth-reads needs it on reads too).
  std::string token_file;
  // TLS of the connection (--tls-*, env MONOROUTE_TLS_*).
  TlsFlags tls;
};

// Adds --trainer, --token-file and the TLS flags to `sub`.
inline void AddTrainerFlags(CLI::App* sub, TrainerFlags* f) {
  f->address = EnvOr("MONOROUTE_TRAINER_ADDR", "127.0.0.1:7103");
  sub->add_option("--trainer", f->address, "Trainer address (env MONOROUTE_TRAINER_ADDR)")
      ->capture_default_str();
  f->token_file = EnvOr("MONOROUTE_TRAINER_TOKEN_FILE", "");
  sub->add_option(
      "--token-file", f->token_file,
      "Bearer token file (env MONOROUTE_TRAINER_TOKEN_FILE or MONOROUTE_TRAINER_TOKEN)");
  AddTlsFlags(sub, &f->tls);
}

// The bearer token: --token-file, else env MONOROUTE_TRAINER_TOKEN, else empty.
inline absl::StatusOr<std::string> LoadToken(const TrainerFlags& f) {
  return LoadCliToken(f.token_file, "MONOROUTE_TRAINER_TOKEN");
}

inline absl::Status DownError(const std::string& what, const std::string& address,
                              const TlsFlags& tls = {}) {
  return absl::UnavailableError(absl::StrCat(
      absl::StrFormat("%s at %s is not reachable (is it running? set --%s or MONOROUTE_%s_ADDR)",
                      what, address, absl::AsciiStrToLower(what), absl::AsciiStrToUpper(what)),
      TlsHint(tls)));
}

// Connects to the trainer; UNAVAILABLE with a one-line hint if it does not answer in `wait_s`,
// INVALID_ARGUMENT naming the flag and file for unusable TLS files.
inline absl::StatusOr<std::unique_ptr<trainer::v1::Trainer::Stub>> ConnectTrainer(
    const std::string& address, const TlsFlags& tls = {}, double wait_s = 3.0) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      ConnectService(address, tls, 64 << 20, wait_s);
  if (channel.status().code() == absl::StatusCode::kUnavailable) {
    return DownError("trainer", address, tls);
  }
  if (!channel.ok()) return channel.status();
  return trainer::v1::Trainer::NewStub(*channel);
}

// Converts an RPC failure; UNAVAILABLE becomes the "not reachable" message.
inline absl::Status RpcError(const grpc::Status& s, const std::string& address,
                             const TlsFlags& tls = {}) {
  if (s.error_code() == grpc::StatusCode::UNAVAILABLE) return DownError("trainer", address, tls);
  return FromGrpcStatus(s);
}

inline void SetToken(grpc::ClientContext* ctx, const std::string& token) {
  if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
}

// A connection to the trainer with the bearer token its flags name.
struct TrainerSession {
  std::unique_ptr<trainer::v1::Trainer::Stub> stub;
  std::string token;  // empty: none is sent
  std::string address;
  TlsFlags tls;

  // Sets the token (when any) on `ctx`.
  void Authorize(grpc::ClientContext* ctx) const { SetToken(ctx, token); }

  // Calls the unary RPC `rpc` with the token and a deadline `timeout_s` from now; a failed call
  // becomes RpcError's status.
  template <class Req, class Resp>
  absl::Status Call(grpc::Status (trainer::v1::Trainer::Stub::*rpc)(grpc::ClientContext*,
                                                                    const Req&, Resp*),
                    const Req& req, Resp* resp, int timeout_s) const {
    grpc::ClientContext ctx;
    Authorize(&ctx);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(timeout_s));
    grpc::Status s = (stub.get()->*rpc)(&ctx, req, resp);
    if (!s.ok()) return RpcError(s, address, tls);
    return absl::OkStatus();
  }
};

// Loads the token of `f` (LoadToken) and connects (ConnectTrainer, its errors).
inline absl::StatusOr<TrainerSession> OpenTrainer(const TrainerFlags& f) {
  absl::StatusOr<std::string> token = LoadToken(f);
  if (!token.ok()) return token.status();
  absl::StatusOr<std::unique_ptr<trainer::v1::Trainer::Stub>> stub =
      ConnectTrainer(f.address, f.tls);
  if (!stub.ok()) return stub.status();
  return TrainerSession{std::move(*stub), std::move(*token), f.address, f.tls};
}

// One-line JSON of a message (for --output json; print it with PrintJsonLine).
inline std::string ToJsonLine(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, o);
  return out;
}

inline std::string StateName(trainer::v1::JobState s) { return trainer::v1::JobState_Name(s); }

// "1h02m", "3m05s", "42s".
inline std::string FormatDuration(double s) {
  if (!(s >= 0) || s > 1e7) return "?";
  int64_t t = static_cast<int64_t>(s + 0.5);
  if (t >= 3600) return absl::StrFormat("%dh%02dm", t / 3600, (t % 3600) / 60);
  if (t >= 60) return absl::StrFormat("%dm%02ds", t / 60, t % 60);
  return absl::StrFormat("%ds", t);
}

// "resumed at step 30, 0 new steps" for a job that continued a checkpoint, else "".
inline std::string ResumedText(const trainer::v1::Job& j) {
  if (j.resumed_from_step() <= 0) return "";
  return absl::StrFormat("resumed at step %d, %d new steps", j.resumed_from_step(),
                         j.progress().step() - j.resumed_from_step());
}

// "step 40/100 loss 3.210 (lm 3.200 bal 1.010) 12.3k tok/s ETA 1m20s".
inline std::string ProgressText(const trainer::v1::Job& j) {
  const auto& p = j.progress();
  std::string s = absl::StrFormat("step %d/%d", p.step(), p.total_steps());
  // Losses of a step this job trained (a job that resumed at its last step trained none).
  if (p.step() > j.resumed_from_step()) {
    s += absl::StrFormat(" loss %.3f (lm %.3f bal %.3f) %.1fk tok/s ETA %s", p.total_loss(),
                         p.lm_loss(), p.balance_loss(), p.tokens_per_s() / 1000.0,
                         FormatDuration(p.eta_s()));
  }
  if (j.evals_size() > 0) {
    s += absl::StrFormat(" val %.3f", j.evals(j.evals_size() - 1).val_loss());
  }
  // The phase, when the job is not (or no longer) training: "final_eval 12/40", "uploading".
  const auto& ph = j.phase();
  if (!ph.phase().empty() && ph.phase() != "training" && j.state() == trainer::v1::RUNNING) {
    s += " [" + ph.phase();
    if (ph.total() > 0) s += absl::StrFormat(" %d/%d", ph.done(), ph.total());
    s += "]";
  }
  if (j.worker_retries() > 0) s += absl::StrFormat(" (worker retried x%d)", j.worker_retries());
  if (j.resumed_from_step() > 0) s += " (" + ResumedText(j) + ")";
  return s;
}

// The job's warnings on one line ("" when none).
inline std::string WarningsText(const trainer::v1::Job& j) {
  std::string out;
  for (const std::string& w : j.warnings()) out += (out.empty() ? "" : "; ") + w;
  return out;
}

// What `monoroute jobs` shows after a job's state: the failure reason, the warnings of a job that
// SUCCEEDED_WITH_WARNINGS, else its progress.
inline std::string JobDetail(const trainer::v1::Job& j) {
  if (j.state() == trainer::v1::FAILED) return j.failure_reason();
  if (j.state() == trainer::v1::SUCCEEDED_WITH_WARNINGS) {
    return "warning: " + WarningsText(j) + " | " + ProgressText(j);
  }
  return ProgressText(j);
}

// Streams job `id` until it is terminal, rendering a live progress bar on a TTY, plain lines
// otherwise (at most one per `plain_every_s` seconds, plus state changes and evaluations), or one
// JSON object per update (PrintJsonLine) with output "json". `token`: sent when not empty. Returns
// the final job (whatever its state).
inline absl::StatusOr<trainer::v1::Job> WatchUntilDone(
    trainer::v1::Trainer::Stub* stub, const std::string& address, const std::string& id,
    const std::string& output, const std::string& prefix = "", double plain_every_s = 5.0,
    const std::string& token = "") {
  const bool tty = output != "json" && ::isatty(STDOUT_FILENO);
  grpc::ClientContext ctx;
  SetToken(&ctx, token);
  trainer::v1::WatchJobRequest req;
  req.set_id(id);
  auto reader = stub->WatchJob(&ctx, req);
  trainer::v1::JobUpdate u;
  trainer::v1::Job last;
  trainer::v1::JobState last_state = trainer::v1::JOB_STATE_UNSPECIFIED;
  auto last_line = std::chrono::steady_clock::now() - std::chrono::hours(1);
  bool bar_open = false;
  while (reader->Read(&u)) {
    last = u.job();
    if (output == "json") {
      PrintJsonLine(ToJsonLine(u));
      continue;
    }
    const bool state_changed = last.state() != last_state;
    if (state_changed) {
      if (bar_open) std::cout << "\n";
      bar_open = false;
      std::cout << prefix << id << " " << StateName(last.state());
      if (last.state() == trainer::v1::FAILED) std::cout << ": " << last.failure_reason();
      if (last.state() == trainer::v1::SUCCEEDED_WITH_WARNINGS) {
        std::cout << ": " << WarningsText(last);
      }
      if (last.resumes() > 0 && last.state() == trainer::v1::RUNNING) {
        std::cout << " (resumed x" << last.resumes() << ")";
      }
      std::cout << std::endl;
      last_state = last.state();
    }
    if (u.kind() == trainer::v1::JobUpdate::EVAL && last.evals_size() > 0) {
      const auto& e = last.evals(last.evals_size() - 1);
      if (bar_open) std::cout << "\n";
      bar_open = false;
      std::cout << prefix
                << absl::StrFormat("eval @%d: val_loss %.4f ppl %.2f (%s)", e.step(), e.val_loss(),
                                   e.perplexity(), e.split())
                << std::endl;
    }
    if (last.state() != trainer::v1::RUNNING || last.progress().total_steps() <= 0) continue;
    if (tty) {
      const auto& p = last.progress();
      const int width = 30;
      double frac = std::min(1.0, static_cast<double>(p.step()) / p.total_steps());
      int fill = static_cast<int>(frac * width);
      std::cout << "\r" << prefix << "[" << std::string(fill, '#') << std::string(width - fill, '.')
                << "] " << absl::StrFormat("%3.0f%% ", 100 * frac) << ProgressText(last) << "\x1b[K"
                << std::flush;
      bar_open = true;
    } else if (u.kind() == trainer::v1::JobUpdate::STEP &&
               std::chrono::steady_clock::now() - last_line >=
                   std::chrono::milliseconds(static_cast<int64_t>(plain_every_s * 1000))) {
      last_line = std::chrono::steady_clock::now();
      std::cout << prefix << id << " " << ProgressText(last) << std::endl;
    }
  }
  if (bar_open) std::cout << "\n";
  grpc::Status s = reader->Finish();
  if (!s.ok()) return RpcError(s, address);
  return last;
}

}  // namespace monoroute::cli

#endif  // MONOROUTE_CLIENTS_CLI_TRAINER_CLI_UTIL_H_
