// Router saturation through the real services: a monoroute-recorder and a monoroute-analysis
// (child processes on loopback) and a run whose checkpoint evaluations ("eval@step<N>", as the
// trainer records them with record.eval_at_checkpoints) converge to the final routing at step 30:
// the report's `router_saturation` rises to 1 at step 30, with the chance level 1 / C(4, 2), and
// the checkpoint splits are not mixed into the run's analysed splits.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>

#include "common/base/status_macros.h"
#include "monoroute/analysis/v1/analysis.grpc.pb.h"
#include "services/recorder/recorder_client.h"
#include "tests/testing/services.h"
#include "tests/testing/temp_files.h"

namespace monoroute::analysis {
namespace {

namespace fs = std::filesystem;
using testing::ServiceProcess;
using testing::TempDir;

constexpr int kSeqs = 64, kLen = 32;

// Writes run `run_id` (layer 0, 4 pathways, top-2): "valid" with the final sets, and per
// checkpoint step the share of events already on their final set (the rest random).
absl::Status WriteRun(const std::string& address, const std::string& run_id,
                      const std::map<int64_t, double>& converged) {
  recorder::RecorderWriterOptions wo;
  wo.address = address;
  wo.writer_id = "saturation-test";
  ASSIGN_OR_RETURN(std::unique_ptr<recorder::RecorderWriter> writer,
                   recorder::RecorderWriter::Create(wo));
  recorder::RunSpecLite spec;
  spec.set_run_id(run_id);
  spec.add_routed_layers(0);
  spec.set_num_pathways(4);
  spec.set_top_k(2);
  spec.set_vocab_size(50257);
  spec.set_step_bucket(10);
  spec.set_store_raw_events(true);
  RETURN_IF_ERROR(writer->CreateRun(spec));
  std::mt19937_64 rng(5);
  auto random_set = [&]() {
    std::vector<uint32_t> all = {0, 1, 2, 3};
    std::shuffle(all.begin(), all.end(), rng);
    return std::vector<uint32_t>{all[0], all[1]};
  };
  std::vector<std::vector<uint32_t>> final_sets;
  for (int e = 0; e < kSeqs * kLen; ++e) final_sets.push_back(random_set());
  std::map<std::string, std::pair<int64_t, double>> splits = {{"valid", {40, 1.0}}};
  for (const auto& [step, share] : converged)
    splits["eval@step" + std::to_string(step)] = {step, share};
  uint64_t id = 0;
  std::uniform_real_distribution<double> u(0, 1);
  for (const auto& [split, step_share] : splits) {
    events::RoutingEventBatch b;
    b.header.run_id = run_id;
    b.header.batch_id = id++;
    b.header.split = split;
    b.header.step = static_cast<uint64_t>(step_share.first);
    b.header.layer = 0;
    b.header.top_k = 2;
    for (int e = 0; e < kSeqs * kLen; ++e) {
      b.sequence_id.push_back(static_cast<uint64_t>(e / kLen));
      b.position.push_back(static_cast<uint32_t>(e % kLen));
      b.token_id.push_back(static_cast<uint32_t>(100 + e % 50));
      b.next_token_id.push_back(static_cast<uint32_t>(100 + (e + 1) % 50));
      const auto set = u(rng) < step_share.second ? final_sets[e] : random_set();
      for (uint32_t p : set) {
        b.pathways.push_back(p);
        b.weights.push_back(0.5f);
      }
    }
    writer->Append(b.view());
  }
  RETURN_IF_ERROR(writer->Flush(std::chrono::seconds(60)));
  return writer->FinishRun(run_id, std::chrono::seconds(10));
}

TEST(RouterSaturationService, ReportShowsSaturationRisingToOne) {
  for (const char* b : {"monoroute-recorder", "monoroute-analysis"}) {
    if (!fs::exists(std::string(MONOROUTE_BIN_DIR) + "/" + b)) {
      GTEST_SKIP() << "needs " << b << " in " << MONOROUTE_BIN_DIR;
    }
  }
  TempDir dir("monoroute_saturation_service");
  ServiceProcess rec, ana;
  auto rports =
      testing::StartService(&rec, std::string(MONOROUTE_BIN_DIR) + "/monoroute-recorder",
                            {"--data-dir", dir.Sub("db")}, dir.Sub("recorder.log"), false);
  ASSERT_TRUE(rports.ok()) << rports.status();
  const std::map<int64_t, double> converged = {{10, 0.2}, {20, 0.6}, {30, 1.0}, {40, 1.0}};
  ASSERT_TRUE(WriteRun(rports->address(), "converging", converged).ok());
  auto aports = testing::StartService(&ana, std::string(MONOROUTE_BIN_DIR) + "/monoroute-analysis",
                                      {"--recorder", rports->address(), "--threads", "2"},
                                      dir.Sub("analysis.log"), false);
  ASSERT_TRUE(aports.ok()) << aports.status();
  auto stub = v1::Analysis::NewStub(
      grpc::CreateChannel(aports->address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  v1::ReportRequest req;
  req.set_run_id("converging");
  req.mutable_options()->set_bootstrap(100);
  req.mutable_options()->set_skip_png(true);
  v1::ReportResponse resp;
  grpc::Status s = stub->ComputeReport(&ctx, req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const nlohmann::json j = nlohmann::json::parse(resp.json());
  // The checkpoint evaluations are not analysed as data.
  EXPECT_EQ(j["run"]["splits_read"], nlohmann::json::array({"valid"}));
  const auto& sat = j["router_saturation"];
  ASSERT_EQ(sat.size(), 4u) << sat.dump();
  const double chance = 1.0 / 6;
  for (const auto& point : sat) {
    const int64_t step = point["step"].get<int64_t>();
    ASSERT_EQ(point["layers"].size(), 1u);
    const auto& L = point["layers"][0];
    EXPECT_EQ(L["layer"], 0);
    EXPECT_EQ(L["events"], kSeqs * kLen);
    EXPECT_NEAR(L["chance"].get<double>(), chance, 1e-12);
    const double share = converged.at(step);
    const double want = share + (1 - share) * chance;
    EXPECT_LE(L["ci"][0].get<double>(), want) << step;
    EXPECT_GE(L["ci"][1].get<double>(), want) << step;
    if (step >= 30) EXPECT_EQ(L["saturation"], 1.0) << step;
    if (step < 30) EXPECT_LT(L["saturation"].get<double>(), 0.9) << step;
  }
  // The same points travel in the response message (report_fields.h drives both).
  ASSERT_EQ(resp.router_saturation_size(), 4);
  for (int i = 0; i < 4; ++i) {
    const v1::SaturationPoint& p = resp.router_saturation(i);
    EXPECT_EQ(p.step(), sat[i]["step"].get<int64_t>());
    ASSERT_EQ(p.layers_size(), 1);
    EXPECT_EQ(p.layers(0).saturation(), sat[i]["layers"][0]["saturation"].get<double>());
    EXPECT_EQ(p.layers(0).ci().low(), sat[i]["layers"][0]["ci"][0].get<double>());
    EXPECT_EQ(p.layers(0).events(), sat[i]["layers"][0]["events"].get<uint64_t>());
  }
}

}  // namespace
}  // namespace monoroute::analysis
