// `monoroute bench recorder`: recorder ingest throughput with acks, next to a raw RocksDB
// WriteBatch loop over the same data and schema (the ceiling); with --query also the QueryEvents
// scan of everything written (one stream, all layers) next to a raw iterator + decode scan of the
// raw loop's database. With --streams N --duration S instead a load test: N concurrent Record
// streams send for S seconds; events/s and the per-batch ack latency (send -> ack) p50/p99.
// Starts its own monoroute-recorder (found next to this binary) on a free loopback port with a
// temporary data dir unless --recorder is given.
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "clients/cli/command.h"
#include "common/base/status_macros.h"
#include "monoroute/recorder/v1/recorder.grpc.pb.h"
#include "services/recorder/batch_encoder.h"
#include "services/recorder/batch_validator.h"
#include "services/recorder/key_codec.h"
#include "services/recorder/recorder_client.h"
#include "services/recorder/recorder_db.h"
#include "services/recorder/rocksdb_status.h"

namespace monoroute::cli {
namespace {

namespace rec = ::monoroute::recorder;

struct BenchRecorderOptions {
  uint64_t events = 4'000'000;    // token-layer events to stream in total
  int writers = 2;                // concurrent RecorderWriters (one stream each)
  std::string recorder;           // host:port of a running recorder; empty: start one
  bool json = false;              // print a JSON object as the last line
  int batch_tokens = 4096;        // tokens per batch (x 4 routed layers = events per batch)
  bool sync = false;              // start the recorder (and the raw loop) with per-batch fsync
  bool raw_events = true;         // store raw events (false: counts-only run)
  bool query = false;             // also time a QueryEvents scan of every written event
  int streams = 0;                // load mode: concurrent Record streams (0: throughput mode)
  double duration_s = 60;         // load mode: seconds of sending
  int window = 8;                 // load mode: batches in flight per stream (RecorderWriter's)
  bool batch_tokens_set = false;  // --batch-tokens given (load mode default: 256 = 1,024 events)
};

// Rates of one phase: service path and raw ceiling.
struct Rates {
  double ingest_per_s = 0;
  double scan_per_s = 0;  // 0 unless --query
};

// TinyStories-1M routing: 8 layers, every other one routed, 16 pathways, top-4, GPT-2 vocab.
rec::RunSpecData BenchSpec(const std::string& run_id, bool raw) {
  rec::RunSpecData s;
  s.run_id = run_id;
  s.routed_layers = {1, 3, 5, 7};
  s.num_pathways = 16;
  s.top_k = 4;
  s.vocab_size = 50257;
  s.store_raw_events = raw;
  s.step_bucket = 1000;
  return s;
}

// One batch of `tokens` tokens x 4 layers: Zipf(1.1) token ids, token-correlated top-4 routes.
rec::EventBatchData MakeBenchBatch(const rec::RunSpecData& spec, size_t tokens, uint32_t seed,
                                   const std::vector<double>& cdf) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  rec::EventBatchData b;
  b.run_id = spec.run_id;
  b.writer_id = "bench";
  std::vector<uint32_t> tok(tokens);
  for (auto& t : tok) {
    t = static_cast<uint32_t>(std::lower_bound(cdf.begin(), cdf.end(), u(rng) * cdf.back()) -
                              cdf.begin());
    t = std::min<uint32_t>(t, spec.vocab_size - 1);
  }
  for (uint32_t layer : spec.routed_layers) {
    for (size_t i = 0; i < tokens; ++i) {
      b.step.push_back(0);
      b.layer.push_back(layer);
      b.sequence_id.push_back(seed * 100000ull + i / 128);
      b.position.push_back(static_cast<uint32_t>(i % 128));
      b.token_id.push_back(tok[i]);
      b.next_token_id.push_back(tok[(i + 1) % tokens]);
      // Routes depend mostly on (token, layer), sometimes on context.
      uint64_t h = (tok[i] * 0x9E3779B97F4A7C15ull) ^ (layer * 0xC2B2AE3D27D4EB4Full);
      if (u(rng) < 0.3) h ^= rng();
      uint32_t used = 0;
      for (uint32_t j = 0; j < spec.top_k; ++j) {
        uint32_t p = static_cast<uint32_t>((h >> (8 * j)) % spec.num_pathways);
        while (used & (1u << p)) p = (p + 1) % spec.num_pathways;
        used |= 1u << p;
        b.pathways.push_back(p);
        b.weights.push_back(static_cast<float>(0.1 + 0.3 * u(rng)));
      }
    }
  }
  return b;
}

absl::StatusOr<int> FreeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError("socket() failed");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    return absl::InternalError("cannot bind a free port on 127.0.0.1");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A monoroute-recorder child on a free port with a temp data dir; SIGTERM + cleanup on Stop.
class RecorderChild {
 public:
  ~RecorderChild() { (void)Stop(); }

