// RecorderStore: RocksDB-backed core of the recorder service.
#include "services/recorder/recorder_store.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/base/bounded_text.h"
#include "common/base/split_names.h"
#include "common/base/status_macros.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "services/recorder/batch_encoder.h"
#include "services/recorder/batch_validator.h"
#include "services/recorder/disk_guard.h"
#include "services/recorder/key_codec.h"
#include "services/recorder/recorder_db.h"
#include "services/recorder/rocksdb_status.h"
#include "services/recorder/run_spec_merge.h"
#include "services/recorder/uint64_add_operator.h"

namespace monoroute::recorder {
namespace {

using events::kDefaultSplit;

// Moves the events of a decoded raw block that match `q`'s pathway filter into `out`'s columns,
// at most `*left` of them (decremented). A whole block without a filter moves its columns as is.
void TakeEvents(RawBlock&& rb, const EventQueryData& q, uint64_t* left,
                events::RoutingEventBatch* out) {
  const size_t n = rb.token_id.size();
  const size_t K = rb.top_k;
  if (!q.has_pathway && n <= *left) {
    out->sequence_id = std::move(rb.sequence_id);
    out->position = std::move(rb.position);
    out->token_id = std::move(rb.token_id);
    out->next_token_id = std::move(rb.next_token_id);
    out->pathways = std::move(rb.pathways);
    out->weights = std::move(rb.weights);
    *left -= n;
    return;
  }
  for (size_t i = 0; i<n&& * left> 0; ++i) {
    if (q.has_pathway) {
      bool hit = false;
      for (size_t j = 0; j < K; ++j) hit |= rb.pathways[i * K + j] == q.pathway;
      if (!hit) continue;
    }
    out->sequence_id.push_back(rb.sequence_id[i]);
    out->position.push_back(rb.position[i]);
    out->token_id.push_back(rb.token_id[i]);
    out->next_token_id.push_back(rb.next_token_id[i]);
    out->pathways.insert(out->pathways.end(), rb.pathways.begin() + i * K,
                         rb.pathways.begin() + (i + 1) * K);
    out->weights.insert(out->weights.end(), rb.weights.begin() + i * K,
                        rb.weights.begin() + (i + 1) * K);
    --*left;
  }
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Statistics and dedup serialisation point of one (run, writer).
struct WriterState {
  absl::Mutex mu;
  WriterStats stats;  // guarded by mu
};

// In-memory state of one run.
struct RunState {
  RunLayout layout;  // immutable; layout.spec.labels is empty (the labels are `labels` below)
  uint32_t run_num = 0;
  absl::Mutex mu;  // guards the fields below up to `writers`; taken before any WriterState::mu
  // The run's labels: changed (CreateRun adding keys) holding delete_mu exclusively AND mu, so
  // read under either of them.
  std::map<std::string, std::string> labels;
  std::vector<std::string> split_names;                 // id -> name
  absl::flat_hash_map<std::string, uint8_t> split_ids;  // name -> id
  std::map<std::string, std::shared_ptr<WriterState>> writers;
  uint64_t max_step = 0;
  uint64_t retention_cutoff = 0;  // raw events of steps below it were range-deleted
  std::atomic<uint64_t> watermark{0};
  // Shared by writers, exclusive by DeleteRun and FinishRun (so no batch is being applied while
  // a run is deleted or finished).
  std::shared_mutex delete_mu;
  bool deleted = false;  // guarded by delete_mu
  // Set by FinishRun holding delete_mu exclusively AND mu: read under either of them.
  bool finished = false;
  int64_t finished_unix_ms = 0;
};

// Upper bound of all keys starting with `prefix` (prefix + 1 in big-endian), or empty.
std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty()) {
    unsigned char c = static_cast<unsigned char>(prefix.back());
    if (c != 0xff) {
      prefix.back() = static_cast<char>(c + 1);
      return prefix;
    }
    prefix.pop_back();
  }
  return prefix;
}

// Sets `run`'s layout and labels from a normalised spec.
void SetSpec(RunState* run, RunSpecData spec) {
  run->labels = std::move(spec.labels);
  spec.labels.clear();
  run->layout = RunLayout::From(spec);
}

// `run`'s spec, labels included; the caller holds run.mu or run.delete_mu.
RunSpecData SpecOf(const RunState& run) {
  RunSpecData spec = run.layout.spec;
  spec.labels = run.labels;
  return spec;
}

}  // namespace

class RecorderStore::Impl {
 public:
  explicit Impl(const RecorderStoreOptions& o) : opts_(o) {}
  ~Impl() { (void)Close(); }

  absl::Status Open();
  absl::StatusOr<bool> CreateRun(const RunSpecData& spec);
  absl::StatusOr<WriteResult> Write(const events::RoutingEventView& b);
  absl::StatusOr<RunSummaryData> GetRun(const std::string& run_id);
  absl::StatusOr<RunPageData> ListRuns(const ListRunsQueryData& q);
  absl::StatusOr<CountsResultData> GetCounts(const CountsQueryData& q);
  absl::StatusOr<TotalsData> GetTotals(const std::string& run_id, uint32_t layer,
                                       const std::string& split);
  absl::Status QueryEvents(const EventQueryData& q,
                           const std::function<bool(events::RoutingEventBatch&&)>& sink);
  absl::StatusOr<uint64_t> DeleteRun(const std::string& run_id);
  absl::StatusOr<RunSummaryData> FinishRun(const std::string& run_id);
  StoreProperties Properties();
  absl::Status WriteHealth() { return disk_->Writable(); }
  absl::Status Close();

