// Smoke test of `monoroute bench recorder` (private build monoroute-recorder-bench): a small run
// starts its own recorder, streams with acks, scans with QueryEvents (--query), runs the raw loop
// and scan, and ends with a JSON line.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>

#include "nlohmann/json.hpp"

namespace {

TEST(BenchRecorderCliTest, SmallRunPrintsJsonWithAllRates) {
  const std::string bin = MONOROUTE_BIN_DIR "/monoroute-recorder-bench";
  ASSERT_TRUE(std::filesystem::exists(bin)) << bin;
  FILE* p = ::popen((bin + " bench recorder --events 40000 --writers 2 --batch-tokens 1000 "
                           "--query --json 2>&1")
                        .c_str(),
                    "r");
  ASSERT_NE(p, nullptr);
  std::string out, last;
  std::array<char, 4096> buf;
  while (std::fgets(buf.data(), buf.size(), p) != nullptr) {
    out += buf.data();
    std::string line = buf.data();
    if (!line.empty() && line != "\n") last = line;
  }
  int rc = ::pclose(p);
  ASSERT_EQ(rc, 0) << out;
  auto j = nlohmann::json::parse(last, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << out;
  EXPECT_EQ(j["events"].get<uint64_t>(), 40000u);
  EXPECT_GT(j["events_per_s"].get<double>(), 0);
  EXPECT_GT(j["raw_events_per_s"].get<double>(), 0);
  // The scans check that they read exactly the 40000 events written (else the tool fails).
  EXPECT_GT(j["query_events_per_s"].get<double>(), 0);
  EXPECT_GT(j["raw_scan_events_per_s"].get<double>(), 0);
}

}  // namespace