  absl::Status Start(bool sync) {
    char exe[4096];
    ssize_t n = ::readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0) return absl::InternalError("cannot resolve /proc/self/exe");
    exe[n] = 0;
    std::string bin = (std::filesystem::path(exe).parent_path() / "monoroute-recorder").string();
    if (!std::filesystem::exists(bin)) {
      return absl::NotFoundError(absl::StrCat(bin, " not found (build the monoroute-recorder ",
                                              "target) - or pass --recorder HOST:PORT"));
    }
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "monoroute_bench_recorder_XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) return absl::InternalError("mkdtemp failed");
    dir_ = tmpl;
    ASSIGN_OR_RETURN(int port, FreeLoopbackPort());
    address_ = absl::StrCat("127.0.0.1:", port);
    log_ = dir_ + "/recorder.log";
    std::vector<std::string> args = {bin,          "--listen",         address_, "--data-dir",
                                     dir_ + "/db", "--metrics-listen", ""};
    if (sync) args.push_back("--sync");
    pid_ = ::fork();
    if (pid_ < 0) return absl::InternalError("fork failed");
    if (pid_ == 0) {
      int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(bin.c_str(), argv.data());
      ::_exit(127);
    }
    for (int i = 0; i < 1500; ++i) {
      if (ReadAll(log_).find("listening on") != std::string::npos) return absl::OkStatus();
      int status;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return absl::UnavailableError(absl::StrCat("monoroute-recorder exited: ", ReadAll(log_)));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return absl::DeadlineExceededError(
        absl::StrCat("monoroute-recorder did not start in 15 s: ", ReadAll(log_)));
  }

  absl::Status Stop() {
    absl::Status s;
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        s = absl::InternalError(
            absl::StrCat("monoroute-recorder did not exit cleanly: ", ReadAll(log_)));
      }
      pid_ = -1;
    }
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
      dir_.clear();
    }
    return s;
  }

  const std::string& address() const { return address_; }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  std::string dir_, log_, address_;
};

