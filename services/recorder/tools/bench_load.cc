// Load mode of monoroute-recorder-bench (see bench_modes.h).
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "monoroute/recorder/v1/recorder.grpc.pb.h"
#include "services/recorder/tools/bench_child.h"
#include "services/recorder/tools/bench_data.h"
#include "services/recorder/tools/bench_modes.h"

namespace monoroute::recorder::bench {
namespace {

using Clock = std::chrono::steady_clock;

// One phase of load: `streams` streams for `duration_s`, closed loop or open at `rate`.
struct Phase {
  int streams = 1;
  int window = 8;
  double duration_s = 1;
  double rate = 0;  // events/s over all streams; 0: closed loop
  std::string writer_prefix;
};

// What one stream measured.
struct StreamResult {
  absl::Status status;
  uint64_t events = 0;         // events of acked batches
  std::vector<double> ack_ms;  // per acked batch: send (or, open loop, its scheduled time) -> ack
  double event_seconds = 0;    // sum over acked batches of latency x events (Little's L x time)
  Clock::time_point last_ack;
};

// What one phase measured.
struct PhaseResult {
  uint64_t events = 0;
  std::vector<double> ack_ms;  // sorted
  std::vector<uint64_t> stream_events;
  double secs = 0, per_s = 0, event_seconds = 0;
};

// Value at quantile q (0..1) of sorted `v` (nearest rank).
double Quantile(const std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  size_t i = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, i == 0 ? 0 : i - 1)];
}

// Reads the acks of one stream (in order) and times them against the send times in `sent`.
void ReadAcks(grpc::ClientReaderWriter<v1::EventBatch, v1::BatchAck>* stream,
              grpc::ClientContext* ctx, std::mutex* mu, std::condition_variable* cv,
              std::deque<std::pair<Clock::time_point, uint64_t>>* sent, bool* done,
              StreamResult* out) {
  v1::BatchAck ack;
  uint64_t next_ack = 0;
  while (stream->Read(&ack)) {
    const Clock::time_point now = Clock::now();
    std::lock_guard<std::mutex> lock(*mu);
    if (ack.batch_seq() != next_ack++ || ack.duplicate() || sent->empty()) {
      out->status = absl::DataLossError(absl::StrCat("unexpected ack of batch ", ack.batch_seq()));
      ctx->TryCancel();
      break;
    }
    const double ms = std::chrono::duration<double, std::milli>(now - sent->front().first).count();
    out->ack_ms.push_back(ms);
    out->events += ack.events();
    out->event_seconds += ms / 1000.0 * static_cast<double>(ack.events());
    out->last_ack = now;
    sent->pop_front();
    cv->notify_one();
  }
  std::lock_guard<std::mutex> lock(*mu);
  *done = true;
  cv->notify_one();
}

// One load stream, as one writer process would run it: its own channel and TCP connection, one
// Record call, `window` batches in flight at most; open loop: batch k is due at start + phase +
// k x interval and its latency counts from then (no coordinated omission).
void RunStream(const std::string& address, const std::vector<v1::EventBatch>& pool, const Phase& ph,
               int index, Clock::time_point start, Clock::time_point stop, StreamResult* out) {
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(-1);
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  const double batch_events = static_cast<double>(pool[0].token_id_size());
  const auto interval = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(ph.rate > 0 ? batch_events * ph.streams / ph.rate : 0));
  // Connection and stream are set up before the clock starts (32 streams connecting at the same
  // instant would otherwise time their connects as the first batches' latency).
  auto channel = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
  (void)channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10));
  auto stub = v1::Recorder::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + (stop - Clock::now()) +
                   std::chrono::minutes(2));  // a stuck recorder fails the run
  auto stream = stub->Record(&ctx);
  std::this_thread::sleep_until(start);
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::pair<Clock::time_point, uint64_t>> sent;  // (latency origin, seq) in flight
  bool done = false;
  std::thread reader(ReadAcks, stream.get(), &ctx, &mu, &cv, &sent, &done, out);
  const Clock::time_point first_due = start + interval * index / std::max(1, ph.streams);
  v1::EventBatch msg;
  for (uint64_t seq = 0;; ++seq) {
    msg = pool[seq % pool.size()];  // built before its clock starts
    msg.set_batch_seq(seq);
    msg.set_step(seq);
    const Clock::time_point due = first_due + interval * static_cast<int64_t>(seq);
    if (ph.rate > 0) std::this_thread::sleep_until(due);
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return static_cast<int>(sent.size()) < ph.window || done; });
      if (done || Clock::now() >= stop) break;
      sent.emplace_back(ph.rate > 0 ? due : Clock::now(), seq);
    }
    if (!stream->Write(msg)) break;
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return sent.empty() || done; });
  }
  stream->WritesDone();
  reader.join();
  grpc::Status st = stream->Finish();
  if (out->status.ok() && !st.ok()) {
    out->status = absl::UnavailableError(absl::StrCat("Record: ", st.error_message()));
  } else if (out->status.ok() && !sent.empty()) {
    out->status = absl::DataLossError(absl::StrCat(sent.size(), " batches never acked"));
  }
}

