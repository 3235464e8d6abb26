// The one adapter from rocksdb::Status to absl::Status (see CONTRIBUTING.md, "Foreign errors").
#ifndef MONOROUTE_SERVICES_RECORDER_ROCKSDB_STATUS_H_
#define MONOROUTE_SERVICES_RECORDER_ROCKSDB_STATUS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "rocksdb/status.h"

namespace monoroute::recorder {

// Converts `s` to an absl::Status whose message starts with `context` (e.g. "write run r1").
// NotFound -> NOT_FOUND, InvalidArgument -> INVALID_ARGUMENT, Busy/TimedOut/TryAgain ->
// UNAVAILABLE, NoSpace -> RESOURCE_EXHAUSTED, Corruption -> DATA_LOSS, others -> INTERNAL.
absl::Status FromRocksStatus(const rocksdb::Status& s, absl::string_view context);

}  // namespace monoroute::recorder

#endif  // MONOROUTE_SERVICES_RECORDER_ROCKSDB_STATUS_H_