// CPU seconds (user + system) used so far by this process, all threads.
double SelfCpuSeconds() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
         1e-6 * (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

// CPU seconds used so far by process `pid` (from /proc), or 0 if unreadable.
double ProcCpuSeconds(pid_t pid) {
  std::string stat = ReadAll(absl::StrCat("/proc/", pid, "/stat"));
  size_t p = stat.rfind(')');
  if (p == std::string::npos) return 0;
  std::istringstream in(stat.substr(p + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) utime = std::stod(field);
    if (i == 15) stime = std::stod(field);
  }
  return (utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Streams the batches through W RecorderWriters; returns acked events/s.
absl::StatusOr<double> RunService(const BenchRecorderOptions& o, const std::string& address,
                                  const rec::RunSpecData& spec,
                                  const std::vector<std::vector<rec::EventBatchData>>& pool,
                                  uint64_t batches_per_writer) {
  std::vector<std::unique_ptr<rec::RecorderWriter>> writers;
  for (int w = 0; w < o.writers; ++w) {
    rec::RecorderWriterOptions wo;
    wo.address = address;
    wo.writer_id = absl::StrCat("bench-writer-", w);
    wo.max_block = std::chrono::milliseconds(60000);  // a benchmark never drops
    ASSIGN_OR_RETURN(auto writer, rec::RecorderWriter::Create(wo));
    writers.push_back(std::move(writer));
  }
  rec::RunSpecLite proto;
  proto.set_run_id(spec.run_id);
  for (uint32_t l : spec.routed_layers) proto.add_routed_layers(l);
  proto.set_num_pathways(spec.num_pathways);
  proto.set_top_k(spec.top_k);
  proto.set_vocab_size(spec.vocab_size);
  proto.set_store_raw_events(spec.store_raw_events);
  proto.set_step_bucket(spec.step_bucket);
  RETURN_IF_ERROR(writers[0]->CreateRun(proto));

  std::vector<absl::Status> results(o.writers);
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int w = 0; w < o.writers; ++w) {
    threads.emplace_back([&, w] {
      const auto& mine = pool[w];
      for (uint64_t i = 0; i < batches_per_writer; ++i) {
        const rec::EventBatchData& t = mine[i % mine.size()];
        rec::EventBlock blk;
        blk.run_id = spec.run_id;
        blk.batch_seq = i;
        blk.step.assign(t.step.size(), i);
        blk.layer = t.layer;
        blk.sequence_id = t.sequence_id;
        blk.position = t.position;
        blk.token_id = t.token_id;
        blk.next_token_id = t.next_token_id;
        blk.pathways = t.pathways;
        blk.weights = t.weights;
        if (!writers[w]->Append(std::move(blk))) {
          results[w] = absl::InternalError("a block was dropped");
          return;
        }
      }
      results[w] = writers[w]->Flush(std::chrono::seconds(600));
    });
  }
  for (auto& t : threads) t.join();
  double secs = Seconds(t0);
  uint64_t acked = 0;
  for (int w = 0; w < o.writers; ++w) {
    RETURN_IF_ERROR(results[w]);
    acked += writers[w]->stats().events_acked;
  }
  // Cross-check with the recorder's own summary.
  auto stub = recorder::v1::Recorder::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  recorder::v1::GetRunRequest req;
  req.set_run_id(spec.run_id);
  recorder::v1::RunSummary sum;
  grpc::Status gs = stub->GetRun(&ctx, req, &sum);
  if (!gs.ok()) return absl::InternalError(absl::StrCat("GetRun: ", gs.error_message()));
  if (sum.events() != acked) {
    return absl::InternalError(
        absl::StrCat("recorder holds ", sum.events(), " events, writers acked ", acked));
  }
  return static_cast<double>(acked) / secs;
}

// Scan ceiling: iterate the events column family of the raw loop's database and decode every
// raw block (what RecorderStore::QueryEvents does before filtering and protobuf). Events/s.
absl::StatusOr<double> RawScan(rec::RecorderDb& db, uint64_t expected) {
  auto t0 = std::chrono::steady_clock::now();
  uint64_t n = 0;
  std::unique_ptr<rocksdb::Iterator> it(db.db->NewIterator(rocksdb::ReadOptions(), db.cf.events));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    rec::EventsKeyParts kp;
    if (!rec::ParseEventsKey(it->key().ToStringView(), &kp)) {
      return absl::DataLossError("raw scan: malformed events key");
    }
    ASSIGN_OR_RETURN(rec::RawBlock b, rec::DecodeRawBlock(it->value().ToStringView()));
    n += b.token_id.size();
  }
  if (!it->status().ok()) return rec::FromRocksStatus(it->status(), "raw scan");
  const double secs = Seconds(t0);
  if (n != expected) {
    return absl::InternalError(absl::StrCat("raw scan read ", n, " events, wrote ", expected));
  }
  return static_cast<double>(n) / secs;
}

// Streams every event of the run with one QueryEvents call (all layers, limit = expected) and
// checks the count. Events/s.
absl::StatusOr<double> ServiceScan(const std::string& address, const std::string& run_id,
                                   uint64_t expected) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  auto stub = recorder::v1::Recorder::NewStub(
      grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args));
  recorder::v1::EventQuery q;
  q.set_run_id(run_id);
  q.set_limit(expected);
  auto t0 = std::chrono::steady_clock::now();
  grpc::ClientContext ctx;
  auto reader = stub->QueryEvents(&ctx, q);
  recorder::v1::EventBatch m;
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

