// monoroute-recorder-bench: the recorder's benchmark (flags only; the modes are in
// bench_throughput.cc and bench_load.cc). Throughput mode (default): ingest with acks vs a raw
// RocksDB WriteBatch loop over the same data and schema, --query adds the QueryEvents scan.
// Load mode (--streams N --duration S [--window W] [--rate EVENTS_PER_S] [--baseline S]): ack
// latency under N concurrent streams. Starts its own monoroute-recorder (found next to this
// binary) unless --recorder HOST:PORT is given. `--output json` (or `--json`): the result as one
// JSON object on stdout, the text report on stderr. Exit codes: 0 ok, 2 bad usage, 1 failure.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "services/recorder/tools/bench_modes.h"
#include "services/recorder/tools/bench_options.h"

namespace bench = monoroute::recorder::bench;

int main(int argc, char** argv) {
  CLI::App app{
      "monoroute-recorder-bench: recorder ingest throughput vs raw RocksDB, or ack "
      "latency under concurrent streams"};
  bench::BenchOptions o;
  std::string output = "text";
  app.add_option("--events", o.events, "token-layer events to stream in total")
      ->capture_default_str();
  app.add_option("--writers", o.writers, "concurrent writers (one stream each)")
      ->capture_default_str();
  app.add_option("--recorder", o.recorder,
                 "address of a running recorder (default: start one on a free port)");
  app.add_option("--output", output, "result format: text, or json (one JSON object on stdout)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  app.add_flag("--json", o.json, "same as --output json");
  CLI::Option* batch_tokens =
      app.add_option("--batch-tokens", o.batch_tokens,
                     "tokens per batch (x 4 routed layers = events of one layer per "
                     "batch; --streams default: 256)")
          ->capture_default_str();
  app.add_flag("--sync", o.sync, "fsync per batch (recorder --sync and the raw loop)");
  app.add_flag("!--no-raw-events", o.raw_events, "counts-only run (no raw event rows)");
  app.add_flag("--query", o.query,
               "also time a QueryEvents scan of every written event vs a raw RocksDB scan");
  app.add_option("--queue-batches", o.queue_batches,
                 "throughput mode: each writer's queue bound in batches (0: the writer's default "
                 "bound, the whole run queued up front)")
      ->capture_default_str();
  app.add_option("--streams", o.streams,
                 "load test: N concurrent Record streams (events/s, ack latency p50/p99)");
  app.add_option("--duration", o.duration_s, "load test: seconds of sending")
      ->capture_default_str();
  app.add_option("--window", o.window, "load test: batches in flight per stream")
      ->capture_default_str();
  app.add_option("--rate", o.rate,
                 "load test: open loop, EVENTS_PER_S in all, each stream at its share "
                 "(0: closed loop, as fast as acks come)")
      ->capture_default_str();
  app.add_option("--baseline", o.baseline_s,
                 "load test: afterwards 1 stream with window 1 for this many seconds against the "
                 "same recorder (0: none)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  o.batch_tokens_set = batch_tokens->count() > 0;
  o.json = o.json || output == "json";
  absl::Status s = o.streams > 0 ? bench::RunLoad(o) : bench::RunThroughput(o);
  if (!s.ok()) {
    if (o.json) {
      std::printf("{\"error\": {\"code\": \"%s\", \"message\": \"see stderr\"}}\n",
                  absl::StatusCodeToString(s.code()).c_str());
    }
    std::fprintf(stderr, "monoroute-recorder-bench: %s\n", std::string(s.message()).c_str());
    return s.code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
  }
  return 0;
}