 private:
  absl::Status Load();
  // Stores a new run (its record and the next run number, synced); the caller holds runs_mu_.
  absl::Status InsertRun(const RunSpecData& norm);
  // CreateRun of the existing `run`: checks the layout, adds the labels it lacks (rewriting its
  // record, synced). Sets `*deleted` (and does nothing) when DeleteRun removed `run` meanwhile.
  absl::Status RedeclareRun(RunState& run, const RunSpecData& norm, bool* deleted);
  absl::StatusOr<std::shared_ptr<RunState>> FindRun(const std::string& run_id,
                                                    const std::string& context);
  RunSummaryData Summarize(RunState& run);
  absl::Status CheckLayer(const RunState& run, uint32_t layer);
  // The split id of `split` (registered when new, at most kMaxSplitsPerRun) and the writer state
  // of h.writer_id (created when new, at most kMaxWritersPerRun) in `run`.
  absl::Status Attach(RunState& run, const events::RoutingEventHeader& b, const std::string& split,
                      uint8_t* split_id, std::shared_ptr<WriterState>* ws);
  // Split ids selected by `selector` in `run` (bit i = split id i): empty = every split except
  // controls, else exactly that split (0 when the run never saw it). Sorted names to `names`.
  uint64_t SelectSplits(RunState& run, const std::string& selector,
                        std::vector<std::string>* names);
  // A scan of the counts column family: keys in [lo, hi) of key_size bytes whose split byte (at
  // split_off) is in the `splits` mask.
  struct CountsScan {
    std::string lo, hi;
    size_t split_off = 0;
    size_t key_size = 0;
    uint64_t splits = 0;
  };
  // Calls `fn` with the key and value of each entry `scan` selects. A false from `fn` (a
  // malformed value) is DATA_LOSS "run R: malformed <what> value".
  absl::Status ScanCounts(const CountsScan& scan, const std::string& run_id, const char* what,
                          const std::function<bool(rocksdb::Slice key, rocksdb::Slice value)>& fn);
  void MaintenanceLoop();
  // Syncs the WAL: DB::SyncWAL when safe, else a synced log-only write (which fails cleanly
  // while RocksDB's writes are stopped instead of touching a WAL file that failed).
  rocksdb::Status SyncWal();

  const RecorderStoreOptions opts_;
  std::unique_ptr<DiskGuard> disk_;  // outlives the DB (its listener is installed there)
  std::shared_mutex life_mu_;        // shared by every operation, exclusive by Close
  RecorderDb rdb_;                   // owns the DB and handles
  rocksdb::DB* db_ = nullptr;        // rdb_.db while open, nullptr after Close
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  ColumnFamilies cf_;
  absl::Mutex runs_mu_;
  std::map<std::string, std::shared_ptr<RunState>> runs_;  // guarded by runs_mu_
  uint32_t next_run_ = 1;                                  // guarded by runs_mu_
  std::thread sync_thread_;
  std::mutex sync_mu_;
  std::condition_variable sync_cv_;
  bool stop_sync_ = false;
};

absl::Status RecorderStore::Impl::Open() {
  if (opts_.data_dir.empty()) return absl::InvalidArgumentError("data_dir is empty");
  std::error_code ec;
  std::filesystem::create_directories(opts_.data_dir, ec);
  DiskGuardOptions dg;
  dg.data_dir = opts_.data_dir;
  dg.max_disk_bytes = opts_.max_disk_bytes;
  dg.sst_headroom_bytes = 2 * static_cast<uint64_t>(opts_.write_buffer_bytes);
  dg.resume_free_bytes = static_cast<uint64_t>(opts_.write_buffer_bytes);
  disk_ = std::make_unique<DiskGuard>(dg);
  RETURN_IF_ERROR(OpenRecorderDb(opts_, &rdb_, disk_.get()));
  db_ = rdb_.db.get();
  handles_ = rdb_.handles;
  cf_ = rdb_.cf;
  RETURN_IF_ERROR(Load());
  sync_thread_ = std::thread([this] { MaintenanceLoop(); });
  return absl::OkStatus();
}

rocksdb::Status RecorderStore::Impl::SyncWal() {
  if (disk_->SafeToSyncWal()) return db_->SyncWAL();
  rocksdb::WriteBatch wb;
  wb.PutLogData("sync");
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return db_->Write(wo, &wb);
}

// Measures the disk (and resumes writing after a storage error once space returns) every
// disk_poll_interval; syncs the WAL every wal_sync_interval in group-commit mode.
void RecorderStore::Impl::MaintenanceLoop() {
  const bool wal_sync = !opts_.sync && opts_.wal_sync_interval.count() > 0;
  auto next_sync = std::chrono::steady_clock::now() + opts_.wal_sync_interval;
  const auto poll = std::max(std::chrono::milliseconds(10), opts_.disk_poll_interval);
  std::unique_lock<std::mutex> l(sync_mu_);
  while (!stop_sync_) {
    sync_cv_.wait_for(l, wal_sync ? std::min(poll, opts_.wal_sync_interval) : poll);
    if (stop_sync_) break;
    l.unlock();
    disk_->Poll(db_);
    if (wal_sync && std::chrono::steady_clock::now() >= next_sync) {
      (void)SyncWal();
      next_sync = std::chrono::steady_clock::now() + opts_.wal_sync_interval;
    }
    l.lock();
  }
}

