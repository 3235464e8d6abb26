// monoroute-recorder: the recorder gRPC service (flags only; the work is in recorder_service and
// recorder_core). Runs until SIGTERM/SIGINT, then drains RPCs, syncs and closes the database.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/base/malloc_tuning.h"
#include "common/service/server_runner.h"
#include "common/service/service_flags.h"
#include "services/recorder/recorder_service.h"
#include "services/recorder/recorder_store.h"

namespace mr = monoroute::recorder;

namespace {

// Flags of the store (RocksDB) part.
struct StoreFlags {
  std::string data_dir;
  bool sync = false;
  int wal_sync_interval_ms = 1000;
  int64_t max_batch_events = 1 << 20;
  uint64_t max_disk_bytes = 0;
  int write_buffer_mb = 64;
  int malloc_keep_mb = 256;
};

void AddStoreFlags(CLI::App* app, StoreFlags* f) {
  app->add_option("--data-dir", f->data_dir, "RocksDB data directory")->required();
  app->add_flag("--sync", f->sync,
                "fsync the WAL before acking each batch (default: group commit, ack after the "
                "WAL write, fsync every --wal-sync-interval-ms)");
  app->add_option("--wal-sync-interval-ms", f->wal_sync_interval_ms,
                  "WAL fsync period without --sync (0: never)")
      ->capture_default_str();
  app->add_option("--max-batch-events", f->max_batch_events, "largest batch accepted, in events")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app->add_option("--max-disk-bytes", f->max_disk_bytes,
                  "refuse writes (RESOURCE_EXHAUSTED, reads go on) while the data dir's files "
                  "hold this many bytes; 0: until the device is full. Writing resumes by itself")
      ->capture_default_str();
  app->add_option("--write-buffer-mb", f->write_buffer_mb,
                  "RocksDB memtable size per column family (also what a flush needs free to "
                  "resume after the disk was full)")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  app->add_option("--malloc-keep-mb", f->malloc_keep_mb,
                  "freed memory the allocator keeps for reuse (blocks up to 32 MiB from the heap): "
                  "receive buffers and memtable blocks are reused instead of faulted in anew; "
                  "0: the C library's defaults")
      ->capture_default_str()
      ->check(CLI::Range(0, 2047));
}

mr::RecorderStoreOptions ToStoreOptions(const StoreFlags& f) {
  mr::RecorderStoreOptions so;
  so.data_dir = f.data_dir;
  so.sync = f.sync;
  so.wal_sync_interval = std::chrono::milliseconds(f.wal_sync_interval_ms);
  so.max_batch_events = static_cast<size_t>(f.max_batch_events);
  so.max_disk_bytes = f.max_disk_bytes;
  so.write_buffer_bytes = static_cast<size_t>(f.write_buffer_mb) << 20;
  return so;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"monoroute-recorder: token-to-pathway routing events in RocksDB, exactly once"};
  std::string listen = "127.0.0.1:7101", metrics_listen = "127.0.0.1:7111";
  monoroute::ServerFlags server;
  server.max_receive_mb = 16;  // ingest batches: ~30 bytes per top-4 event, ~500k events
  server.max_send_mb = 64;     // QueryEvents batches (as ingested) and 1 MiB counts chunks
  server.token_env = "MONOROUTE_RECORDER_TOKEN";
  int ingest_threads = 2, shutdown_grace_ms = 5000, stream_threads = 8;
  uint64_t max_query_events = 100'000'000;
  StoreFlags store_flags;
  AddStoreFlags(&app, &store_flags);
  app.add_option("--listen", listen, "gRPC listen address host:port (port 0: any)")
      ->capture_default_str();
  app.add_option("--metrics-listen", metrics_listen,
                 "Prometheus /metrics address host:port; empty disables")
      ->capture_default_str();
  monoroute::AddServerFlags(&app, "CreateRun/Record/DeleteRun/FinishRun", &server);
  app.add_option("--ingest-threads", ingest_threads, "threads applying batches to the store")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  app.add_option("--max-query-events", max_query_events,
                 "largest QueryEvents limit accepted (limit 0 means 100000)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--stream-threads", stream_threads,
                 "threads serving QueryEvents/GetCounts streams (one per stream being served)")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  app.add_option("--shutdown-grace-ms", shutdown_grace_ms,
                 "after SIGTERM, how long open streams get before they are cancelled")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  CLI11_PARSE(app, argc, argv);

  absl::StatusOr<monoroute::AuthOptions> auth = monoroute::LoadAuthOptions(server);
  if (!auth.ok()) {
    std::cerr << "monoroute-recorder: " << auth.status().message() << "\n";
    return 2;
  }

  if (absl::Status s = monoroute::KeepFreedMemory(size_t(store_flags.malloc_keep_mb) << 20);
      !s.ok()) {
    std::cerr << "monoroute-recorder: --malloc-keep-mb: " << s.message() << " (ignored)\n";
  }
  const mr::RecorderStoreOptions so = ToStoreOptions(store_flags);
  const std::string& data_dir = so.data_dir;
  absl::StatusOr<std::unique_ptr<mr::RecorderStore>> store = mr::RecorderStore::Create(so);
  if (!store.ok()) {
    std::cerr << "monoroute-recorder: " << store.status().message() << "\n";
    return 1;
  }
  auto registry = std::make_shared<prometheus::Registry>();
  mr::RecorderServiceOptions svc_opts;
  svc_opts.bearer_token = auth->token;
  svc_opts.auth_reads = auth->auth_reads;
  svc_opts.ingest_threads = ingest_threads;
  svc_opts.stream_threads = stream_threads;
  svc_opts.max_query_events = max_query_events;
  absl::StatusOr<std::unique_ptr<mr::RecorderService>> service =
      mr::RecorderService::Create(svc_opts, store->get(), registry);
  if (!service.ok()) {
    std::cerr << "monoroute-recorder: " << service.status().message() << "\n";
    return 1;
  }

  monoroute::ServerRunnerOptions ro;
  ro.listen = listen;
  ro.metrics_listen = metrics_listen;
  ro.service_name = "monoroute.recorder.v1.Recorder";
  ro.metrics_prefix = "monoroute_recorder";
  monoroute::ApplyServerFlags(server, &ro);
  ro.shutdown_grace = std::chrono::milliseconds(shutdown_grace_ms);
  // NOT_SERVING while storage is full: writes are refused, reads and the overall status go on.
  ro.named_health_probes.emplace_back(mr::kWriteHealthName,
                                      [&store]() { return (*store)->WriteHealth(); });
  ro.health_probe_interval = std::chrono::milliseconds(1000);
  ro.on_started = [&](int port) {
    std::string host = ro.listen.substr(0, ro.listen.rfind(':'));
    std::printf("monoroute-recorder listening on %s:%d (data %s, %s, %s, %s)\n", host.c_str(), port,
                data_dir.c_str(), so.sync ? "sync" : "group commit",
                monoroute::DescribeTls(ro.tls).c_str(),
                monoroute::BearerAuth(*auth).Describe().c_str());
    std::fflush(stdout);
  };
  absl::Status close_status;
  ro.on_shutdown = [&]() { close_status = (*store)->Close(); };
  absl::Status s = monoroute::RunServer(ro, {service->get()}, registry);
  if (!s.ok()) {
    std::cerr << "monoroute-recorder: " << s.message() << "\n";
    (void)(*store)->Close();
    return 1;
  }
  service->reset();
  if (!close_status.ok()) {
    std::cerr << "monoroute-recorder: close: " << close_status.message() << "\n";
    return 1;
  }
  std::printf("monoroute-recorder stopped cleanly\n");
  return 0;
}
