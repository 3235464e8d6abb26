// Throughput mode of monoroute-recorder-bench (see bench_modes.h).
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "monoroute/recorder/v1/recorder.grpc.pb.h"
#include "services/recorder/batch_encoder.h"
#include "services/recorder/batch_validator.h"
#include "services/recorder/key_codec.h"
#include "services/recorder/recorder_client.h"
#include "services/recorder/recorder_db.h"
#include "services/recorder/rocksdb_status.h"
#include "services/recorder/tools/bench_child.h"
#include "services/recorder/tools/bench_data.h"
#include "services/recorder/tools/bench_modes.h"

namespace monoroute::recorder::bench {
namespace {

using Pool = std::vector<std::vector<events::RoutingEventBatch>>;

// Rates of one phase.
struct Rates {
  double ingest_per_s = 0;
  double scan_per_s = 0;  // 0 unless --query
};

// Streams the batches through W RecorderWriters; returns acked events/s.
absl::StatusOr<double> RunService(const BenchOptions& o, const std::string& address,
                                  const RunSpecData& spec, const Pool& pool, uint64_t per_writer,
                                  uint64_t batch_events) {
  std::vector<std::unique_ptr<RecorderWriter>> writers;
  for (int w = 0; w < o.writers; ++w) {
    RecorderWriterOptions wo;
    wo.address = address;
    wo.writer_id = absl::StrCat("bench-writer-", w);
    wo.max_block = std::chrono::milliseconds(60000);  // a benchmark never drops
    if (o.queue_batches > 0) {
      wo.max_queue_events = static_cast<size_t>(o.queue_batches) * batch_events;
    }
    ASSIGN_OR_RETURN(auto writer, RecorderWriter::Create(wo));
    writers.push_back(std::move(writer));
  }
  RETURN_IF_ERROR(writers[0]->CreateRun(SpecToWire(spec)));
  std::vector<absl::Status> results(o.writers);
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int w = 0; w < o.writers; ++w) {
    threads.emplace_back([&, w] {
      const auto& mine = pool[w];
      for (uint64_t i = 0; i < per_writer; ++i) {
        events::RoutingEventView v = mine[i % mine.size()].view();
        v.header.run_id = spec.run_id;
        v.header.batch_id = i;
        v.header.step = i;
        if (!writers[w]->Append(v)) {
          results[w] = absl::InternalError("a batch was dropped");
          return;
        }
      }
      results[w] = writers[w]->Flush(std::chrono::seconds(600));
    });
  }
  for (auto& t : threads) t.join();
  const double secs = Seconds(t0);
  uint64_t acked = 0;
  for (int w = 0; w < o.writers; ++w) {
    RETURN_IF_ERROR(results[w]);
    acked += writers[w]->stats().events_acked;
  }
  RETURN_IF_ERROR(CheckRecorderHolds(
      v1::Recorder::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials())).get(),
      spec.run_id, acked));
  return static_cast<double>(acked) / secs;
}

// Scan ceiling: iterate the raw loop's events column family and decode every raw block (what
// RecorderStore::QueryEvents does before filtering and protobuf). Events/s.
absl::StatusOr<double> RawScan(RecorderDb& db, uint64_t expected) {
  auto t0 = std::chrono::steady_clock::now();
  uint64_t n = 0;
  std::unique_ptr<rocksdb::Iterator> it(db.db->NewIterator(rocksdb::ReadOptions(), db.cf.events));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    EventsKeyParts kp;
    if (!ParseEventsKey(it->key().ToStringView(), &kp)) {
      return absl::DataLossError("raw scan: malformed events key");
    }
    ASSIGN_OR_RETURN(RawBlock b, DecodeRawBlock(it->value().ToStringView()));
    n += b.token_id.size();
  }
  if (!it->status().ok()) return FromRocksStatus(it->status(), "raw scan");
  const double secs = Seconds(t0);
  if (n != expected) {
    return absl::InternalError(absl::StrCat("raw scan read ", n, " events, wrote ", expected));
  }
  return static_cast<double>(n) / secs;
}

// Every event of the run with one QueryEvents call (all layers, limit = expected). Events/s.
absl::StatusOr<double> ServiceScan(const std::string& address, const std::string& run_id,
                                   uint64_t expected) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  auto stub = v1::Recorder::NewStub(
      grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args));
  v1::EventQuery q;
  q.set_run_id(run_id);
  q.set_limit(expected);
  auto t0 = std::chrono::steady_clock::now();
  grpc::ClientContext ctx;
  auto reader = stub->QueryEvents(&ctx, q);
  v1::EventBatch m;
  uint64_t n = 0;
  while (reader->Read(&m)) n += static_cast<uint64_t>(m.token_id_size());
  grpc::Status st = reader->Finish();
  const double secs = Seconds(t0);
  if (!st.ok()) return absl::InternalError(absl::StrCat("QueryEvents: ", st.error_message()));
  if (n != expected) {
    return absl::InternalError(
        absl::StrCat("QueryEvents returned ", n, " events, expected ", expected));
  }
  return static_cast<double>(n) / secs;
}