absl::Status RecorderStore::Impl::Load() {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_.meta));
  std::map<uint32_t, std::shared_ptr<RunState>> by_num;
  // Runs first ('R' sorts after 'D' and 'N' but before 'S' and 'W'; collect all then attach).
  std::vector<std::pair<std::string, std::string>> splits, writers;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    rocksdb::Slice k = it->key();
    if (k.empty()) continue;
    if (k[0] == kMetaNextRun && k.size() == 1 && it->value().size() == 8) {
      next_run_ = static_cast<uint32_t>(GetFixed64BE(it->value().data()));
    } else if (k[0] == kMetaRun) {
      ASSIGN_OR_RETURN(RunRecord rec, DecodeRunRecord(it->value().ToStringView()));
      auto run = std::make_shared<RunState>();
      const std::string run_id = rec.spec.run_id;
      SetSpec(run.get(), std::move(rec.spec));
      run->run_num = rec.run_num;
      run->finished = rec.finished;
      run->finished_unix_ms = rec.finished_unix_ms;
      by_num[rec.run_num] = run;
      runs_[run_id] = run;
      next_run_ = std::max(next_run_, rec.run_num + 1);
    } else if (k[0] == kMetaSplit && k.size() > 5) {
      splits.emplace_back(k.ToString(), it->value().ToString());
    } else if (k[0] == kMetaWriter && k.size() > 5) {
      writers.emplace_back(k.ToString(), it->value().ToString());
    }
  }
  if (!it->status().ok()) return FromRocksStatus(it->status(), "load metadata");
  for (const auto& [k, v] : splits) {
    auto f = by_num.find(GetFixed32BE(k.data() + 1));
    if (f == by_num.end() || v.size() != 1) continue;
    RunState& run = *f->second;
    uint8_t id = static_cast<uint8_t>(v[0]);
    std::string name = k.substr(5);
    if (run.split_names.size() <= id) run.split_names.resize(id + 1);
    run.split_names[id] = name;
    run.split_ids[name] = id;
  }
  for (const auto& [k, v] : writers) {
    auto f = by_num.find(GetFixed32BE(k.data() + 1));
    if (f == by_num.end()) continue;
    ASSIGN_OR_RETURN(WriterStats ws, DecodeWriterStats(v));
    auto state = std::make_shared<WriterState>();
    state->stats = ws;
    RunState& run = *f->second;
    run.writers[k.substr(5)] = state;
    run.watermark += ws.batches;
    if (ws.batches > 0) run.max_step = std::max(run.max_step, ws.max_step);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<RunState>> RecorderStore::Impl::FindRun(const std::string& run_id,
                                                                       const std::string& context) {
  absl::MutexLock l(&runs_mu_);
  auto it = runs_.find(run_id);
  if (it == runs_.end()) {
    return absl::NotFoundError(absl::StrCat(context, "unknown run '", run_id, "'"));
  }
  return it->second;
}

#define MR_CHECK_OPEN()                                    \
  std::shared_lock<std::shared_mutex> life_lock(life_mu_); \
  if (db_ == nullptr) return absl::UnavailableError("recorder store is closed")

absl::StatusOr<bool> RecorderStore::Impl::CreateRun(const RunSpecData& spec) {
  MR_CHECK_OPEN();
  RunSpecData norm;
  RETURN_IF_ERROR(ValidateRunSpec(spec, &norm));
  for (;;) {  // again when DeleteRun removed the run found (it is then gone from runs_)
    std::shared_ptr<RunState> run;
    {
      absl::MutexLock l(&runs_mu_);
      auto it = runs_.find(norm.run_id);
      if (it == runs_.end()) {
        RETURN_IF_ERROR(InsertRun(norm));
        return true;
      }
      run = it->second;
    }
    bool deleted = false;
    RETURN_IF_ERROR(RedeclareRun(*run, norm, &deleted));
    if (!deleted) return false;
  }
}

absl::Status RecorderStore::Impl::InsertRun(const RunSpecData& norm) {
  RunRecord rec{next_run_, norm};
  rocksdb::WriteBatch wb;
  std::string next;
  PutFixed64BE(&next, next_run_ + 1);
  wb.Put(cf_.meta, std::string(1, kMetaNextRun), next);
  wb.Put(cf_.meta, RunKey(norm.run_id), EncodeRunRecord(rec));
  rocksdb::WriteOptions wo;
  wo.sync = true;
  rocksdb::Status s = db_->Write(wo, &wb);
  if (!s.ok()) return disk_->WriteFailed(s, absl::StrCat("create run ", norm.run_id));
  auto run = std::make_shared<RunState>();
  SetSpec(run.get(), norm);
  run->run_num = rec.run_num;
  runs_[norm.run_id] = run;
  ++next_run_;
  return absl::OkStatus();
}

absl::Status RecorderStore::Impl::RedeclareRun(RunState& run, const RunSpecData& norm,
                                               bool* deleted) {
  std::map<std::string, std::string> merged;
  size_t added = 0;
  {
    absl::MutexLock l(&run.mu);
    RETURN_IF_ERROR(MergeRunLabels(SpecOf(run), norm, &merged, &added));
  }
  if (added == 0) return absl::OkStatus();  // identical re-declaration
  // Exclusive: no batch is applied and no FinishRun/DeleteRun/CreateRun rewrites the record
  // meanwhile, so the record written below keeps the finished flag and every label.
  std::unique_lock<std::shared_mutex> dl(run.delete_mu);
  if (run.deleted) {
    *deleted = true;
    return absl::OkStatus();
  }
  RETURN_IF_ERROR(MergeRunLabels(SpecOf(run), norm, &merged, &added));  // labels may have grown
  if (added == 0) return absl::OkStatus();
  RunRecord rec{run.run_num, run.layout.spec, run.finished, run.finished_unix_ms};
  rec.spec.labels = merged;
  rocksdb::WriteOptions wo;
  wo.sync = true;
  rocksdb::Status s = db_->Put(wo, cf_.meta, RunKey(norm.run_id), EncodeRunRecord(rec));
  if (!s.ok()) return disk_->WriteFailed(s, absl::StrCat("add labels to run ", norm.run_id));
  absl::MutexLock l(&run.mu);
  run.labels = std::move(merged);
  return absl::OkStatus();
}

absl::Status RecorderStore::Impl::Attach(RunState& run, const events::RoutingEventHeader& b,
                                         const std::string& split, uint8_t* split_id,
                                         std::shared_ptr<WriterState>* ws) {
  absl::MutexLock l(&run.mu);
  auto sit = run.split_ids.find(split);
  if (sit != run.split_ids.end()) {
    *split_id = sit->second;
  } else {
    if (run.split_names.size() >= kMaxSplitsPerRun) {
      return absl::ResourceExhaustedError(absl::StrCat("batch ", b.batch_id, ": split '", split,
                                                       "' exceeds ", kMaxSplitsPerRun,
                                                       " splits per run"));
    }
    *split_id = static_cast<uint8_t>(run.split_names.size());
    run.split_names.push_back(split);
    run.split_ids[split] = *split_id;
  }
  auto wit = run.writers.find(b.writer_id);
  if (wit == run.writers.end()) {
    if (run.writers.size() >= kMaxWritersPerRun) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "batch ", b.batch_id, ": writer_id '", BoundedText(b.writer_id), "' would be writer ",
          run.writers.size() + 1, " of run ", b.run_id, ", at most ", kMaxWritersPerRun));
    }
    wit = run.writers.emplace(b.writer_id, std::make_shared<WriterState>()).first;
  }
  *ws = wit->second;
  return absl::OkStatus();
}

