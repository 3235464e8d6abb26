// The two modes of monoroute-recorder-bench, each run by bench_main.cc from the parsed
// BenchOptions; both print the text report (and the JSON line with o.json).
//
// Throughput (bench_throughput.cc): recorder ingest with acks through W RecorderWriters next to
// a raw RocksDB WriteBatch loop over the same data and schema (the ceiling); with --query also a
// QueryEvents scan of everything next to a raw iterator scan.
//
// Load (bench_load.cc, --streams N --duration S): N concurrent Record streams, each on its own
// channel and TCP connection, keep --window batches in flight (closed loop) or send at their
// share of --rate events/s (open loop, still bounded by the window). Reports events/s, the
// per-batch ack latency p50/p99/max, Little's-law floor of the mean latency (events in flight /
// throughput), the slowest stream's throughput over the mean stream's, and with --baseline S a
// single-stream, window-1 baseline against the same recorder afterwards.
#ifndef MONOROUTE_SERVICES_RECORDER_TOOLS_BENCH_MODES_H_
#define MONOROUTE_SERVICES_RECORDER_TOOLS_BENCH_MODES_H_

#include "absl/status/status.h"
#include "services/recorder/tools/bench_options.h"

namespace monoroute::recorder::bench {

// The throughput mode. INVALID_ARGUMENT for bad options.
absl::Status RunThroughput(const BenchOptions& o);

// The load mode. INVALID_ARGUMENT for bad options; INTERNAL / DATA_LOSS when an ack is missing,
// out of order or the recorder's count differs from the acked events.
absl::Status RunLoad(const BenchOptions& o);

}  // namespace monoroute::recorder::bench

#endif  // MONOROUTE_SERVICES_RECORDER_TOOLS_BENCH_MODES_H_
