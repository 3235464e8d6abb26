// Integration test: a real monoroute-recorder (tests/testing child process, port 0, temp dir) and
// the Analysis service on loopback. Synthetic events with planted specialisation (pathway 3 only
// ever sees "animal" tokens) must be found (token and category tests, and against a token-blind
// control split recorded on the same sequences); a run with random routing must show none; the
// same at 256 pathways, top-8 (four-word masks). Also: caching, freshness, CompareRuns, and the
// error codes.
#include "services/analysis/analysis_service.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "monoroute/analysis/v1/analysis.grpc.pb.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"
#include "services/analysis/synthetic_routing.h"
#include "services/analysis/vocab_resources.h"
#include "services/recorder/recorder_client.h"
#include "tests/services/analysis/analysis_test_util.h"
#include "tests/testing/grpc_call.h"
#include "tests/testing/services.h"

namespace monoroute::analysis {
namespace {

namespace fs = std::filesystem;
using ::monoroute::testing::Call;
using ::monoroute::testing::GrpcStatusIs;
using ::testing::HasSubstr;
using v1::Analysis;

// A LayerRequest of layer `layer` of `run`.
v1::LayerRequest LayerOf(const std::string& run, uint32_t layer) {
  v1::LayerRequest req;
  req.set_run_id(run);
  req.set_layer(layer);
  return req;
}

// A PathwayRequest of pathway `pathway` of layer `layer` of `run`.
v1::PathwayRequest PathwayOf(const std::string& run, uint32_t layer, uint32_t pathway) {
  v1::PathwayRequest req;
  req.set_run_id(run);
  req.set_layer(layer);
  req.set_pathway(pathway);
  return req;
}

// A run spec of `layers` routed layers, `pathways` pathways, top-`top_k`, raw events stored.
recorder::RunSpecLite Spec(const std::string& run, const std::vector<uint32_t>& layers,
                           uint32_t pathways, uint32_t top_k) {
  recorder::RunSpecLite spec;
  spec.set_run_id(run);
  for (uint32_t l : layers) spec.add_routed_layers(l);
  spec.set_num_pathways(pathways);
  spec.set_top_k(top_k);
  spec.set_vocab_size(50257);
  spec.set_step_bucket(10);
  spec.set_store_raw_events(true);
  return spec;
}

// Appends synthetic events `e` (top-`top_k`) to `run` as batches of 10,000 events
// of layer 0, split "valid", step 100.
void AppendSynthetic(recorder::RecorderWriter* writer, const std::string& run,
                     const SyntheticEvents& e, uint32_t top_k) {
  const size_t n = e.token_id.size(), kBatch = 10000;
  for (size_t lo = 0; lo < n; lo += kBatch) {
    events::RoutingEventBatch b;
    b.header.run_id = run;
    b.header.batch_id = lo / kBatch;
    b.header.split = "valid";
    b.header.step = 100;
    b.header.layer = 0;
    b.header.top_k = top_k;
    events::AppendEvents(events::ViewOf(e), lo, std::min(n, lo + kBatch), top_k, &b);
    writer->Append(b.view());
  }
}

class AnalysisServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir("monoroute_analysis_test");
    recorder_ = new testing::ServiceProcess();
    auto ports =
        testing::StartService(recorder_, std::string(MONOROUTE_BIN_DIR) + "/monoroute-recorder",
                              {"--data-dir", dir_->Sub("db")}, dir_->Sub("recorder.log"),
                              /*health=*/false);
    if (!ports.ok()) {
      create_error_ = new std::string("recorder did not start: " + ports.status().ToString());
      return;
    }
    recorder_address_ = new std::string(ports->address());
    AnalysisServiceOptions opts;
    opts.recorder.address = *recorder_address_;
    opts.lexicon_path = std::string(MONOROUTE_SOURCE_DIR) + "/data/lexicon";
    opts.threads = 2;
    registry_ = new std::shared_ptr<prometheus::Registry>(std::make_shared<prometheus::Registry>());
    auto svc = AnalysisServiceImpl::Create(opts, *registry_);
    if (!svc.ok()) {
      create_error_ = new std::string(svc.status().ToString());
      return;
    }
    service_ = svc->release();
    grpc::ServerBuilder b;
    int port = 0;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    b.SetMaxSendMessageSize(64 << 20);
    b.RegisterService(service_);
    server_ = b.BuildAndStart().release();
    channel_ = new std::shared_ptr<grpc::Channel>(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
    WriteRuns();
  }
  static void TearDownTestSuite() {
    if (server_) server_->Shutdown();
    delete server_;
    delete service_;
    delete recorder_;
    delete dir_;
  }
  void SetUp() override {
    if (!fs::exists(std::string(MONOROUTE_BIN_DIR) + "/monoroute-recorder")) {
      GTEST_SKIP() << "needs the monoroute-recorder binary in " << MONOROUTE_BIN_DIR;
    }
    ASSERT_EQ(create_error_, nullptr) << *create_error_;
  }

