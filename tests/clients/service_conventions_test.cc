// Health and metrics conventions of the three service binaries, started fresh on port 0:
// - every metric name the Grafana dashboard (deploy/grafana/dashboards/monoroute.json) queries is
//   exposed before any work: counters, gauges and histograms without a job_id label as a sample
//   (at zero), families labelled by job_id (series per training job) by their # TYPE line;
// - each service exposes process_* metrics, <svc>_build_info 1 and per-RPC counters at zero for
//   its methods, and counts an RPC it served (rpc_requests_total, rpc_seconds);
// - the trainer labels job series job_id and creates its state gauges and the recorder its
//   rejection reasons at zero;
// - gRPC health on the plaintext --health-listen port: readiness ("") and "liveness" SERVING;
//   the analysis service turns NOT_SERVING while its recorder is down and SERVING again when it
//   is back (polled: the check runs every 5 s), its liveness staying SERVING.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/clients/cli_test_util.h"
#include "tests/testing/http.h"
#include "tests/testing/process.h"
#include "tests/testing/services.h"
#include "tests/testing/temp_files.h"

namespace monoroute {
namespace {

using ::monoroute::testing::CommandResult;
using ::monoroute::testing::HttpGet;
using ::monoroute::testing::ReadText;
using ::monoroute::testing::RunCli;
using ::monoroute::testing::ServicePorts;
using ::monoroute::testing::ServiceProcess;
using ::monoroute::testing::ServiceStack;
using ::monoroute::testing::StartServiceStack;
using ::monoroute::testing::TempDir;

const std::string kBin = MONOROUTE_BIN_DIR;

// Metric names in the dashboard's queries (histogram suffixes stripped), each with whether a
// query selects it by `job_id` (a per-training-job series).
std::map<std::string, bool> DashboardMetrics() {
  const nlohmann::json dash = nlohmann::json::parse(
      ReadText(std::string(MONOROUTE_SOURCE_DIR) + "/deploy/grafana/dashboards/monoroute.json"));
  std::map<std::string, bool> names;
  const std::regex re("\\b((?:monoroute|process)_[a-z_]+)(\\{job_id)?");
  const std::regex suffix("_(bucket|sum|count)$");
  for (const auto& panel : dash["panels"]) {
    for (const auto& t : panel["targets"]) {
      const std::string expr = t["expr"].get<std::string>();
      for (std::sregex_iterator it(expr.begin(), expr.end(), re), end; it != end; ++it) {
        names[std::regex_replace((*it)[1].str(), suffix, "")] |= (*it)[2].matched;
      }
    }
  }
  return names;
}

// `monoroute health --address 127.0.0.1:<port> [--service S]`: the status it printed.
std::string Health(int port, const std::string& service = "") {
  CommandResult r =
      RunCli(absl::StrCat("health --timeout 2 --output json --address 127.0.0.1:", port,
                          service.empty() ? "" : " --service " + service));
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  if (j.is_discarded()) return "no answer: " + r.err;
  return j["status"].get<std::string>();
}

// Polls Health(port) until it says `want` (at most `tries` x 500 ms).
bool HealthBecomes(int port, const std::string& want, int tries = 120) {
  for (int i = 0; i < tries; ++i) {
    if (Health(port) == want) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return false;
}

class ServiceConventionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::Status s = StartServiceStack(&stack_, dir_.path());
    ASSERT_TRUE(s.ok()) << s;
  }