// The ceiling: the same batches encoded with the same schema, written by W threads straight
// into RocksDB (no gRPC, no validation, no dedup). Returns events/s.
absl::StatusOr<Rates> RunRaw(const BenchRecorderOptions& o, const rec::RunSpecData& spec,
                             const std::vector<std::vector<rec::EventBatchData>>& pool,
                             uint64_t batches_per_writer) {
  std::string tmpl =
      (std::filesystem::temp_directory_path() / "monoroute_bench_raw_XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) return absl::InternalError("mkdtemp failed");
  absl::StatusOr<Rates> out;
  {
    rec::RecorderStoreOptions so;
    so.data_dir = tmpl;
    rec::RecorderDb db;
    RETURN_IF_ERROR(rec::OpenRecorderDb(so, &db));
    rec::RunLayout layout = rec::RunLayout::From(spec);
    std::vector<std::vector<std::vector<uint8_t>>> idx(pool.size());
    for (size_t w = 0; w < pool.size(); ++w) {
      for (const auto& b : pool[w]) {
        RETURN_IF_ERROR(rec::ValidateBatch(layout, b, 1 << 24, &idx[w].emplace_back()));
      }
    }
    std::vector<absl::Status> results(o.writers);
    std::atomic<uint64_t> events{0};
    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    for (int w = 0; w < o.writers; ++w) {
      threads.emplace_back([&, w] {
        std::vector<rec::EventBatchData> mine = pool[w];  // working copies
        for (auto& b : mine) b.writer_id = absl::StrCat("raw-writer-", w);
        rocksdb::WriteOptions wopt;
        wopt.sync = o.sync;
        for (uint64_t i = 0; i < batches_per_writer; ++i) {
          rec::EventBatchData& b = mine[i % mine.size()];
          const auto& li = idx[w][i % mine.size()];
          std::fill(b.step.begin(), b.step.end(), i);
          b.batch_seq = i;
          rocksdb::WriteBatch wb(rec::EstimateWriteBatchBytes(spec, b.num_events()));
          rec::BatchInfo info;
          rec::EncodeBatch(layout, 1, 0, b, li, db.cf, &wb, &info);
          rocksdb::Status s = db.db->Write(wopt, &wb);
          if (!s.ok()) {
            results[w] = rec::FromRocksStatus(s, "raw write");
            return;
          }
          events += b.num_events();
        }
      });
    }
    for (auto& t : threads) t.join();
    double secs = Seconds(t0);
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

// The wire form of a bench batch (what RecorderWriter sends), with run and writer set.
recorder::v1::EventBatch ToWire(const rec::EventBatchData& b, const std::string& run_id,
                                const std::string& writer_id) {
  recorder::v1::EventBatch m;
  m.set_run_id(run_id);
  m.set_writer_id(writer_id);
  m.mutable_step()->Add(b.step.begin(), b.step.end());
  m.mutable_layer()->Add(b.layer.begin(), b.layer.end());
  m.mutable_sequence_id()->Add(b.sequence_id.begin(), b.sequence_id.end());
  m.mutable_position()->Add(b.position.begin(), b.position.end());
  m.mutable_token_id()->Add(b.token_id.begin(), b.token_id.end());
  m.mutable_next_token_id()->Add(b.next_token_id.begin(), b.next_token_id.end());
  m.mutable_pathways()->Add(b.pathways.begin(), b.pathways.end());
  m.mutable_weights()->Add(b.weights.begin(), b.weights.end());
  return m;
}

// What one load stream measured.
struct StreamResult {
  absl::Status status;
  uint64_t events = 0;         // events of acked batches
  std::vector<double> ack_ms;  // per acked batch: Write() called -> its ack read
  std::chrono::steady_clock::time_point last_ack;
};

// One load stream, as one writer process would run it: its own channel and TCP connection
// (gRPC would otherwise share one connection between the streams of this process), one Record
// call keeping `window` batches in flight until `stop`, then draining. This thread writes; a
// second thread reads the acks (in order) as they arrive. Latency of a batch = from just before
// its Write() to the moment its ack is read, so it includes the wait behind this stream's
// earlier in-flight batches and any transport back-pressure on the Write.
void RunLoadStream(const std::string& address, const std::vector<recorder::v1::EventBatch>& pool,
                   int window, std::chrono::steady_clock::time_point start,
                   std::chrono::steady_clock::time_point stop, StreamResult* out) {
  using Clock = std::chrono::steady_clock;
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(-1);
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto stub = recorder::v1::Recorder::NewStub(
      grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args));
  std::this_thread::sleep_until(start);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + (stop - Clock::now()) +
                   std::chrono::minutes(2));  // a stuck recorder fails the run
  auto stream = stub->Record(&ctx);

  std::mutex mu;
  std::condition_variable cv;
  std::deque<Clock::time_point> sent;  // send times of the in-flight batches, in order
  bool reader_done = false;
  std::thread reader([&] {
    recorder::v1::BatchAck ack;
    uint64_t next_ack = 0;
    while (stream->Read(&ack)) {
      const Clock::time_point now = Clock::now();
      std::lock_guard<std::mutex> lock(mu);
      if (ack.batch_seq() != next_ack++ || ack.duplicate() || sent.empty()) {
        out->status =
            absl::DataLossError(absl::StrCat("unexpected ack of batch ", ack.batch_seq()));
        ctx.TryCancel();
        break;
      }
      out->ack_ms.push_back(std::chrono::duration<double, std::milli>(now - sent.front()).count());
      out->events += ack.events();
      out->last_ack = now;
      sent.pop_front();
      cv.notify_one();
    }
    std::lock_guard<std::mutex> lock(mu);
    reader_done = true;
    cv.notify_one();
  });

  recorder::v1::EventBatch msg;
  for (uint64_t seq = 0;; ++seq) {
    msg = pool[seq % pool.size()];  // built before its clock starts
    msg.set_batch_seq(seq);
    for (auto& step : *msg.mutable_step()) step = seq;
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return static_cast<int>(sent.size()) < window || reader_done; });
      if (reader_done || Clock::now() >= stop) break;
      sent.push_back(Clock::now());
    }
    if (!stream->Write(msg)) break;
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return sent.empty() || reader_done; });
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