  // Writes "planted", "random" (both 2 routed layers, 16 pathways, top-4) and "empty".
  static void WriteRuns() {
    auto vocab = LoadVocabResources("", std::string(MONOROUTE_SOURCE_DIR) + "/data/lexicon");
    if (!vocab.ok() || !vocab->categories) {
      create_error_ = new std::string("vocab: " + vocab.status().ToString());
      return;
    }
    const CategoryMap& cats = *vocab->categories;
    const int animal = static_cast<int>(std::find(cats.names.begin(), cats.names.end(), "animal") -
                                        cats.names.begin());
    std::vector<uint32_t> animals, others;
    for (uint32_t t = 0; t < cats.category_of_token.size(); ++t) {
      const int c = cats.category_of_token[t];
      if (c == animal && animals.size() < 40)
        animals.push_back(t);
      else if (c >= 0 && c != animal && others.size() < 400)
        others.push_back(t);
    }
    if (animals.size() < 10 || others.size() < 100) {
      create_error_ = new std::string("lexicon maps too few tokens");
      return;
    }
    recorder::RecorderWriterOptions wo;
    wo.address = *recorder_address_;
    wo.writer_id = "analysis-test";
    auto writer = recorder::RecorderWriter::Create(wo);
    if (!writer.ok()) {
      create_error_ = new std::string(writer.status().ToString());
      return;
    }
    std::mt19937_64 rng(17);
    for (const std::string run : {"planted", "random", "empty"}) {
      absl::Status s = (*writer)->CreateRun(Spec(run, {0, 2}, 16, 4));
      if (!s.ok()) {
        create_error_ = new std::string(s.ToString());
        return;
      }
      if (run == "empty") continue;
      const bool planted = run == "planted";
      // 16 train batches, 4 valid batches, and for "planted" the same 4 valid batches' sequences
      // again under the control split, routed at random (a token-blind "fresh router").
      const uint64_t batches = planted ? 24 : 20;
      for (uint64_t batch = 0; batch < batches; ++batch) {
        const bool control = batch >= 20;
        // One batch per routed layer (a batch is one step and one layer): ids batch * 2 + li.
        events::RoutingEventBatch per_layer[2];
        for (int li = 0; li < 2; ++li) {
          events::RoutingEventHeader& h = per_layer[li].header;
          h.run_id = run;
          h.batch_id = batch * 2 + li;
          h.split = control ? "valid/fresh_routers" : batch >= 16 ? "valid" : "train";
          h.step = control ? 95 : batch * 5;
          h.layer = static_cast<uint32_t>(2 * li);
          h.top_k = 4;
        }
        for (int e = 0; e < 2000; ++e) {
          const bool is_animal = rng() % 10 == 0;
          const uint32_t tok =
              is_animal ? animals[rng() % animals.size()] : others[rng() % others.size()];
          for (uint32_t layer : {0u, 2u}) {
            std::vector<uint32_t> perm(16);
            for (uint32_t p = 0; p < 16; ++p) perm[p] = p;
            std::vector<uint32_t> chosen;
            const bool plant = planted && !control;
            if (plant && is_animal) chosen.push_back(3);
            for (uint32_t k = 0; chosen.size() < 4; ++k) {
              std::swap(perm[k], perm[k + rng() % (16 - k)]);
              if (plant && perm[k] == 3) continue;  // only animals reach pathway 3
              chosen.push_back(perm[k]);
            }
            events::RoutingEventBatch& b = per_layer[layer / 2];
            // 32 sequences of 62-63 events per batch; valid and control batches share ids.
            const uint64_t seq_batch = control ? batch - 4 : batch;
            b.sequence_id.push_back(seq_batch * 1000 + static_cast<uint64_t>(e % 32));
            b.position.push_back(static_cast<uint32_t>(e / 32));
            b.token_id.push_back(tok);
            b.next_token_id.push_back(tok);
            for (uint32_t p : chosen) {
              b.pathways.push_back(p);
              b.weights.push_back(0.25f);
            }
          }
        }
        for (const events::RoutingEventBatch& b : per_layer) (*writer)->Append(b.view());
      }
    }
    WritePreviousTokenRun(writer->get());
    WriteWideRun(writer->get(), "wide", 0.6);
    WriteWideRun(writer->get(), "wide_random", 0.0);
    WriteStructuredRun(writer->get());
    absl::Status s = (*writer)->Flush(std::chrono::seconds(60));
    if (!s.ok()) create_error_ = new std::string("flush: " + s.ToString());
  }

