// Options of monoroute-recorder-bench (the flags of bench_main.cc), shared by its modes.
#ifndef MONOROUTE_SERVICES_RECORDER_TOOLS_BENCH_OPTIONS_H_
#define MONOROUTE_SERVICES_RECORDER_TOOLS_BENCH_OPTIONS_H_

#include <cstdint>
#include <cstdio>
#include <string>

namespace monoroute::recorder::bench {

struct BenchOptions {
  uint64_t events = 4'000'000;    // throughput mode: token-layer events to stream in total
  int writers = 2;                // throughput mode: concurrent RecorderWriters (one stream each)
  std::string recorder;           // host:port of a running recorder; empty: start one
  bool json = false;              // print a JSON object as the last line of stdout
  int batch_tokens = 4096;        // x 4 routed layers = events per batch (all of one layer)
  bool batch_tokens_set = false;  // --batch-tokens given (load mode default: 256 = 1,024 events)
  bool sync = false;              // start the recorder (and the raw loop) with per-batch fsync
  bool raw_events = true;         // store raw events (false: counts-only run)
  bool query = false;             // throughput mode: also time a QueryEvents scan
  // Throughput mode: each writer's queue bound, in batches (RecorderWriterOptions::
  // max_queue_events = this x batch events), so a writer streams and reuses its wire buffers
  // like a long-running trainer; 0: the writer's default bound (the whole run may be queued up
  // front, each batch encoded into fresh memory).
  int queue_batches = 16;
  int streams = 0;         // load mode: concurrent Record streams (0: throughput mode)
  double duration_s = 60;  // load mode: seconds of sending
  int window = 8;          // load mode: batches in flight per stream (RecorderWriter's)
  double rate = 0;         // load mode: open loop at this many events/s in all (0: closed)
  double baseline_s = 0;   // load mode: then 1 stream, window 1, for this many seconds
};

// Where human-readable lines go: stdout, or stderr when stdout carries only JSON.
inline FILE* TextOut(const BenchOptions& o) { return o.json ? stderr : stdout; }

}  // namespace monoroute::recorder::bench

#endif  // MONOROUTE_SERVICES_RECORDER_TOOLS_BENCH_OPTIONS_H_
