// Smoke tests of monoroute-recorder-bench (services/recorder/tools/, MONOROUTE_RECORDER_BENCH) and
// of `monoroute bench recorder` (MONOROUTE_CLI), which runs it: a small throughput run starts its
// own recorder, streams with acks, scans with QueryEvents (--query), runs the raw loop and scan,
// and ends with a JSON line; the load mode (--streams, --duration) reports events/s, ack latency
// quantiles, Little's-law floor and the slowest stream's share, closed loop and open loop
// (--rate), with a single-stream baseline (--baseline).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "nlohmann/json.hpp"
#include "tests/testing/command.h"

namespace {

using monoroute::testing::CommandResult;

// Runs monoroute-recorder-bench with `args` (tests/testing/command.h), stdout and stderr together.
CommandResult RunBench(const std::string& args) {
  EXPECT_TRUE(std::filesystem::exists(MONOROUTE_RECORDER_BENCH)) << MONOROUTE_RECORDER_BENCH;
  return monoroute::testing::RunCommand(std::string(MONOROUTE_RECORDER_BENCH) + " " + args);
}

// The last non-empty line of `out` (the tools end with their JSON result) parsed as JSON;
// is_discarded() when it is not JSON.
nlohmann::json LastJson(const std::string& out) {
  size_t end = out.find_last_not_of('\n');
  if (end == std::string::npos) return nlohmann::json::parse("", nullptr, false);
  const size_t begin = out.rfind('\n', end);
  const size_t from = begin == std::string::npos ? 0 : begin + 1;
  return nlohmann::json::parse(out.substr(from, end + 1 - from), nullptr, false);
}

TEST(RecorderBenchTest, SmallRunPrintsJsonWithAllRates) {
  const CommandResult r = RunBench("--events 40000 --writers 2 --batch-tokens 1000 --query --json");
  ASSERT_EQ(r.code, 0) << r.out;
  const nlohmann::json j = LastJson(r.out);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j["events"].get<uint64_t>(), 40000u);
  EXPECT_GT(j["events_per_s"].get<double>(), 0);
  EXPECT_GT(j["raw_events_per_s"].get<double>(), 0);
  // The scans check that they read exactly the 40000 events written (else the tool fails).
  EXPECT_GT(j["query_events_per_s"].get<double>(), 0);
  EXPECT_GT(j["raw_scan_events_per_s"].get<double>(), 0);
  EXPECT_EQ(j["queue_batches"].get<int>(), 16);  // the default writer queue bound
}

TEST(RecorderBenchTest, WriterQueueBoundDoesNotChangeWhatIsStored) {
  // A queue of 1 batch (each Append waits for the previous ack) and the writer's default bound
  // (the whole run queued up front): either way the tool checks the recorder holds every event.
  for (const char* q : {"1", "0"}) {
    const CommandResult r = RunBench(
        std::string("--events 30000 --writers 2 --batch-tokens 1000 --json --queue-batches ") + q);
    ASSERT_EQ(r.code, 0) << q << ": " << r.out;
    const nlohmann::json j = LastJson(r.out);
    ASSERT_FALSE(j.is_discarded()) << r.out;
    EXPECT_EQ(j["queue_batches"].get<int>(), std::stoi(q));
    EXPECT_EQ(j["events"].get<uint64_t>(), 32000u);  // whole batches: 2 writers x 4 x 4,000
  }
}

TEST(RecorderBenchTest, LoadModeReportsLatencyFloorFairnessAndBaseline) {
  // 3 streams for 1 s at the default 1,024-event batches; the tool fails unless the recorder
  // holds exactly the acked events and every ack came in order.
  const CommandResult r = RunBench("--streams 3 --duration 1 --baseline 0.5 --output json");
  ASSERT_EQ(r.code, 0) << r.out;
  const nlohmann::json j = LastJson(r.out);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j["mode"], "load");
  EXPECT_EQ(j["streams"].get<int>(), 3);
  EXPECT_EQ(j["batch_events"].get<uint64_t>(), 1024u);
  EXPECT_EQ(j["window"].get<int>(), 8);
  EXPECT_GT(j["batches"].get<uint64_t>(), 0u);
  EXPECT_EQ(j["events"].get<uint64_t>(), 1024u * j["batches"].get<uint64_t>());
  EXPECT_GT(j["events_per_s"].get<double>(), 0);
  EXPECT_GT(j["ack_p50_ms"].get<double>(), 0);
  EXPECT_LE(j["ack_p50_ms"].get<double>(), j["ack_p99_ms"].get<double>());
  EXPECT_LE(j["ack_p99_ms"].get<double>(), j["ack_max_ms"].get<double>());
  // Closed loop: 3 streams x 8 batches x 1,024 events in flight.
  EXPECT_EQ(j["events_in_flight"].get<double>(), 3 * 8 * 1024.0);
  EXPECT_NEAR(j["littles_law_floor_ms"].get<double>(),
              1000.0 * 3 * 8 * 1024 / j["events_per_s"].get<double>(), 1e-6);
  EXPECT_GT(j["stream_throughput_min_ratio"].get<double>(), 0);
  EXPECT_LE(j["stream_throughput_min_ratio"].get<double>(), 1.0);
  EXPECT_GT(j["baseline"]["events_per_s"].get<double>(), 0);
  EXPECT_NE(r.out.find("ack latency per batch"), std::string::npos) << r.out;
}

TEST(RecorderBenchTest, OpenLoopSendsAtTheRate) {
  // 2 streams sharing 20,480 events/s = 10 batches/s each for 1 s: about 20 batches, never more
  // than the schedule allows (+1 per stream for the batch due at the start).
  const CommandResult r = RunBench("--streams 2 --duration 1 --rate 20480 --json");
  ASSERT_EQ(r.code, 0) << r.out;
  const nlohmann::json j = LastJson(r.out);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j["rate"].get<double>(), 20480.0);
  EXPECT_GT(j["batches"].get<uint64_t>(), 0u);
  EXPECT_LE(j["batches"].get<uint64_t>(), 22u);
  EXPECT_GE(j["events_in_flight"].get<double>(), 0);
}

TEST(RecorderBenchTest, BadSettingsAreUsageErrors) {
  // Exit 2, before any recorder starts.
  for (const char* bad :
       {"--streams 2 --duration 0", "--streams 2 --window 0", "--streams 2 --duration 1 --query",
        "--streams 2 --rate -1", "--queue-batches -1"}) {
    const CommandResult r = RunBench(bad);
    EXPECT_EQ(r.code, 2) << bad << ": " << r.out;
  }
}

TEST(RecorderBenchTest, MonorouteBenchRecorderRunsTheTool) {
  // The user CLI forwards the flags; with --output json only the JSON result is on stdout.
  ASSERT_TRUE(std::filesystem::exists(MONOROUTE_CLI)) << MONOROUTE_CLI;
  const CommandResult r = monoroute::testing::RunCommandSplit(
      std::string(MONOROUTE_CLI) + " bench recorder --streams 2 --duration 0.5 --output json");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  const nlohmann::json j = LastJson(r.out);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j["mode"], "load");
  EXPECT_EQ(j["streams"].get<int>(), 2);
  EXPECT_EQ(r.out.find("ack latency per batch"), std::string::npos) << r.out;
}

}  // namespace
