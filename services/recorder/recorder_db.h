// Opens the recorder's RocksDB database with its column families and options ("default",
// "meta", "counts" with the UInt64Add merge operator, "events"). Shared by RecorderStore and the
// raw-ceiling loop of `monoroute bench recorder`, so both use exactly the same schema.
#ifndef MONOROUTE_SERVICES_RECORDER_RECORDER_DB_H_
#define MONOROUTE_SERVICES_RECORDER_RECORDER_DB_H_

#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "rocksdb/db.h"
#include "services/recorder/batch_encoder.h"
#include "services/recorder/disk_guard.h"
#include "services/recorder/recorder_store.h"

namespace monoroute::recorder {

// An open recorder database. Destroying it closes the handles and the DB (no flush).
struct RecorderDb {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;  // default, meta, counts, events
  ColumnFamilies cf;
  ~RecorderDb();
};

// Opens (creating if missing) the database in options.data_dir. With `disk`, its listener and
// SstFileManager are installed (disk-full handling, see disk_guard.h); `disk` must outlive the DB.
absl::Status OpenRecorderDb(const RecorderStoreOptions& options, RecorderDb* out,
                            DiskGuard* disk = nullptr);

}  // namespace monoroute::recorder

#endif  // MONOROUTE_SERVICES_RECORDER_RECORDER_DB_H_