// One raw writer thread: encode with the recorder's schema and write straight into RocksDB.
absl::Status RawWriterLoop(const BenchOptions& o, const RunLayout& layout, RecorderDb& db,
                           std::vector<events::RoutingEventBatch> mine,
                           const std::vector<uint8_t>& idx, int w, uint64_t per_writer,
                           std::atomic<uint64_t>* events) {
  for (auto& b : mine) b.header.writer_id = absl::StrCat("raw-writer-", w);
  rocksdb::WriteOptions wopt;
  wopt.sync = o.sync;
  for (uint64_t i = 0; i < per_writer; ++i) {
    events::RoutingEventBatch& b = mine[i % mine.size()];
    b.header.step = i;
    b.header.batch_id = i;
    rocksdb::WriteBatch wb(EstimateWriteBatchBytes(layout.spec, b.num_events()));
    BatchInfo info;
    EncodeBatch(layout, 1, 0, b.view(), idx[i % mine.size()], db.cf, &wb, &info);
    rocksdb::Status s = db.db->Write(wopt, &wb);
    if (!s.ok()) return FromRocksStatus(s, "raw write");
    *events += b.num_events();
  }
  return absl::OkStatus();
}

// The ceiling: the same batches written by W threads straight into RocksDB (no gRPC,
// validation or dedup), and with --query the raw scan.
absl::StatusOr<Rates> RunRaw(const BenchOptions& o, const RunSpecData& spec, const Pool& pool,
                             uint64_t per_writer) {
  std::string tmpl =
      (std::filesystem::temp_directory_path() / "monoroute_bench_raw_XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) return absl::InternalError("mkdtemp failed");
  absl::StatusOr<Rates> out;
  {
    RecorderStoreOptions so;
    so.data_dir = tmpl;
    RecorderDb db;
    RETURN_IF_ERROR(OpenRecorderDb(so, &db));
    const RunLayout layout = RunLayout::From(spec);
    std::vector<std::vector<uint8_t>> idx(pool.size());
    for (size_t w = 0; w < pool.size(); ++w) {
      for (const auto& b : pool[w]) {
        RETURN_IF_ERROR(ValidateBatch(layout, b.view(), 1 << 24, &idx[w].emplace_back()));
      }
    }
    std::vector<absl::Status> results(o.writers);
    std::atomic<uint64_t> events{0};
    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    for (int w = 0; w < o.writers; ++w) {
      threads.emplace_back([&, w] {
        results[w] = RawWriterLoop(o, layout, db, pool[w], idx[w], w, per_writer, &events);
      });
    }
    for (auto& t : threads) t.join();
    const double secs = Seconds(t0);
    for (const auto& s : results) RETURN_IF_ERROR(s);
    Rates r;
    r.ingest_per_s = static_cast<double>(events.load()) / secs;
    if (o.query) {
      ASSIGN_OR_RETURN(r.scan_per_s, RawScan(db, events.load()));
    }
    out = r;
  }
  std::error_code ec;
  std::filesystem::remove_all(tmpl, ec);
  return out;
}

// What one throughput run measured.
struct ThroughputResult {
  uint64_t total = 0, per_writer = 0, batch_events = 0;
  double events_per_s = 0, scan_per_s = 0;
  Rates raw;
  double server_cpu = 0, client_cpu = 0, raw_cpu = 0;  // seconds
};

void Report(const BenchOptions& o, const ThroughputResult& r) {
  FILE* out = TextOut(o);
  const char* mode = o.sync ? "sync (fsync per batch)" : "group commit";
  std::fprintf(out,
               "recorder %s: %llu events (%d writers x %llu batches x %llu events, %s, raw %s, "
               "writer queue %s)\n",
               o.recorder.empty() ? "(own child)" : o.recorder.c_str(),
               static_cast<unsigned long long>(r.total), o.writers,
               static_cast<unsigned long long>(r.per_writer),
               static_cast<unsigned long long>(r.batch_events), mode, o.raw_events ? "on" : "off",
               o.queue_batches > 0 ? absl::StrCat(o.queue_batches, " batches").c_str()
                                   : "the writer's default");
  std::fprintf(out, "  with acks over gRPC:           %12.0f events/s\n", r.events_per_s);
  std::fprintf(out, "  raw RocksDB WriteBatch loop:   %12.0f events/s (same data and schema)\n",
               r.raw.ingest_per_s);
  std::fprintf(out, "  service / raw:                 %12.1f %%\n",
               100.0 * r.events_per_s / r.raw.ingest_per_s);
  const double m = static_cast<double>(r.total) / 1e6;
  std::fprintf(
      out, "  CPU s per 1M events: recorder %.3f + writers %.3f (service path), raw loop %.3f\n",
      r.server_cpu / m, r.client_cpu / m, r.raw_cpu / m);
  if (o.query) {
    std::fprintf(out, "  QueryEvents scan over gRPC:    %12.0f events/s (one stream, all layers)\n",
                 r.scan_per_s);
    std::fprintf(out, "  raw iterator + decode scan:    %12.0f events/s\n", r.raw.scan_per_s);
    std::fprintf(out, "  scan service / raw:            %12.1f %%\n",
                 100.0 * r.scan_per_s / r.raw.scan_per_s);
  }
  std::fflush(out);
  if (!o.json) return;
  nlohmann::json j = {{"events", r.total},
                      {"writers", o.writers},
                      {"queue_batches", o.queue_batches},
                      {"batch_events", r.batch_events},
                      {"sync", o.sync},
                      {"raw_events_stored", o.raw_events},
                      {"events_per_s", r.events_per_s},
                      {"raw_events_per_s", r.raw.ingest_per_s},
                      {"ratio", r.events_per_s / r.raw.ingest_per_s},
                      {"recorder_cpu_s_per_mevent", r.server_cpu / m},
                      {"writer_cpu_s_per_mevent", r.client_cpu / m},
                      {"raw_cpu_s_per_mevent", r.raw_cpu / m},
                      {"query_events_per_s", r.scan_per_s},
                      {"raw_scan_events_per_s", r.raw.scan_per_s}};
  std::printf("%s\n", j.dump().c_str());
  std::fflush(stdout);
}

}  // namespace

