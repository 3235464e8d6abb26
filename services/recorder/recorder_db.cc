// RocksDB options and column families of the recorder.
#include "services/recorder/recorder_db.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/options.h"
#include "rocksdb/table.h"
#include "services/recorder/rocksdb_status.h"
#include "services/recorder/uint64_add_operator.h"

namespace monoroute::recorder {
namespace {

// RocksDB's info log on stderr ("rocksdb: ..."), warnings and above. Not a LOG file in the data
// dir: a LOG file that failed an append on a full disk aborts the process at its next line
// (Debian's librocksdb asserts in WritableFileWriter), and it would take space meant for data.
class StderrLogger : public rocksdb::Logger {
 public:
  StderrLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    char line[1024];
    std::vsnprintf(line, sizeof(line), format, ap);
    std::fprintf(stderr, "rocksdb: %s\n", line);
  }
};

}  // namespace

RecorderDb::~RecorderDb() {
  if (db != nullptr) {
    for (rocksdb::ColumnFamilyHandle* h : handles) (void)db->DestroyColumnFamilyHandle(h);
    (void)db->Close();
  }
}

absl::Status OpenRecorderDb(const RecorderStoreOptions& o, RecorderDb* out, DiskGuard* disk) {
  if (o.data_dir.empty()) return absl::InvalidArgumentError("data_dir is empty");
  rocksdb::Options db_opts;
  db_opts.create_if_missing = true;
  db_opts.create_missing_column_families = true;
  db_opts.IncreaseParallelism(std::max(1, o.background_threads));
  db_opts.max_background_jobs = std::max(2, o.background_threads);
  db_opts.enable_pipelined_write = true;
  // Batches arrive key-sorted; sequential memtable inserts reuse the skiplist search path,
  // which concurrent inserts cannot.
  db_opts.allow_concurrent_memtable_write = false;
  // Close() flushes memtables itself when the database is healthy; after a storage error the WAL
  // keeps what was acknowledged (replayed at the next open) and no flush is attempted on close.
  db_opts.avoid_flush_during_shutdown = true;
  // Start the write-back of WAL and SST data every MiB, so the periodic WAL fsync (and a flush's
  // final sync) finds little dirty data: no ack waits behind seconds of buffered writes.
  db_opts.wal_bytes_per_sync = 1 << 20;
  db_opts.bytes_per_sync = 1 << 20;
  // Compactions (the LOW pool) yield the CPU to ingest and flushes: on a small machine they
  // otherwise stretch the acks of every stream while they run.
  db_opts.env->LowerThreadPoolCPUPriority(rocksdb::Env::Priority::LOW);
  static const std::shared_ptr<rocksdb::Logger> logger = std::make_shared<StderrLogger>();
  db_opts.info_log = logger;
  db_opts.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  if (disk != nullptr) {
    db_opts.listeners.push_back(disk->listener());
    db_opts.sst_file_manager = disk->sst_file_manager();
  }

  rocksdb::BlockBasedTableOptions bbt;
  bbt.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  auto table = std::shared_ptr<rocksdb::TableFactory>(rocksdb::NewBlockBasedTableFactory(bbt));
  auto merge = std::make_shared<UInt64AddOperator>();

  rocksdb::ColumnFamilyOptions meta_opts;
  meta_opts.table_factory = table;
  meta_opts.merge_operator = merge;
  meta_opts.write_buffer_size = 16 << 20;
  rocksdb::ColumnFamilyOptions counts_opts;
  counts_opts.table_factory = table;
  counts_opts.merge_operator = merge;
  counts_opts.write_buffer_size = o.write_buffer_bytes;
  counts_opts.max_write_buffer_number = 4;
  rocksdb::ColumnFamilyOptions events_opts;
  events_opts.write_buffer_size = o.write_buffer_bytes;
  events_opts.max_write_buffer_number = 4;
  events_opts.compression = rocksdb::kNoCompression;  // floats and varints barely compress

  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
      {"meta", meta_opts},
      {"counts", counts_opts},
      {"events", events_opts}};
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_opts, o.data_dir, cfs, &out->handles, &raw);
  if (!s.ok()) return FromRocksStatus(s, absl::StrCat("open database ", o.data_dir));
  out->db.reset(raw);
  out->cf.meta = out->handles[1];
  out->cf.counts = out->handles[2];
  out->cf.events = out->handles[3];
  return absl::OkStatus();
}

}  // namespace monoroute::recorder