absl::StatusOr<WriteResult> RecorderStore::Impl::Write(const events::RoutingEventView& b) {
  MR_CHECK_OPEN();
  const events::RoutingEventHeader& h = b.header;
  RETURN_IF_ERROR(b.Validate(events::RoutingEventLimits{opts_.max_batch_events}));
  ASSIGN_OR_RETURN(std::shared_ptr<RunState> run,
                   FindRun(h.run_id, absl::StrCat("batch ", h.batch_id, ": ")));
  std::shared_lock<std::shared_mutex> dl(run->delete_mu);
  if (run->deleted) {
    return absl::NotFoundError(
        absl::StrCat("batch ", h.batch_id, ": run '", h.run_id, "' was deleted"));
  }
  uint8_t layer_idx = 0;
  RETURN_IF_ERROR(CheckBatchAgainstRun(run->layout, b, &layer_idx));
  if (absl::Status w = disk_->Writable(); !w.ok()) {
    return RetryLater(
        absl::Status(w.code(), absl::StrCat("batch ", h.batch_id, ": ", w.message())));
  }
  if (run->finished) {  // stable while delete_mu is held: nothing is written to a finished run
    std::string existing;
    rocksdb::Status gs = db_->Get(rocksdb::ReadOptions(), cf_.meta,
                                  DedupKey(run->run_num, h.writer_id, h.batch_id), &existing);
    if (gs.ok()) return WriteResult{true, b.num_events(), 0};  // a re-send of an applied batch
    if (!gs.IsNotFound()) return FromRocksStatus(gs, "read dedup marker");
    return absl::FailedPreconditionError(
        absl::StrCat("batch ", h.batch_id, ": run ", h.run_id, " is finished"));
  }
  const RunSpecData& spec = run->layout.spec;
  const std::string split = events::EffectiveSplit(h.split);

  uint8_t split_id = 0;
  std::shared_ptr<WriterState> ws;
  RETURN_IF_ERROR(Attach(*run, h, split, &split_id, &ws));

  rocksdb::WriteBatch wb(EstimateWriteBatchBytes(spec, b.num_events()));
  BatchInfo info;
  EncodeBatch(run->layout, run->run_num, split_id, b, layer_idx, cf_, &wb, &info);
  wb.Put(cf_.meta, SplitKey(run->run_num, split), std::string(1, static_cast<char>(split_id)));
  // Raw retention: range-delete old raw events when the cutoff moved by >= 1/8 of the window.
  if (spec.store_raw_events && spec.raw_retention_steps > 0) {
    absl::MutexLock l(&run->mu);
    run->max_step = std::max(run->max_step, info.max_step);
    const uint64_t n = spec.raw_retention_steps;
    if (run->max_step + 1 > n) {
      uint64_t cutoff = run->max_step + 1 - n;
      if (cutoff >= run->retention_cutoff + std::max<uint64_t>(1, n / 8)) {
        for (uint32_t layer : spec.routed_layers) {
          std::string from = RunPrefix(run->run_num), to;
          PutFixed32BE(&from, layer);
          to = from;
          PutFixed64BE(&to, cutoff);
          wb.DeleteRange(cf_.events, from, to);
        }
        run->retention_cutoff = cutoff;
      }
    }
  }

  absl::MutexLock wl(&ws->mu);
  const std::string dedup_key = DedupKey(run->run_num, h.writer_id, h.batch_id);
  std::string existing;
  rocksdb::Status gs = db_->Get(rocksdb::ReadOptions(), cf_.meta, dedup_key, &existing);
  if (gs.ok()) return WriteResult{true, b.num_events(), 0};
  if (!gs.IsNotFound()) return FromRocksStatus(gs, "read dedup marker");

  WriterStats ns = ws->stats;
  const int64_t now = NowMs();
  if (ns.batches == 0) ns.first_ms = now;
  ns.last_ms = now;
  ns.events += b.num_events();
  ns.batches += 1;
  ns.min_step = std::min(ns.min_step, info.min_step);
  ns.max_step = std::max(ns.max_step, info.max_step);
  ns.layers_mask |= info.layers_mask;
  ns.splits_mask |= uint64_t{1} << split_id;
  std::string marker;
  PutVarint64(&marker, b.num_events());
  wb.Put(cf_.meta, dedup_key, marker);
  wb.Put(cf_.meta, WriterKey(run->run_num, h.writer_id), EncodeWriterStats(ns));
  rocksdb::WriteOptions wo;
  wo.sync = opts_.sync;
  rocksdb::Status s = db_->Write(wo, &wb);
  if (!s.ok()) {
    return disk_->WriteFailed(s, absl::StrCat("batch ", h.batch_id, ": write run ", h.run_id));
  }
  ws->stats = ns;
  run->watermark.fetch_add(1);
  return WriteResult{false, b.num_events(), wb.GetDataSize()};
}