absl::Status RunThroughput(const BenchOptions& o) {
  if (o.writers < 1) return absl::InvalidArgumentError("--writers must be >= 1");
  if (o.batch_tokens < 1) return absl::InvalidArgumentError("--batch-tokens must be >= 1");
  if (o.queue_batches < 0 || o.queue_batches > (1 << 20)) {
    return absl::InvalidArgumentError("--queue-batches must be in [0, 1048576]");
  }
  if (o.query && !o.raw_events) {
    return absl::InvalidArgumentError("--query needs raw events (not --no-raw-events)");
  }
  const RunSpecData spec = BenchSpec(UniqueRunId("bench"), o.raw_events);
  ThroughputResult r;
  r.batch_events = static_cast<uint64_t>(o.batch_tokens) * spec.routed_layers.size();
  r.per_writer = std::max<uint64_t>(
      1, (o.events + r.batch_events * o.writers - 1) / (r.batch_events * o.writers));
  const std::vector<double> cdf = ZipfCdf(spec.vocab_size);
  Pool pool(o.writers);
  for (int w = 0; w < o.writers; ++w) {
    for (int i = 0; i < 4; ++i) {
      pool[w].push_back(MakeBenchBatch(spec, o.batch_tokens, 1000 * w + i + 1, cdf));
    }
  }
  RecorderChild child;
  std::string address = o.recorder;
  if (address.empty()) {
    RETURN_IF_ERROR(child.Start(o.sync));
    address = child.address();
  }
  // CPU time is reported next to wall-clock rates: on a shared machine the rates move with the
  // load, CPU seconds per event much less.
  const double server_cpu0 = o.recorder.empty() ? ProcCpuSeconds(child.pid()) : 0;
  const double client_cpu0 = SelfCpuSeconds();
  ASSIGN_OR_RETURN(r.events_per_s,
                   RunService(o, address, spec, pool, r.per_writer, r.batch_events));
  r.client_cpu = SelfCpuSeconds() - client_cpu0;
  r.server_cpu = o.recorder.empty() ? ProcCpuSeconds(child.pid()) - server_cpu0 : 0;
  r.total = r.per_writer * r.batch_events * o.writers;
  if (o.query) {
    ASSIGN_OR_RETURN(r.scan_per_s, ServiceScan(address, spec.run_id, r.total));
  }
  RETURN_IF_ERROR(child.Stop());
  const double raw_cpu0 = SelfCpuSeconds();
  ASSIGN_OR_RETURN(r.raw, RunRaw(o, spec, pool, r.per_writer));
  r.raw_cpu = SelfCpuSeconds() - raw_cpu0;
  Report(o, r);
  return absl::OkStatus();
}

}  // namespace monoroute::recorder::bench