  // "prevtoken": bigram text routed by the previous token (known truth), split "valid".
  static void WritePreviousTokenRun(recorder::RecorderWriter* writer) {
    SyntheticRoutingOptions so = BigramText();
    so.route_by = SyntheticRouteBy::kPreviousToken;
    WriteSyntheticRun(writer, Spec("prevtoken", {0}, 16, 4), so);
  }

  // The options of a wide run: 256 pathways, top-8, routed by the current token with probability
  // `token_preference` (known truth: each token's preferred 8-set).
  static SyntheticRoutingOptions WideOptions(double token_preference) {
    SyntheticRoutingOptions so;
    so.events = 60000;
    so.seq_len = 64;
    so.vocab = 500;
    so.num_pathways = kWidePathways;
    so.top_k = kWideTopK;
    so.token_preference = token_preference;
    return so;
  }
  static constexpr uint32_t kWidePathways = 256, kWideTopK = 8;

  // A run of one routed layer, split "valid", from WideOptions(token_preference).
  static void WriteWideRun(recorder::RecorderWriter* writer, const std::string& run,
                           double token_preference) {
    WriteSyntheticRun(writer, Spec(run, {0}, kWidePathways, kWideTopK),
                      WideOptions(token_preference));
  }

  // Creates run `spec` and appends the synthetic events of `so` to it (errors in create_error_).
  static void WriteSyntheticRun(recorder::RecorderWriter* writer, const recorder::RunSpecLite& spec,
                                const SyntheticRoutingOptions& so) {
    if (absl::Status s = writer->CreateRun(spec); !s.ok()) {
      create_error_ = new std::string(s.ToString());
      return;
    }
    absl::StatusOr<SyntheticEvents> e = GenerateSyntheticEvents(so);
    if (!e.ok()) {
      create_error_ = new std::string(e.status().ToString());
      return;
    }
    AppendSynthetic(writer, spec.run_id(), *e, spec.top_k());
  }

