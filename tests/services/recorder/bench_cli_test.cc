// Smoke tests of `monoroute bench recorder` (the real tool, MONOROUTE_CLI): a small run
// starts its own recorder, streams with acks, scans with QueryEvents (--query), runs the raw loop
// and scan, and ends with a JSON line; the load mode (--streams, --duration) reports events/s and
// ack latency quantiles.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>

#include "nlohmann/json.hpp"

namespace {

// Runs the bench tool with `args`; returns its exit status, all output and the last line.
int RunBench(const std::string& args, std::string* out, std::string* last) {
  const std::string bin = MONOROUTE_CLI;
  EXPECT_TRUE(std::filesystem::exists(bin)) << bin;
  FILE* p = ::popen((bin + " bench recorder " + args + " 2>&1").c_str(), "r");
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

TEST(BenchRecorderCliTest, SmallRunPrintsJsonWithAllRates) {
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

TEST(BenchRecorderCliTest, LoadModeReportsEventsPerSecondAndAckLatency) {
  // 3 streams for 1 s at the default 1,024-event batches; the tool fails unless the recorder
  // holds exactly the acked events and every ack came in order.
  std::string out, last;
  ASSERT_EQ(RunBench("--streams 3 --duration 1 --json", &out, &last), 0) << out;
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
  EXPECT_NE(out.find("ack latency per batch"), std::string::npos) << out;

  // Bad load settings are usage errors (exit 2), before any recorder starts.
  for (const char* bad :
       {"--streams 2 --duration 0", "--streams 2 --window 0", "--streams 2 --duration 1 --query"}) {
    out.clear();
    EXPECT_EQ(RunBench(bad, &out, &last), 2) << bad << ": " << out;
  }
}

}  // namespace