// Value at quantile q (0..1) of sorted `v` (nearest rank).
double Quantile(const std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  size_t i = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, i == 0 ? 0 : i - 1)];
}

// Load mode (--streams N --duration S).
absl::Status RunLoad(const BenchRecorderOptions& o) {
  if (o.streams < 1) return UsageError("--streams must be >= 1");
  if (!(o.duration_s > 0)) return UsageError("--duration must be > 0");
  if (o.window < 1) return UsageError("--window must be >= 1");
  if (o.query) return UsageError("--query is not available with --streams");
  const int tokens = o.batch_tokens_set ? o.batch_tokens : 256;
  if (tokens < 1) return UsageError("--batch-tokens must be >= 1");
  const std::string run_id =
      absl::StrCat("load-", ::getpid(), "-",
                   std::chrono::system_clock::now().time_since_epoch().count() / 1000000);
  const rec::RunSpecData spec = BenchSpec(run_id, o.raw_events);
  std::vector<double> cdf(spec.vocab_size);
  double acc = 0;
  for (uint32_t r = 0; r < spec.vocab_size; ++r) cdf[r] = acc += 1.0 / std::pow(r + 1.0, 1.1);
  std::vector<std::vector<recorder::v1::EventBatch>> pool(o.streams);
  for (int w = 0; w < o.streams; ++w) {
    for (int i = 0; i < 4; ++i) {
      pool[w].push_back(ToWire(MakeBenchBatch(spec, tokens, 1000 * w + i + 1, cdf), run_id,
                               absl::StrCat("load-writer-", w)));
    }
  }
  const uint64_t batch_events = static_cast<uint64_t>(pool[0][0].token_id_size());

  RecorderChild child;
  std::string address = o.recorder;
  if (address.empty()) {
    RETURN_IF_ERROR(child.Start(o.sync));
    address = child.address();
  }
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(-1);
  auto stub = recorder::v1::Recorder::NewStub(
      grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args));
  {
    recorder::v1::RunSpec rs;
    rs.set_run_id(run_id);
    for (uint32_t l : spec.routed_layers) rs.add_routed_layers(l);
    rs.set_num_pathways(spec.num_pathways);
    rs.set_top_k(spec.top_k);
    rs.set_vocab_size(spec.vocab_size);
    rs.set_store_raw_events(spec.store_raw_events);
    rs.set_step_bucket(spec.step_bucket);
    grpc::ClientContext ctx;
    recorder::v1::CreateRunResponse resp;
    grpc::Status gs = stub->CreateRun(&ctx, rs, &resp);
    if (!gs.ok()) return absl::InternalError(absl::StrCat("CreateRun: ", gs.error_message()));
  }

  const double server_cpu0 = o.recorder.empty() ? ProcCpuSeconds(child.pid()) : 0;
  const double client_cpu0 = SelfCpuSeconds();
  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now() + std::chrono::milliseconds(200);  // all ready
  const Clock::time_point stop = start + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(o.duration_s));
  std::vector<StreamResult> results(o.streams);
  std::vector<std::thread> threads;
  for (int w = 0; w < o.streams; ++w) {
    threads.emplace_back(RunLoadStream, std::cref(address), std::cref(pool[w]), o.window, start,
                         stop, &results[w]);
  }
  for (auto& t : threads) t.join();
  const double client_cpu = SelfCpuSeconds() - client_cpu0;
  const double server_cpu = o.recorder.empty() ? ProcCpuSeconds(child.pid()) - server_cpu0 : 0;

  uint64_t events = 0;
  std::vector<double> ack_ms;
  Clock::time_point last = start;
  for (const StreamResult& r : results) {
    RETURN_IF_ERROR(r.status);
    events += r.events;
    ack_ms.insert(ack_ms.end(), r.ack_ms.begin(), r.ack_ms.end());
    last = std::max(last, r.last_ack);
  }
  std::sort(ack_ms.begin(), ack_ms.end());
  {  // the recorder holds exactly the acked events
    grpc::ClientContext ctx;
    recorder::v1::GetRunRequest req;
    req.set_run_id(run_id);
    recorder::v1::RunSummary sum;
    grpc::Status gs = stub->GetRun(&ctx, req, &sum);
    if (!gs.ok()) return absl::InternalError(absl::StrCat("GetRun: ", gs.error_message()));
    if (sum.events() != events) {
      return absl::InternalError(
          absl::StrCat("recorder holds ", sum.events(), " events, streams acked ", events));
    }
  }
  stub.reset();  // close our channel first, else the child's SIGTERM shutdown waits its grace
  RETURN_IF_ERROR(child.Stop());
  const double secs = std::chrono::duration<double>(last - start).count();
  const double per_s = secs > 0 ? static_cast<double>(events) / secs : 0;
  const double p50 = Quantile(ack_ms, 0.50), p99 = Quantile(ack_ms, 0.99);
  const double max_ms = ack_ms.empty() ? 0 : ack_ms.back();
  const double mevents = static_cast<double>(events) / 1e6;
  std::printf(
      "recorder %s load: %d streams x %.0f s, %llu-event batches, %d in flight per stream, "
      "%s, raw %s\n",
      o.recorder.empty() ? "(own child)" : o.recorder.c_str(), o.streams, o.duration_s,
      static_cast<unsigned long long>(batch_events), o.window,
      o.sync ? "sync (fsync per batch)" : "group commit", o.raw_events ? "on" : "off");
  std::printf("  acked: %llu events in %llu batches, %.2f s (first send -> last ack)\n",
              static_cast<unsigned long long>(events),
              static_cast<unsigned long long>(ack_ms.size()), secs);
  std::printf("  throughput:                    %12.0f events/s\n", per_s);
  std::printf(
      "  ack latency per batch (Write() -> its ack read): p50 %.1f ms, p99 %.1f ms, "
      "max %.1f ms\n",
      p50, p99, max_ms);
  if (mevents > 0) {
    std::printf("  CPU s per 1M events: recorder %.3f + load client %.3f\n", server_cpu / mevents,
                client_cpu / mevents);
  }
  std::fflush(stdout);
  if (o.json || JsonOutput()) {
    PrintJsonLine(absl::StrFormat(
        "{\"mode\": \"load\", \"streams\": %d, \"duration_s\": %.3f, \"batch_events\": %llu, "
        "\"window\": %d, \"sync\": %s, \"events\": %llu, \"batches\": %llu, "
        "\"seconds\": %.3f, \"events_per_s\": %.0f, \"ack_p50_ms\": %.3f, "
        "\"ack_p99_ms\": %.3f, \"ack_max_ms\": %.3f, \"recorder_cpu_s_per_mevent\": %.4f, "
        "\"client_cpu_s_per_mevent\": %.4f}",
        o.streams, o.duration_s, static_cast<unsigned long long>(batch_events), o.window,
        o.sync ? "true" : "false", static_cast<unsigned long long>(events),
        static_cast<unsigned long long>(ack_ms.size()), secs, per_s, p50, p99, max_ms,
        mevents > 0 ? server_cpu / mevents : 0, mevents > 0 ? client_cpu / mevents : 0));
  }
  std::fflush(stdout);
  return absl::OkStatus();
}