  // "structured" (routed layers 0 and 2, 16 pathways, top-4, split "valid"): in layer 0 a token
  // keeps the previous token's set with probability 0.7 (locality) and pathways 1 and 2 are
  // only ever selected together (co-activation); layer 2 routes each token to its layer-0 set
  // shifted by 3 (cross-layer copying).
  static void WriteStructuredRun(recorder::RecorderWriter* writer) {
    if (absl::Status s = writer->CreateRun(Spec("structured", {0, 2}, 16, 4)); !s.ok()) {
      create_error_ = new std::string(s.ToString());
      return;
    }
    std::mt19937_64 rng(23);
    auto fresh = [&]() {
      std::vector<uint32_t> set;
      if (rng() % 8 == 0) set = {1, 2};
      while (set.size() < 4) {
        const uint32_t p = 3 + static_cast<uint32_t>(rng() % 13);
        if (std::find(set.begin(), set.end(), p) == set.end()) set.push_back(p);
      }
      return set;
    };
    for (uint64_t batch = 0; batch < 4; ++batch) {
      events::RoutingEventBatch per_layer[2];
      for (int li = 0; li < 2; ++li) {
        per_layer[li].header.run_id = "structured";
        per_layer[li].header.batch_id = batch * 2 + li;
        per_layer[li].header.split = "valid";
        per_layer[li].header.step = 100;
        per_layer[li].header.layer = static_cast<uint32_t>(2 * li);
        per_layer[li].header.top_k = 4;
      }
      for (uint64_t seq = 0; seq < 50; ++seq) {
        std::vector<uint32_t> set;
        for (uint32_t pos = 0; pos < 64; ++pos) {
          if (pos == 0 || rng() % 10 >= 7) set = fresh();
          const uint32_t tok = static_cast<uint32_t>(100 + rng() % 200);
          for (int li = 0; li < 2; ++li) {
            events::RoutingEventBatch& b = per_layer[li];
            b.sequence_id.push_back(batch * 1000 + seq);
            b.position.push_back(pos);
            b.token_id.push_back(tok);
            b.next_token_id.push_back(tok);
            for (uint32_t p : set) {
              b.pathways.push_back(li == 0 ? p : (p + 3) % 16);
              b.weights.push_back(0.25f);
            }
          }
        }
      }
      for (const events::RoutingEventBatch& b : per_layer) writer->Append(b.view());
    }
  }

  static grpc::Status Report(const std::string& run, v1::ReportResponse* resp,
                             const std::string& baseline = "", const std::string& split = "") {
    v1::ReportRequest req;
    req.set_run_id(run);
    req.set_baseline_run_id(baseline);
    req.mutable_selection()->set_split(split);
    req.mutable_options()->set_bootstrap(50);
    req.mutable_options()->set_category_permutations(199);
    return Call(Analysis::NewStub(*channel_).get(), &Analysis::Stub::ComputeReport, req, resp);
  }

  // Report() of `run` on `split` ("": all but the control split) that must succeed: the response
  // in `resp`, its JSON document in `j`.
  // When `layers` is not 0, asserts that the report has that many layers.
  static void ReportJson(const std::string& run, const std::string& split, v1::ReportResponse* resp,
                         nlohmann::json* j, size_t layers = 0) {
    grpc::Status s = Report(run, resp, "", split);
    ASSERT_TRUE(s.ok()) << s.error_message();
    *j = nlohmann::json::parse(resp->json());
    if (layers != 0) ASSERT_EQ((*j)["layers"].size(), layers);
  }