RunSummaryData RecorderStore::Impl::Summarize(RunState& run) {
  RunSummaryData out;
  out.watermark = run.watermark.load();
  uint64_t layers = 0, splits = 0;
  bool any = false;
  absl::MutexLock l(&run.mu);
  out.spec = SpecOf(run);
  out.finished = run.finished;
  out.finished_unix_ms = run.finished_unix_ms;
  for (auto& [name, ws] : run.writers) {
    absl::MutexLock wl(&ws->mu);
    const WriterStats& w = ws->stats;
    if (w.batches == 0) continue;
    out.events += w.events;
    out.batches += w.batches;
    out.min_step = any ? std::min(out.min_step, w.min_step) : w.min_step;
    out.max_step = std::max(out.max_step, w.max_step);
    out.first_write_unix_ms = any ? std::min(out.first_write_unix_ms, w.first_ms) : w.first_ms;
    out.last_write_unix_ms = std::max(out.last_write_unix_ms, w.last_ms);
    layers |= w.layers_mask;
    splits |= w.splits_mask;
    any = true;
  }
  for (size_t i = 0; i < out.spec.routed_layers.size(); ++i) {
    if (layers & (uint64_t{1} << i)) out.layers_seen.push_back(out.spec.routed_layers[i]);
  }
  std::sort(out.layers_seen.begin(), out.layers_seen.end());
  for (size_t i = 0; i < run.split_names.size(); ++i) {
    if (splits & (uint64_t{1} << i)) out.splits.push_back(run.split_names[i]);
  }
  std::sort(out.splits.begin(), out.splits.end());
  return out;
}

absl::StatusOr<RunSummaryData> RecorderStore::Impl::GetRun(const std::string& run_id) {
  MR_CHECK_OPEN();
  ASSIGN_OR_RETURN(std::shared_ptr<RunState> run, FindRun(run_id, ""));
  return Summarize(*run);
}

absl::StatusOr<RunPageData> RecorderStore::Impl::ListRuns(const ListRunsQueryData& q) {
  MR_CHECK_OPEN();
  if (q.page_size > kMaxListRunsPage) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size ", q.page_size, " exceeds the maximum of ", kMaxListRunsPage));
  }
  if (!q.page_token.empty()) {
    absl::Status t = ValidateRunId(q.page_token);
    if (!t.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("page_token: ", t.message()));
    }
  }
  const size_t page = q.page_size == 0 ? kDefaultListRunsPage : q.page_size;
  std::vector<std::shared_ptr<RunState>> runs;
  bool more = false;
  {
    absl::MutexLock l(&runs_mu_);
    // The token is the last run id of the previous page: continue after it.
    for (auto it = runs_.upper_bound(q.page_token); it != runs_.end(); ++it) {
      if (runs.size() == page) {
        more = true;
        break;
      }
      runs.push_back(it->second);
    }
  }
  RunPageData out;
  for (auto& r : runs) out.runs.push_back(Summarize(*r));
  if (more) out.next_page_token = out.runs.back().spec.run_id;
  return out;
}

absl::Status RecorderStore::Impl::CheckLayer(const RunState& run, uint32_t layer) {
  if (run.layout.layer_index.count(layer) == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("layer ", layer, " is not a routed layer of run ", run.layout.spec.run_id));
  }
  return absl::OkStatus();
}

uint64_t RecorderStore::Impl::SelectSplits(RunState& run, const std::string& selector,
                                           std::vector<std::string>* names) {
  uint64_t mask = 0;
  absl::MutexLock l(&run.mu);
  for (size_t id = 0; id < run.split_names.size(); ++id) {
    if (!SplitSelected(selector, run.split_names[id])) continue;
    mask |= uint64_t{1} << id;
    names->push_back(run.split_names[id]);
  }
  std::sort(names->begin(), names->end());
  return mask;
}