absl::Status RunBench(const BenchRecorderOptions& o) {
  if (o.streams > 0) return RunLoad(o);
  if (o.writers < 1) return UsageError("--writers must be >= 1");
  if (o.batch_tokens < 1) return UsageError("--batch-tokens must be >= 1");
  if (o.query && !o.raw_events) return UsageError("--query needs raw events (not --no-raw-events)");
  const std::string run_id =
      absl::StrCat("bench-", ::getpid(), "-",
                   std::chrono::system_clock::now().time_since_epoch().count() / 1000000);
  const rec::RunSpecData spec = BenchSpec(run_id, o.raw_events);
  const uint64_t batch_events = static_cast<uint64_t>(o.batch_tokens) * spec.routed_layers.size();
  const uint64_t per_writer =
      std::max<uint64_t>(1, (o.events + batch_events * o.writers - 1) / (batch_events * o.writers));

  std::vector<double> cdf(spec.vocab_size);
  double acc = 0;
  for (uint32_t r = 0; r < spec.vocab_size; ++r) cdf[r] = acc += 1.0 / std::pow(r + 1.0, 1.1);
  std::vector<std::vector<rec::EventBatchData>> pool(o.writers);
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
  ASSIGN_OR_RETURN(double events_per_s, RunService(o, address, spec, pool, per_writer));
  const double client_cpu = SelfCpuSeconds() - client_cpu0;
  const double server_cpu = o.recorder.empty() ? ProcCpuSeconds(child.pid()) - server_cpu0 : 0;
  const uint64_t total = per_writer * batch_events * o.writers;
  double scan_per_s = 0;
  if (o.query) {
    ASSIGN_OR_RETURN(scan_per_s, ServiceScan(address, run_id, total));
  }
  RETURN_IF_ERROR(child.Stop());
  const double raw_cpu0 = SelfCpuSeconds();
  ASSIGN_OR_RETURN(Rates raw, RunRaw(o, spec, pool, per_writer));
  const double raw_cpu = SelfCpuSeconds() - raw_cpu0;
  const double raw_per_s = raw.ingest_per_s;

  const char* mode = o.sync ? "sync (fsync per batch)" : "group commit";
  std::printf("recorder %s: %llu events (%d writers x %llu batches x %llu events, %s, raw %s)\n",
              o.recorder.empty() ? "(own child)" : o.recorder.c_str(),
              static_cast<unsigned long long>(total), o.writers,
              static_cast<unsigned long long>(per_writer),
              static_cast<unsigned long long>(batch_events), mode, o.raw_events ? "on" : "off");
  std::printf("  with acks over gRPC:           %12.0f events/s\n", events_per_s);
  std::printf("  raw RocksDB WriteBatch loop:   %12.0f events/s (same data and schema)\n",
              raw_per_s);
  std::printf("  service / raw:                 %12.1f %%\n", 100.0 * events_per_s / raw_per_s);
  const double mtotal = static_cast<double>(total) / 1e6;
  std::printf("  CPU s per 1M events: recorder %.3f + writers %.3f (service path), raw loop %.3f\n",
              server_cpu / mtotal, client_cpu / mtotal, raw_cpu / mtotal);
  if (o.query) {
    std::printf("  QueryEvents scan over gRPC:    %12.0f events/s (one stream, all layers)\n",
                scan_per_s);
    std::printf("  raw iterator + decode scan:    %12.0f events/s\n", raw.scan_per_s);
    std::printf("  scan service / raw:            %12.1f %%\n",
                100.0 * scan_per_s / raw.scan_per_s);
  }
  std::fflush(stdout);
  if (o.json || JsonOutput()) {
    PrintJsonLine(absl::StrFormat(
        "{\"events\": %llu, \"writers\": %d, \"batch_events\": %llu, \"sync\": %s, "
        "\"raw_events_stored\": %s, \"events_per_s\": %.0f, \"raw_events_per_s\": %.0f, "
        "\"ratio\": %.4f, \"recorder_cpu_s_per_mevent\": %.4f, "
        "\"writer_cpu_s_per_mevent\": %.4f, \"raw_cpu_s_per_mevent\": %.4f, "
        "\"query_events_per_s\": %.0f, \"raw_scan_events_per_s\": %.0f}",
        static_cast<unsigned long long>(total), o.writers,
        static_cast<unsigned long long>(batch_events), o.sync ? "true" : "false",
        o.raw_events ? "true" : "false", events_per_s, raw_per_s, events_per_s / raw_per_s,
        server_cpu / mtotal, client_cpu / mtotal, raw_cpu / mtotal, scan_per_s, raw.scan_per_s));
  }
  std::fflush(stdout);
  return absl::OkStatus();
}

