// Smoke tests of monoroute-recorder-bench (services/recorder/tools/, MONOROUTE_RECORDER_BENCH) and
// of `monoroute bench recorder` (MONOROUTE_CLI), which runs it: a small throughput run starts its
// own recorder, streams with acks, scans with QueryEvents (--query), runs the raw loop and scan,
// and ends with a JSON line; the load mode (--streams, --duration) reports events/s, ack latency
// quantiles, Little's-law floor and the slowest stream's share, closed loop and open loop
// (--rate), with a single-stream baseline (--baseline).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>

#include "nlohmann/json.hpp"

namespace {

// Runs `bin args` (stderr to `err_to`: "&1" merges it); returns its exit status, all output and
// the last non-empty line.
int RunTool(const std::string& bin, const std::string& args, std::string* out, std::string* last,
            const std::string& err_to = "&1") {
  EXPECT_TRUE(std::filesystem::exists(bin)) << bin;
  FILE* p = ::popen((bin + " " + args + " 2>" + err_to).c_str(), "r");
  if (p == nullptr) return -1;
  std::array<char, 4096> buf;
  while (std::fgets(buf.data(), buf.size(), p) != nullptr) {
    *out += buf.data();
    std::string line = buf.data();
    if (!line.empty() && line != "\n") *last = line;
  }
  const int status = ::pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int RunBench(const std::string& args, std::string* out, std::string* last) {
  return RunTool(MONOROUTE_RECORDER_BENCH, args, out, last);
}

TEST(RecorderBenchTest, SmallRunPrintsJsonWithAllRates) {
  std::string out, last;
  ASSERT_EQ(RunBench("--events 40000 --writers 2 --batch-tokens 1000 --query --json", &out, &last),
            0)
      << out;
  auto j = nlohmann::json::parse(last, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << out;
  EXPECT_EQ(j["events"].get<uint64_t>(), 40000u);
  EXPECT_GT(j["events_per_s"].get<double>(), 0);
  EXPECT_GT(j["raw_events_per_s"].get<double>(), 0);
  // The scans check that they read exactly the 40000 events written (else the tool fails).
  EXPECT_GT(j["query_events_per_s"].get<double>(), 0);
  EXPECT_GT(j["raw_scan_events_per_s"].get<double>(), 0);
}

TEST(RecorderBenchTest, LoadModeReportsLatencyFloorFairnessAndBaseline) {
  // 3 streams for 1 s at the default 1,024-event batches; the tool fails unless the recorder
  // holds exactly the acked events and every ack came in order.
  std::string out, last;
  ASSERT_EQ(RunBench("--streams 3 --duration 1 --baseline 0.5 --output json", &out, &last), 0)
      << out;
  auto j = nlohmann::json::parse(last, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << out;
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
  EXPECT_NE(out.find("ack latency per batch"), std::string::npos) << out;
}

TEST(RecorderBenchTest, OpenLoopSendsAtTheRate) {
  // 2 streams sharing 20,480 events/s = 10 batches/s each for 1 s: about 20 batches, never more
  // than the schedule allows (+1 per stream for the batch due at the start).
  std::string out, last;
  ASSERT_EQ(RunBench("--streams 2 --duration 1 --rate 20480 --json", &out, &last), 0) << out;
  auto j = nlohmann::json::parse(last, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << out;
  EXPECT_EQ(j["rate"].get<double>(), 20480.0);
  EXPECT_GT(j["batches"].get<uint64_t>(), 0u);
  EXPECT_LE(j["batches"].get<uint64_t>(), 22u);
  EXPECT_GE(j["events_in_flight"].get<double>(), 0);
}

TEST(RecorderBenchTest, BadSettingsAreUsageErrors) {
  // Exit 2, before any recorder starts.
  for (const char* bad : {"--streams 2 --duration 0", "--streams 2 --window 0",
                          "--streams 2 --duration 1 --query", "--streams 2 --rate -1"}) {
    std::string out, last;
    EXPECT_EQ(RunBench(bad, &out, &last), 2) << bad << ": " << out;
  }
}

TEST(RecorderBenchTest, MonorouteBenchRecorderRunsTheTool) {
  // The user CLI forwards the flags; with --output json only the JSON result is on stdout.
  std::string out, last;
  ASSERT_EQ(RunTool(MONOROUTE_CLI, "bench recorder --streams 2 --duration 0.5 --output json", &out,
                    &last, "/dev/null"),
            0)
      << out;
  auto j = nlohmann::json::parse(last, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << out;
  EXPECT_EQ(j["mode"], "load");
  EXPECT_EQ(j["streams"].get<int>(), 2);
  EXPECT_EQ(out.find("ack latency per batch"), std::string::npos) << out;
}

}  // namespace