  static testing::TempDir* dir_;
  static testing::ServiceProcess* recorder_;
  static std::string* recorder_address_;
  static std::shared_ptr<prometheus::Registry>* registry_;
  static AnalysisServiceImpl* service_;
  static grpc::Server* server_;
  static std::shared_ptr<grpc::Channel>* channel_;
  static std::string* create_error_;
};

testing::TempDir* AnalysisServiceTest::dir_ = nullptr;
testing::ServiceProcess* AnalysisServiceTest::recorder_ = nullptr;
std::string* AnalysisServiceTest::recorder_address_ = nullptr;
std::shared_ptr<prometheus::Registry>* AnalysisServiceTest::registry_ = nullptr;
AnalysisServiceImpl* AnalysisServiceTest::service_ = nullptr;
grpc::Server* AnalysisServiceTest::server_ = nullptr;
std::shared_ptr<grpc::Channel>* AnalysisServiceTest::channel_ = nullptr;
std::string* AnalysisServiceTest::create_error_ = nullptr;

TEST_F(AnalysisServiceTest, FindsPlantedAnimalPathway) {
  v1::ReportResponse resp;
  nlohmann::json j;
  ASSERT_NO_FATAL_FAILURE(ReportJson("planted", "", &resp, &j));
  EXPECT_EQ(resp.png().substr(0, 4), "\x89PNG");
  EXPECT_EQ(resp.freshness().events(), 96000u);
  // All splits except the control split.
  EXPECT_EQ(j["run"]["splits_read"], nlohmann::json::array({"train", "valid"}));
  ASSERT_EQ(j["layers"].size(), 2u);
  for (const auto& L : j["layers"]) {
    EXPECT_EQ(L["events"], 40000u);
    const auto& p3 = L["pathways"][3];
    EXPECT_DOUBLE_EQ(p3["categories"][0]["share"].get<double>(), 1.0);
    EXPECT_EQ(p3["categories"][0]["category"], "animal");
    EXPECT_EQ(p3["category"], "animal");
    EXPECT_TRUE(p3["category_specialised"].get<bool>())
        << p3["category_p_value"] << " " << p3["category_q_value"] << " " << p3["enrichment"];
    EXPECT_TRUE(p3["specialised_vs_null"].get<bool>());
    EXPECT_EQ(p3["routing_source"], "current_token");
    EXPECT_FALSE(p3["top_tokens"][0]["token"].get<std::string>().empty());
    EXPECT_EQ(L["specialised_vs_null_pathways"], 1);
    EXPECT_EQ(L["category_specialised_pathways"], 1);
    EXPECT_GT(L["category_ami"]["ci"][0].get<double>(), 0.0);
    // `specialised` needs the fresh-router control, recorded next to a named split only.
    EXPECT_EQ(L["specialised_pathways"], 0);
    EXPECT_EQ(L["specialised_reference"], "none");
  }
  EXPECT_GE(j["over_training"].size(), 2u);
}

TEST_F(AnalysisServiceTest, ComparesWithTheControlOnTheSameSequences) {
  v1::ReportResponse resp;
  nlohmann::json j;
  ASSERT_NO_FATAL_FAILURE(ReportJson("planted", "valid", &resp, &j));
  for (const auto& L : j["layers"]) {
    EXPECT_EQ(L["events"], 8000u);
    ASSERT_EQ(L["controls"].size(), 3u);  // recorded, then the two synthetic controls
    const auto& c = L["controls"][0];
    EXPECT_EQ(c["control"], "fresh_routers");
    EXPECT_EQ(c["split"], "valid/fresh_routers");
    EXPECT_EQ(c["events"], 8000u);
    EXPECT_EQ(c["events_used"], L["events_used"]);
    EXPECT_GT(c["mi_delta"]["ci"][0].get<double>(), 0.0);
    EXPECT_EQ(L["controls"][1]["control"], "hash_current_token");
    EXPECT_EQ(L["specialised_reference"], "fresh_routers");
    EXPECT_TRUE(L["pathways"][3]["specialised_vs_control"].get<bool>());
    EXPECT_TRUE(L["pathways"][3]["specialised"].get<bool>());
  }
  // The summary's layer messages carry the same comparison.
  ASSERT_EQ(resp.layers_size(), 2);
  ASSERT_EQ(resp.layers(0).controls_size(), 3);
  EXPECT_GT(resp.layers(0).controls(0).mi_delta().ci().low(), 0.0);
}

TEST_F(AnalysisServiceTest, RandomRoutingShowsNothing) {
  v1::ReportResponse resp;
  nlohmann::json j;
  ASSERT_NO_FATAL_FAILURE(ReportJson("random", "", &resp, &j));
  EXPECT_EQ(j["summary"]["specialised_pathways"], 0);
  EXPECT_EQ(j["summary"]["category_specialised_pathways"], 0);
  for (const auto& L : j["layers"]) {
    for (const auto& p : L["pathways"]) {
      EXPECT_FALSE(p["specialised"].get<bool>()) << p["pathway"];
      EXPECT_LT(p["kl"]["excess"].get<double>(), 0.05) << p["pathway"];
    }
    EXPECT_LE(L["mi"]["ci"][0].get<double>(), 0.0);
    EXPECT_EQ(L["routing_source"], "none");
    EXPECT_NEAR(L["token_specialisation"]["observed"].get<double>(),
                L["token_specialisation"]["null_mean"].get<double>(), 0.02);
    EXPECT_DOUBLE_EQ(L["utilisation"].get<double>(), 1.0);
  }
}

TEST_F(AnalysisServiceTest, PreviousTokenRoutingIsAttributedThroughTheService) {
  v1::ReportResponse resp;
  nlohmann::json j;
  ASSERT_NO_FATAL_FAILURE(ReportJson("prevtoken", "valid", &resp, &j, 1));
  const auto& L = j["layers"][0];
  EXPECT_EQ(L["routing_source"], "previous_token");
  const auto& cgp = L["current_given_previous"]["ci"];
  EXPECT_LE(cgp[0].get<double>(), 0.0);
  EXPECT_GE(cgp[1].get<double>(), 0.0);
  EXPECT_GT(L["mi"]["ci"][0].get<double>(), 0.05);  // what a token-only report would claim
  // The synthetic controls on the same text: hash of the previous token is attributed alike.
  ASSERT_EQ(L["controls"].size(), 2u);
  EXPECT_EQ(L["controls"][0]["routing_source"], "current_token");
  EXPECT_EQ(L["controls"][1]["routing_source"], "previous_token");
  EXPECT_NE(j["summary"]["answers"][0].get<std::string>().find("responds to the previous token"),
            std::string::npos)
      << j["summary"]["answers"][0];
  ASSERT_EQ(resp.layers_size(), 1);
  EXPECT_EQ(resp.layers(0).routing_source(), "previous_token");
}

TEST_F(AnalysisServiceTest, PlantedRoutingAt256PathwaysIsFoundAndNamed) {
  v1::ReportResponse resp;
  nlohmann::json j;
  ASSERT_NO_FATAL_FAILURE(ReportJson("wide", "valid", &resp, &j, 1));
  const auto& L = j["layers"][0];
  EXPECT_EQ(L["num_pathways"], kWidePathways);
  EXPECT_EQ(L["top_k"], kWideTopK);
  ASSERT_EQ(L["pathways"].size(), kWidePathways);
  EXPECT_EQ(L["routing_source"], "current_token");
  EXPECT_GT(L["mi"]["ci"][0].get<double>(), 0.1);
  // A flagged pathway beyond 64 is in the preferred set of its top token (the planted truth).
  const SyntheticRoutingOptions so = WideOptions(0.6);
  int named = 0;
  for (uint32_t p = 64; p < kWidePathways; ++p) {
    const auto& pj = L["pathways"][p];
    EXPECT_EQ(pj["pathway"], p);
    if (!pj["specialised_vs_null"].get<bool>()) continue;
    const uint32_t top = pj["top_tokens"][0]["token_id"].get<uint32_t>();
    const std::vector<uint32_t> set =
        SyntheticPreferredSet(so.model_seed, top, kWidePathways, kWideTopK);
    EXPECT_NE(std::find(set.begin(), set.end(), p), set.end())
        << "pathway " << p << " token " << top;
    ++named;
  }
  EXPECT_GE(named, 75);
  // The null run: nothing.
  v1::ReportResponse null_resp;
  nlohmann::json nj;
  ASSERT_NO_FATAL_FAILURE(ReportJson("wide_random", "valid", &null_resp, &nj));
  const auto& N = nj["layers"][0];
  EXPECT_EQ(N["routing_source"], "none");
  EXPECT_EQ(N["specialised_vs_null_pathways"], 0);
  EXPECT_LE(N["mi"]["ci"][0].get<double>(), 0.0);
}

// Co-activation, locality and cross-layer consistency through the service: found where planted
// ("structured"), not in random routing ("random"); JSON and proto agree.
TEST_F(AnalysisServiceTest, RoutingStructureIsFoundWherePlantedOnly) {
  auto covers0 = [](const nlohmann::json& e) {
    return e["ci"][0].get<double>() <= 0.0 && e["ci"][1].get<double>() >= 0.0;
  };
  v1::ReportResponse resp;
  nlohmann::json j;
  ASSERT_NO_FATAL_FAILURE(ReportJson("structured", "valid", &resp, &j, 2));
  const auto& L0 = j["layers"][0];
  EXPECT_GT(L0["coactivation"]["ci"][0].get<double>(), 0.0) << L0["coactivation"];
  EXPECT_GT(L0["locality"]["ci"][0].get<double>(), 0.2) << L0["locality"];
  EXPECT_EQ(L0["next_routed_layer"], 2);
  EXPECT_EQ(L0["cross_layer_tokens"], 12800);
  EXPECT_GT(L0["cross_layer_mi"]["ci"][0].get<double>(), 0.1) << L0["cross_layer_mi"];
  bool found = false;
  for (const auto& pair : L0["coactivation_pairs"]) {
    if (pair["pathway_a"] != 1 || pair["pathway_b"] != 2) continue;
    found = true;
    EXPECT_GT(pair["lift"]["ci"][0].get<double>(), 1.0) << pair;
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(j["layers"][1]["cross_layer_tokens"], 0);  // no routed layer after 2
  ASSERT_EQ(resp.layers_size(), 2);
  EXPECT_EQ(resp.layers(0).next_routed_layer(), 2u);
  EXPECT_DOUBLE_EQ(resp.layers(0).locality().excess(), L0["locality"]["excess"].get<double>());
  EXPECT_EQ(resp.layers(0).coactivation_pairs_size(),
            static_cast<int>(L0["coactivation_pairs"].size()));

  v1::ReportResponse random;
  nlohmann::json r;
  ASSERT_NO_FATAL_FAILURE(ReportJson("random", "", &random, &r));
  for (const auto& L : r["layers"]) {
    EXPECT_TRUE(covers0(L["coactivation"])) << L["layer"] << L["coactivation"];
    EXPECT_TRUE(covers0(L["locality"])) << L["layer"] << L["locality"];
  }
  EXPECT_TRUE(covers0(r["layers"][0]["cross_layer_mi"])) << r["layers"][0]["cross_layer_mi"];
}

TEST_F(AnalysisServiceTest, TooMuchWorkIsRefusedBeforeReading) {
  v1::ReportRequest req;
  req.set_run_id("planted");
  req.mutable_options()->set_max_report_events(1000);
  EXPECT_THAT(Call(Analysis::NewStub(*channel_).get(), &Analysis::Stub::ComputeReport, req),
              GrpcStatusIs(grpc::StatusCode::RESOURCE_EXHAUSTED,
                           ::testing::AllOf(HasSubstr("80000 events"), HasSubstr("--split"))));
}

TEST_F(AnalysisServiceTest, CachesPerWatermarkAndCountsMetrics) {
  v1::ReportResponse a, b;
  ASSERT_TRUE(Report("random", &a).ok());
  ASSERT_TRUE(Report("random", &b).ok());
  EXPECT_TRUE(b.freshness().cached());
  EXPECT_EQ(a.json(), b.json());
  // Freshness: still_writing iff not finished and the last write is under a minute old.
  EXPECT_FALSE(b.freshness().finished());
  const int64_t age_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count() -
                         b.freshness().last_write_unix_ms();
  EXPECT_GT(b.freshness().last_write_unix_ms(), 0);
  if (age_ms < 50000) EXPECT_TRUE(b.freshness().still_writing());
  if (age_ms > 70000) EXPECT_FALSE(b.freshness().still_writing());
  const std::string text = prometheus::TextSerializer().Serialize((*registry_)->Collect());
  EXPECT_NE(text.find("monoroute_analysis_reports_total"), std::string::npos);
  EXPECT_NE(text.find("monoroute_analysis_cache_hits_total"), std::string::npos);
  EXPECT_NE(text.find("monoroute_analysis_compute_seconds_bucket"), std::string::npos);
}

TEST_F(AnalysisServiceTest, CompareRunsAndLayerAndPathway) {
  auto stub = Analysis::NewStub(*channel_);
  {
    v1::CompareRunsRequest req;
    req.set_run_id("planted");
    req.set_baseline_run_id("random");
    v1::CompareRunsResponse resp;
    ASSERT_TRUE(Call(stub.get(), &Analysis::Stub::CompareRuns, req, &resp).ok());
    ASSERT_EQ(resp.layers_size(), 2);
    EXPECT_GT(resp.layers(0).run().category_nmi(), resp.layers(0).baseline().category_nmi());
    EXPECT_EQ(resp.layers(0).comparison().control(), "baseline");
    EXPECT_GT(resp.layers(0).comparison().mi_delta().ci().low(), 0.0);
    EXPECT_FALSE(resp.json().empty());
  }
  {
    v1::PathwayResponse resp;
    ASSERT_TRUE(
        Call(stub.get(), &Analysis::Stub::GetPathway, PathwayOf("planted", 2, 3), &resp).ok());
    EXPECT_EQ(resp.pathway().layer(), 2u);
    ASSERT_GT(resp.pathway().categories_size(), 0);
    EXPECT_DOUBLE_EQ(resp.pathway().categories(0).share(), 1.0);
  }
  {
    v1::LayerRequest req = LayerOf("planted", 0);
    req.mutable_selection()->set_max_step(40);  // a step range: fewer events
    v1::LayerResponse resp;
    ASSERT_TRUE(Call(stub.get(), &Analysis::Stub::GetLayer, req, &resp).ok());
    EXPECT_EQ(resp.pathways_size(), 16);
    EXPECT_LT(resp.summary().events(), 40000u);  // steps 0..40: train batches 0..8
    EXPECT_GT(resp.summary().events(), 0u);
  }
}

TEST_F(AnalysisServiceTest, BadInputGetsPreciseCodes) {
  auto stub = Analysis::NewStub(*channel_);
  v1::ReportResponse r;
  EXPECT_EQ(Report("no-such-run", &r).error_code(), grpc::StatusCode::NOT_FOUND);
  grpc::Status empty = Report("empty", &r);
  EXPECT_EQ(empty.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << empty.error_message();
  EXPECT_THAT(Call(stub.get(), &Analysis::Stub::GetLayer, LayerOf("planted", 1)),
              GrpcStatusIs(grpc::StatusCode::OUT_OF_RANGE, HasSubstr("routed layers: 0,2")));
  EXPECT_THAT(Call(stub.get(), &Analysis::Stub::GetPathway, PathwayOf("planted", 0, 16)),
              GrpcStatusIs(grpc::StatusCode::OUT_OF_RANGE, ::testing::_));
  v1::ReportRequest req;
  req.set_run_id("planted");
  req.mutable_options()->set_top_tokens(5000);
  EXPECT_THAT(Call(stub.get(), &Analysis::Stub::ComputeReport, req),
              GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT, ::testing::_));
}

TEST(VocabResourcesTest, MalformedLexiconNamesFileAndLine) {
  testing::TempDir dir("bad_lexicon");
  const std::string path = dir.Sub("lexicon.tsv");
  std::ofstream(path) << "dog\tanimal\ncat animal\n";
  auto r = LoadVocabResources("", path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find(path), std::string::npos) << r.status();
  EXPECT_NE(r.status().message().find("2"), std::string::npos) << r.status();
  fs::remove(path);
  AnalysisServiceOptions opts;
  opts.lexicon_path = path;  // now missing
  auto svc = AnalysisServiceImpl::Create(opts, std::make_shared<prometheus::Registry>());
  EXPECT_EQ(svc.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace monoroute::analysis