// Runs one phase against `address` (run `spec.run_id` exists).
absl::StatusOr<PhaseResult> RunPhase(const std::string& address, const RunSpecData& spec,
                                     int tokens, const Phase& ph) {
  const std::vector<double> cdf = ZipfCdf(spec.vocab_size);
  std::vector<std::vector<v1::EventBatch>> pool(ph.streams);
  for (int w = 0; w < ph.streams; ++w) {
    for (int i = 0; i < 4; ++i) {
      pool[w].push_back(ToWire(MakeBenchBatch(spec, tokens, 1000 * w + i + 1, cdf), spec.run_id,
                               absl::StrCat(ph.writer_prefix, w)));
    }
  }
  const Clock::time_point start = Clock::now() + std::chrono::seconds(1);  // all connected
  const Clock::time_point stop = start + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(ph.duration_s));
  std::vector<StreamResult> results(ph.streams);
  std::vector<std::thread> threads;
  for (int w = 0; w < ph.streams; ++w) {
    threads.emplace_back(RunStream, std::cref(address), std::cref(pool[w]), std::cref(ph), w, start,
                         stop, &results[w]);
  }
  for (auto& t : threads) t.join();
  PhaseResult r;
  Clock::time_point last = start;
  for (const StreamResult& s : results) {
    RETURN_IF_ERROR(s.status);
    r.events += s.events;
    r.event_seconds += s.event_seconds;
    r.stream_events.push_back(s.events);
    r.ack_ms.insert(r.ack_ms.end(), s.ack_ms.begin(), s.ack_ms.end());
    last = std::max(last, s.last_ack);
  }
  std::sort(r.ack_ms.begin(), r.ack_ms.end());
  r.secs = std::chrono::duration<double>(last - start).count();
  r.per_s = r.secs > 0 ? static_cast<double>(r.events) / r.secs : 0;
  return r;
}

// Slowest stream's events over the mean stream's (all streams ran for the same time).
double MinStreamRatio(const std::vector<uint64_t>& v) {
  if (v.empty()) return 0;
  double sum = 0;
  for (uint64_t e : v) sum += static_cast<double>(e);
  const double mean = sum / static_cast<double>(v.size());
  return mean > 0 ? static_cast<double>(*std::min_element(v.begin(), v.end())) / mean : 0;
}

// Prints the text report and (with o.json) the JSON line.
void Report(const BenchOptions& o, uint64_t batch_events, const PhaseResult& r,
            const PhaseResult* base, double server_cpu, double client_cpu) {
  FILE* out = TextOut(o);
  const double p50 = Quantile(r.ack_ms, 0.50), p99 = Quantile(r.ack_ms, 0.99);
  const double max_ms = r.ack_ms.empty() ? 0 : r.ack_ms.back();
  // Events in flight: the window's worth in a closed loop; measured (L = sum of latency x events
  // / time) in an open loop, where the window is rarely full.
  const double in_flight = o.rate > 0 ? (r.secs > 0 ? r.event_seconds / r.secs : 0)
                                      : static_cast<double>(o.streams) * o.window * batch_events;
  const double floor_ms = r.per_s > 0 ? 1000.0 * in_flight / r.per_s : 0;
  const double min_ratio = MinStreamRatio(r.stream_events);
  const double m = static_cast<double>(r.events) / 1e6;
  std::fprintf(
      out,
      "recorder %s load: %d streams x %.0f s, %llu-event batches, %d in flight per "
      "stream, %s, %s, raw %s\n",
      o.recorder.empty() ? "(own child)" : o.recorder.c_str(), o.streams, o.duration_s,
      static_cast<unsigned long long>(batch_events), o.window,
      o.rate > 0 ? absl::StrCat("open loop at ", o.rate, " events/s").c_str() : "closed loop",
      o.sync ? "sync (fsync per batch)" : "group commit", o.raw_events ? "on" : "off");
  std::fprintf(out, "  acked: %llu events in %zu batches, %.2f s (first send -> last ack)\n",
               static_cast<unsigned long long>(r.events), r.ack_ms.size(), r.secs);
  std::fprintf(out, "  throughput:                    %12.0f events/s\n", r.per_s);
  std::fprintf(out,
               "  ack latency per batch (send -> its ack read): p50 %.1f ms, p99 %.1f ms, "
               "max %.1f ms; Little's-law floor %.1f ms (%.0f events in flight / throughput)\n",
               p50, p99, max_ms, floor_ms, in_flight);
  std::fprintf(out, "  slowest stream / mean stream:  %12.3f\n", min_ratio);
  if (m > 0) {
    std::fprintf(out, "  CPU s per 1M events: recorder %.3f + load client %.3f\n", server_cpu / m,
                 client_cpu / m);
  }
  if (base != nullptr) {
    std::fprintf(out,
                 "  baseline (1 stream, window 1): %.0f events/s, ack p50 %.1f ms, p99 %.1f ms\n",
                 base->per_s, Quantile(base->ack_ms, 0.5), Quantile(base->ack_ms, 0.99));
  }
  std::fflush(out);
  if (!o.json) return;
  nlohmann::json j = {{"mode", "load"},
                      {"streams", o.streams},
                      {"duration_s", o.duration_s},
                      {"batch_events", batch_events},
                      {"window", o.window},
                      {"rate", o.rate},
                      {"sync", o.sync},
                      {"events", r.events},
                      {"batches", r.ack_ms.size()},
                      {"seconds", r.secs},
                      {"events_per_s", r.per_s},
                      {"ack_p50_ms", p50},
                      {"ack_p99_ms", p99},
                      {"ack_max_ms", max_ms},
                      {"events_in_flight", in_flight},
                      {"littles_law_floor_ms", floor_ms},
                      {"stream_throughput_min_ratio", min_ratio},
                      {"recorder_cpu_s_per_mevent", m > 0 ? server_cpu / m : 0},
                      {"client_cpu_s_per_mevent", m > 0 ? client_cpu / m : 0}};
  if (base != nullptr) {
    j["baseline"] = {{"streams", 1},
                     {"window", 1},
                     {"events_per_s", base->per_s},
                     {"ack_p50_ms", Quantile(base->ack_ms, 0.5)},
                     {"ack_p99_ms", Quantile(base->ack_ms, 0.99)}};
  }
  std::printf("%s\n", j.dump().c_str());
  std::fflush(stdout);
}

}  // namespace