absl::Status RecorderStore::Impl::ScanCounts(
    const CountsScan& scan, const std::string& run_id, const char* what,
    const std::function<bool(rocksdb::Slice key, rocksdb::Slice value)>& fn) {
  rocksdb::ReadOptions ro;
  rocksdb::Slice upper(scan.hi);
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf_.counts));
  for (it->Seek(scan.lo); it->Valid(); it->Next()) {
    rocksdb::Slice k = it->key();
    if (k.size() != scan.key_size) continue;
    const uint8_t sid = static_cast<uint8_t>(k[scan.split_off]);
    if (sid >= 64 || ((scan.splits >> sid) & 1) == 0) continue;
    if (!fn(k, it->value())) {
      return absl::DataLossError(absl::StrCat("run ", run_id, ": malformed ", what, " value"));
    }
  }
  if (!it->status().ok()) return FromRocksStatus(it->status(), absl::StrCat("scan ", what));
  return absl::OkStatus();
}

absl::StatusOr<CountsResultData> RecorderStore::Impl::GetCounts(const CountsQueryData& q) {
  MR_CHECK_OPEN();
  ASSIGN_OR_RETURN(std::shared_ptr<RunState> run, FindRun(q.run_id, ""));
  RETURN_IF_ERROR(CheckLayer(*run, q.layer));
  if (q.max_step != 0 && q.max_step < q.min_step) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_step ", q.max_step, " < min_step ", q.min_step));
  }
  CountsResultData out;
  out.watermark = run->watermark.load();
  const uint64_t splits = SelectSplits(*run, q.split, &out.splits);
  if (splits == 0) return out;  // no selected split was ever written
  // One named split: its id narrows the scan's prefix.
  const int split = q.split.empty() ? -1 : __builtin_ctzll(splits);
  const uint32_t P = run->layout.spec.num_pathways;
  const uint64_t bs = run->layout.spec.step_bucket;
  const bool ranged = q.min_step != 0 || q.max_step != 0;

  std::string lo, hi;
  size_t split_off;  // offset of the split byte in keys
  if (!ranged) {
    lo = CountsLayerPrefix(run->run_num, kCountsAll, q.layer);
    split_off = lo.size();
    if (split >= 0) lo.push_back(static_cast<char>(split));
    hi = PrefixEnd(lo);
  } else {
    std::string prefix = CountsLayerPrefix(run->run_num, kCountsBucket, q.layer);
    split_off = prefix.size() + 8;
    lo = prefix;
    PutFixed64BE(&lo, q.min_step / bs);
    uint64_t last_bucket = q.max_step == 0 ? UINT64_MAX : q.max_step / bs;
    if (last_bucket == UINT64_MAX) {
      hi = PrefixEnd(prefix);
    } else {
      hi = prefix;
      PutFixed64BE(&hi, last_bucket + 1);
    }
  }
  std::map<uint32_t, std::vector<uint64_t>> acc;  // token -> counts per pathway
  std::vector<uint64_t> dense;
  auto add_block = [&](rocksdb::Slice k, rocksdb::Slice value) {
    const uint64_t block = GetFixed32BE(k.data() + split_off + 1);
    dense.clear();
    if (!AddSparse(value, &dense)) return false;
    for (size_t i = 0; i < dense.size(); ++i) {
      if (dense[i] == 0) continue;
      const uint64_t token = block * kTokensPerBlock + i / P;
      std::vector<uint64_t>& v = acc[static_cast<uint32_t>(token)];
      v.resize(P, 0);
      v[i % P] += dense[i];
    }
    return true;
  };
  RETURN_IF_ERROR(
      ScanCounts({lo, hi, split_off, split_off + 5, splits}, q.run_id, "counts", add_block));
  for (const auto& [token, v] : acc) {
    for (size_t p = 0; p < v.size() && p < P; ++p) {
      if (v[p] == 0) continue;
      out.token_id.push_back(token);
      out.pathway.push_back(static_cast<uint32_t>(p));
      out.count.push_back(v[p]);
    }
  }
  return out;
}

absl::StatusOr<TotalsData> RecorderStore::Impl::GetTotals(const std::string& run_id, uint32_t layer,
                                                          const std::string& split_name) {
  MR_CHECK_OPEN();
  ASSIGN_OR_RETURN(std::shared_ptr<RunState> run, FindRun(run_id, ""));
  RETURN_IF_ERROR(CheckLayer(*run, layer));
  const uint32_t P = run->layout.spec.num_pathways;
  TotalsData out;
  out.watermark = run->watermark.load();
  out.pathway_count.assign(P, 0);
  out.pathway_weight.assign(P, 0.0);
  const uint64_t splits = SelectSplits(*run, split_name, &out.splits);
  if (splits == 0) return out;
  std::string prefix = CountsLayerPrefix(run->run_num, kCountsTotals, layer);
  std::vector<uint64_t> sum;
  RETURN_IF_ERROR(ScanCounts(
      {prefix, PrefixEnd(prefix), prefix.size(), prefix.size() + 1, splits}, run_id, "totals",
      [&sum](rocksdb::Slice, rocksdb::Slice v) { return AddSparse(v, &sum); }));
  sum.resize(1 + 2 * P, 0);
  out.tokens = sum[0];
  for (uint32_t p = 0; p < P; ++p) {
    out.pathway_count[p] = sum[1 + p];
    out.pathway_weight[p] = static_cast<double>(static_cast<int64_t>(sum[1 + P + p])) /
                            static_cast<double>(1 << kWeightFracBits);
  }
  return out;
}