  TempDir dir_{"monoroute_conventions"};
  ServiceStack stack_;
};

TEST_F(ServiceConventionsTest, DashboardMetricsExistOnFreshServices) {
  const std::string all = HttpGet(stack_.rec.metrics, "/metrics") +
                          HttpGet(stack_.ana.metrics, "/metrics") +
                          HttpGet(stack_.tra.metrics, "/metrics");
  ASSERT_FALSE(all.empty());
  const std::map<std::string, bool> names = DashboardMetrics();
  ASSERT_GE(names.size(), 20u);
  for (const auto& [name, per_job] : names) {
    // Series per training job (selected by job_id) exist once a job reports; prometheus-cpp
    // exposes a family only when it has a series, so those may be absent on a fresh trainer.
    if (per_job) continue;
    EXPECT_NE(all.find("# TYPE " + name + " "), std::string::npos) << name << " is not exposed";
    const std::regex sample("(^|\\n)" + name + "(_bucket|_sum|_count)?(\\{[^}]*\\})? ");
    EXPECT_TRUE(std::regex_search(all, sample)) << name << " has no sample at start";
  }
}

TEST_F(ServiceConventionsTest, ProcessBuildInfoAndRpcMetrics) {
  const std::map<std::string, std::pair<int, std::string>> services = {
      {"recorder", {stack_.rec.metrics, "Recorder/GetRun"}},
      {"analysis", {stack_.ana.metrics, "Analysis/ComputeReport"}},
      {"trainer", {stack_.tra.metrics, "Trainer/SubmitJob"}}};
  for (const auto& [svc, what] : services) {
    SCOPED_TRACE(svc);
    const std::string text = HttpGet(what.first, "/metrics");
    for (const char* m : {"process_cpu_seconds_total ", "process_resident_memory_bytes ",
                          "process_start_time_seconds ", "process_open_fds ", "process_max_fds "}) {
      EXPECT_NE(text.find(std::string("\n") + m), std::string::npos) << m;
    }
    EXPECT_TRUE(std::regex_search(
        text, std::regex("monoroute_" + svc + "_build_info\\{[^}]*version=\"[^\"]+\"[^}]*\\} 1")))
        << text;
    EXPECT_NE(text.find("monoroute_" + svc + "_rpc_requests_total{code=\"OK\",method=\"" +
                        what.second + "\"} 0"),
              std::string::npos)
        << text;
    EXPECT_NE(
        text.find("monoroute_" + svc + "_rpc_seconds_count{method=\"" + what.second + "\"} 0"),
        std::string::npos);
  }
  // One health check over the main port is counted.
  ASSERT_EQ(Health(stack_.rec.grpc), "SERVING");
  const std::string after = HttpGet(stack_.rec.metrics, "/metrics");
  EXPECT_TRUE(std::regex_search(
      after, std::regex("monoroute_recorder_rpc_requests_total\\{code=\"OK\",method=\"Health/"
                        "Check\"\\} [1-9]")))
      << after;
  // Labels and zero series of the services' own metrics.
  const std::string tr = HttpGet(stack_.tra.metrics, "/metrics");
  EXPECT_NE(tr.find("monoroute_trainer_jobs{state=\"QUEUED\"} 0"), std::string::npos) << tr;
  EXPECT_EQ(tr.find("{job=\""), std::string::npos) << tr;  // job_id, not Prometheus' own label
  const std::string rec = HttpGet(stack_.rec.metrics, "/metrics");
  EXPECT_NE(rec.find("monoroute_recorder_rejected_batches_total{reason=\"invalid_argument\"} 0"),
            std::string::npos)
      << rec;
}

TEST_F(ServiceConventionsTest, HealthPortsAndAnalysisFollowsItsRecorder) {
  for (const ServicePorts* p : {&stack_.rec, &stack_.ana, &stack_.tra}) {
    EXPECT_EQ(Health(p->health), "SERVING");
    EXPECT_EQ(Health(p->health, "liveness"), "SERVING");
  }
  // The recorder goes away: the analysis is not ready, but alive.
  stack_.recorder.Stop(std::chrono::seconds(10));
  EXPECT_TRUE(HealthBecomes(stack_.ana.health, "NOT_SERVING"))
      << ReadText(dir_.Sub("analysis.log"));
  EXPECT_EQ(Health(stack_.ana.health, "liveness"), "SERVING");
  EXPECT_NE(ReadText(dir_.Sub("analysis.log")).find("health: NOT_SERVING"), std::string::npos);
  // It comes back on the same port: ready again.
  ServiceProcess again;
  ASSERT_TRUE(again
                  .Start("monoroute-recorder",
                         {kBin + "/monoroute-recorder", "--listen", stack_.rec.address(),
                          "--data-dir", dir_.Sub("rec"), "--metrics-listen", ""},
                         dir_.Sub("recorder2.log"))
                  .ok());
  ASSERT_TRUE(again.WaitReady(stack_.rec.address(), std::chrono::seconds(60)).ok());
  EXPECT_TRUE(HealthBecomes(stack_.ana.health, "SERVING")) << ReadText(dir_.Sub("analysis.log"));
}

}  // namespace
}  // namespace monoroute