absl::Status RunLoad(const BenchOptions& o) {
  if (o.streams < 1) return absl::InvalidArgumentError("--streams must be >= 1");
  if (!(o.duration_s > 0)) return absl::InvalidArgumentError("--duration must be > 0");
  if (o.window < 1) return absl::InvalidArgumentError("--window must be >= 1");
  if (o.rate < 0) return absl::InvalidArgumentError("--rate must be >= 0");
  if (o.query) return absl::InvalidArgumentError("--query is not available with --streams");
  const int tokens = o.batch_tokens_set ? o.batch_tokens : 256;
  if (tokens < 1) return absl::InvalidArgumentError("--batch-tokens must be >= 1");
  const RunSpecData spec = BenchSpec(UniqueRunId("load"), o.raw_events);
  RecorderChild child;
  std::string address = o.recorder;
  if (address.empty()) {
    RETURN_IF_ERROR(child.Start(o.sync));
    address = child.address();
  }
  auto stub =
      v1::Recorder::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  {
    grpc::ClientContext ctx;
    v1::CreateRunResponse resp;
    grpc::Status gs = stub->CreateRun(&ctx, SpecToWire(spec), &resp);
    if (!gs.ok()) return absl::InternalError(absl::StrCat("CreateRun: ", gs.error_message()));
  }
  const double server_cpu0 = o.recorder.empty() ? ProcCpuSeconds(child.pid()) : 0;
  const double client_cpu0 = SelfCpuSeconds();
  ASSIGN_OR_RETURN(
      PhaseResult r,
      RunPhase(address, spec, tokens, {o.streams, o.window, o.duration_s, o.rate, "load-writer-"}));
  const double client_cpu = SelfCpuSeconds() - client_cpu0;
  const double server_cpu = o.recorder.empty() ? ProcCpuSeconds(child.pid()) - server_cpu0 : 0;
  uint64_t acked = r.events;
  PhaseResult base;
  if (o.baseline_s > 0) {
    ASSIGN_OR_RETURN(base, RunPhase(address, spec, tokens, {1, 1, o.baseline_s, 0, "baseline-"}));
    acked += base.events;
  }
  RETURN_IF_ERROR(CheckRecorderHolds(stub.get(), spec.run_id, acked));  // exactly the acked
  stub.reset();  // close our channel first, else the child's SIGTERM shutdown waits its grace
  RETURN_IF_ERROR(child.Stop());
  const uint64_t batch_events = static_cast<uint64_t>(tokens) * spec.routed_layers.size();
  Report(o, batch_events, r, o.baseline_s > 0 ? &base : nullptr, server_cpu, client_cpu);
  return absl::OkStatus();
}

}  // namespace monoroute::recorder::bench