absl::Status RecorderStore::Impl::QueryEvents(
    const EventQueryData& q, const std::function<bool(events::RoutingEventBatch&&)>& sink) {
  MR_CHECK_OPEN();
  ASSIGN_OR_RETURN(std::shared_ptr<RunState> run, FindRun(q.run_id, ""));
  const RunSpecData& spec = run->layout.spec;
  if (!spec.store_raw_events) {
    return absl::FailedPreconditionError(
        absl::StrCat("run ", q.run_id, " is counts-only (store_raw_events = false)"));
  }
  if (q.has_layer) RETURN_IF_ERROR(CheckLayer(*run, q.layer));
  if (q.has_pathway && q.pathway >= spec.num_pathways) {
    return absl::InvalidArgumentError(
        absl::StrCat("pathway ", q.pathway, " >= num_pathways ", spec.num_pathways));
  }
  std::vector<std::string> selected;
  const uint64_t splits = SelectSplits(*run, q.split, &selected);
  if (splits == 0) return absl::OkStatus();
  std::vector<std::string> split_names;
  {
    absl::MutexLock l(&run->mu);
    split_names = run->split_names;
  }
  uint64_t left = q.limit == 0 ? kDefaultEventLimit : q.limit;
  std::vector<uint32_t> layers;
  if (q.has_layer) {
    layers.push_back(q.layer);
  } else {
    layers = spec.routed_layers;
    std::sort(layers.begin(), layers.end());
  }
  const uint32_t K = spec.top_k;
  for (uint32_t layer : layers) {
    std::string lo = RunPrefix(run->run_num);
    PutFixed32BE(&lo, layer);
    std::string hi = lo;
    PutFixed64BE(&lo, q.min_step);
    if (q.max_step == 0 || q.max_step == UINT64_MAX) {
      hi = PrefixEnd(hi);
    } else {
      PutFixed64BE(&hi, q.max_step + 1);
    }
    rocksdb::ReadOptions ro;
    rocksdb::Slice upper(hi);
    ro.iterate_upper_bound = &upper;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf_.events));
    for (it->Seek(lo); it->Valid() && left > 0; it->Next()) {
      EventsKeyParts kp;
      if (!ParseEventsKey(it->key().ToStringView(), &kp)) {
        return absl::DataLossError(absl::StrCat("run ", q.run_id, ": malformed events key"));
      }
      ASSIGN_OR_RETURN(RawBlock rb, DecodeRawBlock(it->value().ToStringView()));
      if (rb.split >= 64 || ((splits >> rb.split) & 1) == 0) continue;
      if (rb.top_k != K) return absl::DataLossError("raw block top_k differs from the run's");
      events::RoutingEventBatch out;
      out.header.run_id = q.run_id;
      out.header.writer_id = kp.writer;
      out.header.batch_id = kp.batch_seq;
      out.header.split = rb.split < split_names.size() ? split_names[rb.split] : "";
      out.header.step = kp.step;
      out.header.layer = kp.layer;
      out.header.top_k = K;
      TakeEvents(std::move(rb), q, &left, &out);
      if (out.token_id.empty()) continue;
      if (!sink(std::move(out))) return absl::OkStatus();
    }
    if (!it->status().ok()) return FromRocksStatus(it->status(), "scan events");
    if (left == 0) break;
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> RecorderStore::Impl::DeleteRun(const std::string& run_id) {
  MR_CHECK_OPEN();
  ASSIGN_OR_RETURN(std::shared_ptr<RunState> run, FindRun(run_id, ""));
  std::unique_lock<std::shared_mutex> dl(run->delete_mu);
  if (run->deleted) return absl::NotFoundError(absl::StrCat("unknown run '", run_id, "'"));
  uint64_t events = Summarize(*run).events;
  const uint32_t r = run->run_num;
  rocksdb::WriteBatch wb;
  wb.DeleteRange(cf_.events, RunPrefix(r), RunPrefix(r + 1));
  wb.DeleteRange(cf_.counts, RunPrefix(r), RunPrefix(r + 1));
  for (char tag : {kMetaSplit, kMetaWriter, kMetaDedup}) {
    wb.DeleteRange(cf_.meta, RunMetaPrefix(tag, r), RunMetaPrefix(tag, r + 1));
  }
  wb.Delete(cf_.meta, RunKey(run_id));
  rocksdb::WriteOptions wo;
  wo.sync = true;
  rocksdb::Status s = db_->Write(wo, &wb);
  if (!s.ok()) return disk_->WriteFailed(s, absl::StrCat("delete run ", run_id));
  run->deleted = true;
  absl::MutexLock l(&runs_mu_);
  auto it = runs_.find(run_id);
  if (it != runs_.end() && it->second == run) runs_.erase(it);
  return events;
}