MONOROUTE_REGISTER_COMMAND(bench_recorder, [](CLI::App& app) {
  CLI::App* bench = GetOrAddGroup(app, "bench", "Benchmarks next to their baselines");
  CLI::App* sub = bench->add_subcommand(
      "recorder", "Recorder ingest events/s with acks vs a raw RocksDB WriteBatch loop");
  auto o = std::make_shared<BenchRecorderOptions>();
  sub->add_option("--events", o->events, "token-layer events to stream in total")
      ->capture_default_str();
  sub->add_option("--writers", o->writers, "concurrent writers (one stream each)")
      ->capture_default_str();
  sub->add_option("--recorder", o->recorder,
                  "address of a running recorder (default: start one on a free port)");
  sub->add_flag("--json", o->json, "print a JSON object as the last line");
  CLI::Option* batch_tokens =
      sub->add_option("--batch-tokens", o->batch_tokens,
                      "tokens per batch (x 4 routed layers; --streams default: 256)")
          ->capture_default_str();
  sub->add_flag("--sync", o->sync, "fsync per batch (recorder --sync and the raw loop)");
  sub->add_flag("!--no-raw-events", o->raw_events, "counts-only run (no raw event rows)");
  sub->add_flag("--query", o->query,
                "also time a QueryEvents scan of every written event vs a raw RocksDB scan");
  sub->add_option("--streams", o->streams,
                  "load test: N concurrent Record streams (events/s, ack latency p50/p99)");
  sub->add_option("--duration", o->duration_s, "load test: seconds of sending")
      ->capture_default_str();
  sub->add_option("--window", o->window, "load test: batches in flight per stream")
      ->capture_default_str();
  SetAction(sub, [o, batch_tokens]() {
    o->batch_tokens_set = batch_tokens->count() > 0;
    return RunBench(*o);
  });
});

}  // namespace
}  // namespace monoroute::cli
