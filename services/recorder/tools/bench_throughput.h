// Throughput mode of monoroute-recorder-bench: recorder ingest with acks through W
// RecorderWriters next to a raw RocksDB WriteBatch loop over the same data and schema (the
// ceiling); with --query also a QueryEvents scan of everything next to a raw iterator scan.
#ifndef MONOROUTE_SERVICES_RECORDER_TOOLS_BENCH_THROUGHPUT_H_
#define MONOROUTE_SERVICES_RECORDER_TOOLS_BENCH_THROUGHPUT_H_

#include "absl/status/status.h"
#include "services/recorder/tools/bench_options.h"

namespace monoroute::recorder::bench {

// Runs it and prints the text report (and the JSON line with o.json). INVALID_ARGUMENT for bad
// options.
absl::Status RunThroughput(const BenchOptions& o);

}  // namespace monoroute::recorder::bench

#endif  // MONOROUTE_SERVICES_RECORDER_TOOLS_BENCH_THROUGHPUT_H_