absl::StatusOr<RunSummaryData> RecorderStore::Impl::FinishRun(const std::string& run_id) {
  MR_CHECK_OPEN();
  ASSIGN_OR_RETURN(std::shared_ptr<RunState> run, FindRun(run_id, ""));
  std::unique_lock<std::shared_mutex> dl(run->delete_mu);  // waits for batches being applied
  if (run->deleted) return absl::NotFoundError(absl::StrCat("unknown run '", run_id, "'"));
  if (!run->finished) {
    RunRecord rec{run->run_num, SpecOf(*run), true, NowMs()};  // labels stable: delete_mu held
    rocksdb::WriteOptions wo;
    wo.sync = true;
    rocksdb::Status s = db_->Put(wo, cf_.meta, RunKey(run_id), EncodeRunRecord(rec));
    if (!s.ok()) return disk_->WriteFailed(s, absl::StrCat("finish run ", run_id));
    absl::MutexLock l(&run->mu);
    run->finished = true;
    run->finished_unix_ms = rec.finished_unix_ms;
  }
  return Summarize(*run);
}

StoreProperties RecorderStore::Impl::Properties() {
  StoreProperties p;
  std::shared_lock<std::shared_mutex> life_lock(life_mu_);
  if (db_ == nullptr) return p;
  const DiskState d = disk_->state();
  p.disk_used_bytes = d.used_bytes;
  p.disk_free_bytes = d.free_bytes;
  p.writes_stopped = d.writes_stopped;
  p.resumes = d.resumes;
  for (rocksdb::ColumnFamilyHandle* h : handles_) {
    uint64_t v = 0;
    if (db_->GetIntProperty(h, "rocksdb.total-sst-files-size", &v)) p.db_size_bytes += v;
    if (db_->GetIntProperty(h, "rocksdb.cur-size-all-mem-tables", &v)) p.db_size_bytes += v;
    if (db_->GetIntProperty(h, "rocksdb.estimate-pending-compaction-bytes", &v)) {
      p.pending_compaction_bytes += v;
    }
  }
  return p;
}

absl::Status RecorderStore::Impl::Close() {
  {
    std::lock_guard<std::mutex> l(sync_mu_);
    stop_sync_ = true;
  }
  sync_cv_.notify_all();
  if (sync_thread_.joinable()) sync_thread_.join();
  std::unique_lock<std::shared_mutex> life_lock(life_mu_);
  if (db_ == nullptr) return absl::OkStatus();
  disk_->Refresh();
  absl::Status status;
  if (!disk_->state().writes_stopped) {  // else the WAL holds every acked batch (replayed)
    status = FromRocksStatus(SyncWal(), "sync WAL");
    rocksdb::FlushOptions fo;
    rocksdb::Status fs = db_->Flush(fo, handles_);
    if (status.ok()) status = FromRocksStatus(fs, "flush memtables");
  } else {
    std::printf("recorder storage: closing without a flush: %s\n",
                std::string(disk_->Writable().message()).c_str());
  }
  for (rocksdb::ColumnFamilyHandle* h : handles_) (void)db_->DestroyColumnFamilyHandle(h);
  handles_.clear();
  rdb_.handles.clear();
  rocksdb::Status cs = db_->Close();
  if (status.ok()) status = FromRocksStatus(cs, "close database");
  rdb_.db.reset();
  db_ = nullptr;
  return status;
}

// --- public wrappers --------------------------------------------------------------------------

RecorderStore::RecorderStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RecorderStore::~RecorderStore() = default;

absl::StatusOr<std::unique_ptr<RecorderStore>> RecorderStore::Create(
    const RecorderStoreOptions& options) {
  auto impl = std::make_unique<Impl>(options);
  RETURN_IF_ERROR(impl->Open());
  return std::unique_ptr<RecorderStore>(new RecorderStore(std::move(impl)));
}

absl::StatusOr<bool> RecorderStore::CreateRun(const RunSpecData& spec) {
  return impl_->CreateRun(spec);
}
absl::StatusOr<WriteResult> RecorderStore::Write(const events::RoutingEventView& batch) {
  return impl_->Write(batch);
}
absl::StatusOr<WriteResult> RecorderStore::Write(const events::RoutingEventBatch& batch) {
  return impl_->Write(batch.view());
}
absl::StatusOr<RunSummaryData> RecorderStore::GetRun(const std::string& run_id) {
  return impl_->GetRun(run_id);
}
absl::StatusOr<RunPageData> RecorderStore::ListRuns(const ListRunsQueryData& q) {
  return impl_->ListRuns(q);
}
absl::StatusOr<CountsResultData> RecorderStore::GetCounts(const CountsQueryData& q) {
  return impl_->GetCounts(q);
}
absl::StatusOr<TotalsData> RecorderStore::GetTotals(const std::string& run_id, uint32_t layer,
                                                    const std::string& split) {
  return impl_->GetTotals(run_id, layer, split);
}
absl::Status RecorderStore::QueryEvents(
    const EventQueryData& q, const std::function<bool(events::RoutingEventBatch&&)>& sink) {
  return impl_->QueryEvents(q, sink);
}
absl::StatusOr<uint64_t> RecorderStore::DeleteRun(const std::string& run_id) {
  return impl_->DeleteRun(run_id);
}
absl::StatusOr<RunSummaryData> RecorderStore::FinishRun(const std::string& run_id) {
  return impl_->FinishRun(run_id);
}
StoreProperties RecorderStore::Properties() { return impl_->Properties(); }
absl::Status RecorderStore::WriteHealth() { return impl_->WriteHealth(); }
absl::Status RecorderStore::Close() { return impl_->Close(); }

}  // namespace monoroute::recorder
