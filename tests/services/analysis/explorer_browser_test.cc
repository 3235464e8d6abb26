// The explorer end to end in a real browser (Debian's chromium, headless): a recorder child, a
// run with a planted pathway (layer 0 pathway 5 selected with gate 0.9 on " dragon" in known
// sentences), monoroute-analysis with --http-listen. Checks: the pathway page shows those
// sentences with " dragon" highlighted; /try routes text through a routed checkpoint (needs
// ../shared/models); no page logs a console message; a screenshot of each page type is not blank;
// with a token every page answers 401 until the login form sets the session cookie; the overview
// shows the routing structure and the pathway page the controlled ablation `monoroute ablate
// --save` stored beside the run's checkpoint. The same on the static export (`monoroute
// explore`) opened from disk. Skips without chromium.
#include <cairo.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/model/checkpoint.h"
#include "common/tokenizer/gpt2_tokenizer.h"
#include "services/recorder/recorder_client.h"
#include "tests/testing/command.h"
#include "tests/testing/http.h"
#include "tests/testing/process.h"
#include "tests/testing/services.h"
#include "tests/testing/temp_files.h"

namespace monoroute {
namespace {

namespace fs = std::filesystem;
using testing::HttpRequest;
using testing::HttpResponse;
using testing::RunCommandSplit;
using testing::ServiceProcess;
using testing::TempDir;

const char* const kSentences[] = {
    "Once upon a time a dragon lived in a cave near the village.",
    "The little girl was not afraid of the dragon because it was kind.",
    "Every morning the dragon flew over the hills to find apples.",
    "Tom said the dragon could breathe fire, but it only sneezed.",
};
constexpr const char* kChromium = "/usr/bin/chromium";

// Distinct colours in a PNG (0 when it cannot be read): a blank page has 1.
size_t DistinctColours(const std::string& png) {
  cairo_surface_t* s = cairo_image_surface_create_from_png(png.c_str());
  if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
    cairo_surface_destroy(s);
    return 0;
  }
  cairo_surface_flush(s);
  std::set<uint32_t> colours;
  const int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s);
  const int stride = cairo_image_surface_get_stride(s);
  const unsigned char* data = cairo_image_surface_get_data(s);
  for (int y = 0; y < h && colours.size() < 64; y += 3) {
    const uint32_t* row = reinterpret_cast<const uint32_t*>(data + y * stride);
    for (int x = 0; x < w; x += 3) colours.insert(row[x]);
  }
  cairo_surface_destroy(s);
  return colours.size();
}

class ExplorerBrowserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(kChromium)) GTEST_SKIP() << "needs chromium (apt-get install chromium)";
    for (const char* b : {"monoroute-recorder", "monoroute-analysis", "monoroute"}) {
      if (!fs::exists(absl::StrCat(MONOROUTE_BIN_DIR, "/", b))) {
        GTEST_SKIP() << "needs " << b << " in " << MONOROUTE_BIN_DIR;
      }
    }
    const char* keep = std::getenv("EXPLORER_SCREENSHOT_DIR");
    shots_ = keep != nullptr && *keep ? keep : dir_.Sub("shots");
    fs::create_directories(shots_);
  }

  // Chromium headless on `url`: the DOM (or the screenshot at `png` when set) and its stderr.
  testing::CommandResult Chrome(const std::string& url, const std::string& png = "") {
    const std::string profile = dir_.Sub(absl::StrCat("chrome", ++chrome_runs_));
    std::string cmd = absl::StrCat(
        kChromium,
        " --headless --no-sandbox --disable-gpu --disable-background-networking"
        " --disable-component-update --disable-sync --no-first-run --disable-extensions"
        " --disable-default-apps --enable-logging=stderr --v=0 --user-data-dir='",
        profile, "' --window-size=1280,2400 --virtual-time-budget=3000 ");
    cmd += png.empty() ? "--dump-dom " : absl::StrCat("--screenshot='", png, "' ");
    cmd += absl::StrCat("'", url, "'");
    return RunCommandSplit(cmd);
  }

  // Checks a page in the browser: its DOM contains every `needles`, no console message was
  // logged, and its screenshot is not blank. Returns the DOM.
  std::string CheckPage(const std::string& url, const std::vector<std::string>& needles,
                        const std::string& shot_name) {
    testing::CommandResult dom = Chrome(url);
    EXPECT_EQ(dom.code, 0) << url << ": " << dom.err.substr(0, 2000);
    for (const std::string& n : needles)
      EXPECT_NE(dom.out.find(n), std::string::npos) << url << " lacks " << n;
    EXPECT_EQ(dom.err.find(":CONSOLE"), std::string::npos) << url << " logged: " << dom.err;
    const std::string png = absl::StrCat(shots_, "/", shot_name, ".png");
    testing::CommandResult shot = Chrome(url, png);
    EXPECT_EQ(shot.err.find(":CONSOLE"), std::string::npos) << url << " logged: " << shot.err;
    EXPECT_GT(DistinctColours(png), 8u) << png << " looks blank";
    return dom.out;
  }

  TempDir dir_{"monoroute_explorer_browser"};
  std::string shots_;
  int chrome_runs_ = 0;
};

// A routed copy of the shared TinyStories-architecture model (fresh routers, layers 0, 2, 4, 6)
// in `dir`, or "" when ../shared is absent.
std::string MakeRoutedCheckpoint(const std::string& dir) {
  const std::string base =
      std::string(MONOROUTE_SOURCE_DIR) + "/../shared/models/tinystories-1m-arch-base";
  if (!fs::exists(base + "/config.json")) return "";
  model::LoadOptions lo;
  lo.routing = model::RoutingConfig{};
  auto m = model::LoadGPTNeo(base, lo);
  if (!m.ok() || !model::SaveGPTNeo(**m, dir).ok()) return "";
  return dir;
}

// Writes run `run_id` (routed layers 0 and 2, 16 pathways, top-4, split "valid"): the sentences
// above and 30 filler sequences; layer 0 pathway 5 fires (gate 0.9, rank 1) exactly on " dragon".
// Returns " dragon"'s token id.
absl::StatusOr<uint32_t> WritePlantedRun(const std::string& recorder, const std::string& run_id,
                                         const std::string& ckpt) {
  auto tok = Gpt2Tokenizer::Create(Gpt2TokenizerOptions{});
  if (!tok.ok()) return tok.status();
  const std::vector<int32_t> dragon = (*tok)->Encode(" dragon");
  if (dragon.size() != 1) return absl::InternalError("\" dragon\" is not one token");
  recorder::RecorderWriterOptions wo;
  wo.address = recorder;
  wo.writer_id = "explorer-browser-test";
  auto writer = recorder::RecorderWriter::Create(wo);
  if (!writer.ok()) return writer.status();
  recorder::RunSpecLite spec;
  spec.set_run_id(run_id);
  spec.add_routed_layers(0);
  spec.add_routed_layers(2);
  spec.set_num_pathways(16);
  spec.set_top_k(4);
  spec.set_vocab_size(50257);
  spec.set_store_raw_events(true);
  if (!ckpt.empty()) (*spec.mutable_labels())["checkpoint"] = ckpt;
  if (absl::Status s = (*writer)->CreateRun(spec); !s.ok()) return s;
  std::vector<std::string> texts(std::begin(kSentences), std::end(kSentences));
  for (int i = 0; i < 30; ++i) {
    texts.push_back(absl::StrCat("The cat number ", i, " sat on the mat and looked at the sun."));
  }
  std::mt19937_64 rng(5);
  // One batch per routed layer (a batch is one step and one layer): ids 0 and 1.
  events::RoutingEventBatch per_layer[2];
  for (int li = 0; li < 2; ++li) {
    events::RoutingEventHeader& h = per_layer[li].header;
    h.run_id = run_id;
    h.batch_id = static_cast<uint64_t>(li);
    h.split = "valid";
    h.step = 100;
    h.layer = static_cast<uint32_t>(2 * li);
    h.top_k = 4;
  }
  for (size_t s = 0; s < texts.size(); ++s) {
    const std::vector<int32_t> ids = (*tok)->Encode(texts[s]);
    for (size_t pos = 0; pos < ids.size(); ++pos) {
      for (uint32_t layer : {0u, 2u}) {
        const bool plant = layer == 0 && ids[pos] == dragon[0];
        std::vector<uint32_t> perm(16);
        for (uint32_t p = 0; p < 16; ++p) perm[p] = p;
        std::shuffle(perm.begin(), perm.end(), rng);
        std::vector<uint32_t> chosen;
        if (plant) chosen.push_back(5);
        for (uint32_t p : perm) {
          if (chosen.size() < 4 && (layer != 0 || p != 5)) chosen.push_back(p);
        }
        events::RoutingEventBatch& b = per_layer[layer / 2];
        b.sequence_id.push_back(s);
        b.position.push_back(static_cast<uint32_t>(pos));
        b.token_id.push_back(static_cast<uint32_t>(ids[pos]));
        b.next_token_id.push_back(pos + 1 < ids.size() ? static_cast<uint32_t>(ids[pos + 1])
                                                       : 50256);
        for (size_t j = 0; j < 4; ++j) {
          b.pathways.push_back(chosen[j]);
          b.weights.push_back(plant ? (j == 0 ? 0.9f : 0.1f / 3) : 0.25f);
        }
      }
    }
  }
  for (const events::RoutingEventBatch& b : per_layer) (*writer)->Append(b.view());
  if (absl::Status s = (*writer)->Flush(std::chrono::seconds(60)); !s.ok()) return s;
  if (absl::Status s = (*writer)->FinishRun(run_id, std::chrono::seconds(10)); !s.ok()) return s;
  return static_cast<uint32_t>(dragon[0]);
}

// Starts monoroute-analysis with --http-listen on `recorder`; returns the explorer's port.
absl::StatusOr<int> StartAnalysis(ServiceProcess* p, const std::string& recorder,
                                  std::vector<std::string> extra, const std::string& log,
                                  std::string* grpc_address) {
  std::vector<std::string> args = {"--recorder",  recorder,    "--http-listen",
                                   "127.0.0.1:0", "--threads", "2"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto ports = testing::StartService(p, std::string(MONOROUTE_BIN_DIR) + "/monoroute-analysis",
                                     args, log, false);
  if (!ports.ok()) return ports.status();
  *grpc_address = ports->address();
  return p->WaitForLogPort("explorer on https?://[0-9.]+:([0-9]+)", std::chrono::seconds(30));
}

const std::string kHit = "<mark class=\"hit\" tabindex=\"0\" data-gate=\"0.900\"> dragon";

TEST_F(ExplorerBrowserTest, PagesLiveAndExported) {
  ServiceProcess rec;
  auto rports =
      testing::StartService(&rec, std::string(MONOROUTE_BIN_DIR) + "/monoroute-recorder",
                            {"--data-dir", dir_.Sub("db")}, dir_.Sub("recorder.log"), false);
  ASSERT_TRUE(rports.ok()) << rports.status();
  const std::string ckpt = MakeRoutedCheckpoint(dir_.Sub("routed"));
  ASSERT_TRUE(WritePlantedRun(rports->address(), "planted", ckpt).ok());
  if (!ckpt.empty()) {  // the controlled ablation of layer 0 pathway 5, stored beside it
    std::string text;
    for (int i = 0; i < 8; ++i) {
      for (const char* s : kSentences) absl::StrAppend(&text, s, "\n");
    }
    testing::WriteText(dir_.Sub("ablate.txt"), text);
    testing::CommandResult ab = testing::RunCommand(absl::StrCat(
        MONOROUTE_BIN_DIR, "/monoroute ablate --model '", ckpt, "' --data '",
        dir_.Sub("ablate.txt"),
        "' --layer 0 --pathway 5 --seq-len 32 --batch 8 --bootstrap 200 --threads 2 --save"));
    ASSERT_EQ(ab.code, 0) << ab.out;
    ASSERT_TRUE(fs::exists(ckpt + "/ablations/layer0_pathway5.json")) << ab.out;
  }

  // With a token: nothing readable without it; the login form sets the session cookie.
  TempDir tokdir("monoroute_explorer_token");
  testing::WriteText(tokdir.Sub("token"), "s3cret-token\n");
  ServiceProcess locked;
  std::string locked_grpc;
  auto lport = StartAnalysis(&locked, rports->address(), {"--auth-token-file", tokdir.Sub("token")},
                             dir_.Sub("locked.log"), &locked_grpc);
  ASSERT_TRUE(lport.ok()) << lport.status();
  for (const char* path :
       {"/", "/runs/planted", "/runs/planted/layers/0/pathways/5", "/runs/planted/try", "/api/runs",
        "/api/runs/planted/layers/0/pathways/5"}) {
    HttpResponse r = HttpRequest(*lport, "GET", path);
    EXPECT_EQ(r.status, 401) << path;
    EXPECT_EQ(r.body.find("dragon"), std::string::npos) << path;
  }
  EXPECT_EQ(HttpRequest(*lport, "GET", "/", "Authorization: Bearer wrong\r\n").status, 401);
  EXPECT_EQ(HttpRequest(*lport, "POST", "/login", "", "token=wrong&next=%2F").status, 401);
  HttpResponse login =
      HttpRequest(*lport, "POST", "/login", "", "token=s3cret-token&next=%2Fruns%2Fplanted");
  ASSERT_EQ(login.status, 303) << login.body;
  EXPECT_NE(login.headers.find("Location: /runs/planted"), std::string::npos);
  const size_t c = login.headers.find("Set-Cookie: ");
  ASSERT_NE(c, std::string::npos);
  const std::string cookie = login.headers.substr(c + 12, login.headers.find(';', c) - c - 12);
  EXPECT_EQ(cookie.find("s3cret"), std::string::npos);  // the cookie is not the token
  EXPECT_EQ(
      HttpRequest(*lport, "GET", "/runs/planted/layers/0/pathways/5", "Cookie: " + cookie + "\r\n")
          .status,
      200);
  EXPECT_EQ(
      HttpRequest(*lport, "GET", "/api/runs", "Authorization: Bearer s3cret-token\r\n").status,
      200);
  HttpResponse evil =
      HttpRequest(*lport, "POST", "/login", "", "token=s3cret-token&next=%2F%2Fevil.example");
  EXPECT_NE(evil.headers.find("Location: /\r\n"), std::string::npos) << "open redirect";

  // Without a token, in the browser.
  ServiceProcess open;
  std::string grpc_address;
  auto port = StartAnalysis(&open, rports->address(), {"--allowed-root", dir_.path()},
                            dir_.Sub("open.log"), &grpc_address);
  ASSERT_TRUE(port.ok()) << port.status();
  const std::string base = absl::StrCat("http://127.0.0.1:", *port);
  CheckPage(base + "/", {"planted"}, "runs");
  CheckPage(base + "/runs/planted",
            {"Layer 0", "pathway 5", "MaxVio", "Routing structure", "consistency with layer 2"},
            "overview");
  // The run's "checkpoint" label (under --allowed-root) gives the pathway its logit tables.
  CheckPage(
      base + "/runs/planted/layers/0/pathways/5",
      {kHit, "> lived</span>", "> afraid</span>", "> flew</span>", "> breathe</span>",
       "Tokens by lift", "Load over training", ckpt.empty() ? "Not computed" : "<h3 id=\"raised\">",
       "id=\"ablation\"", ckpt.empty() ? "No ablation result for this run" : "Controlled effect"},
      "pathway");
  CheckPage(base + "/runs/planted/compare/planted", {"planted vs planted"}, "compare");
  if (!ckpt.empty()) {
    const std::string dom = CheckPage(
        base + "/runs/planted/try?text=Once+upon+a+time+a+dragon+flew",
        {"<table id=\"routes\"", "layer 0</th>", "layer 6</th>", "<code> dragon</code>"}, "try");
    size_t rows = 0;
    for (size_t at = dom.find("<tr><td class=\"n\">"); at != std::string::npos;
         at = dom.find("<tr><td class=\"n\">", at + 1)) {
      ++rows;
    }
    EXPECT_EQ(rows, 7u);  // one row per token
  }

  // The static export, from disk.
  const std::string site = dir_.Sub("site");
  const std::string with_ckpt = ckpt.empty() ? "" : absl::StrCat(" --checkpoint '", ckpt, "'");
  testing::CommandResult ex = testing::RunCommand(
      absl::StrCat(MONOROUTE_BIN_DIR, "/monoroute explore planted --out '", site, "' --recorder ",
                   rports->address(), " --analysis ", grpc_address, with_ckpt));
  ASSERT_EQ(ex.code, 0) << ex.out;
  size_t pages = 0;
  for (const auto& e : fs::directory_iterator(site)) {
    const std::string text = testing::ReadText(e.path().string());
    EXPECT_EQ(text.find("http://"), std::string::npos) << e.path();
    EXPECT_EQ(text.find("https://"), std::string::npos) << e.path();
    ++pages;
  }
  EXPECT_EQ(pages, 1u + 2 * 16);
  CheckPage("file://" + site + "/index.html", {"layer0_pathway5.html", "MaxVio"},
            "export_overview");
  CheckPage("file://" + site + "/layer0_pathway5.html",
            {kHit, "> lived</span>", ckpt.empty() ? "Not computed" : "<h3 id=\"lowered\">"},
            "export_pathway");
  if (!ckpt.empty()) {  // Neuronpedia features with their logit tables
    const std::string np = dir_.Sub("neuronpedia");
    testing::CommandResult nr = testing::RunCommand(absl::StrCat(
        MONOROUTE_BIN_DIR, "/monoroute explore planted --format neuronpedia --no-report --out '",
        np, "' --recorder ", rports->address(), with_ckpt));
    ASSERT_EQ(nr.code, 0) << nr.out;
    auto batch = nlohmann::json::parse(testing::ReadText(np + "/batch-0.json"));
    const auto& f5 = batch["features"][5];
    EXPECT_EQ(f5["feature_index"], 5);
    EXPECT_EQ(f5["pos_str"].size(), 10u);
    EXPECT_EQ(f5["neg_str"].size(), 10u);
    EXPECT_GT(f5["pos_values"][0].get<double>(), f5["neg_values"][0].get<double>());
  }
}

}  // namespace
}  // namespace monoroute
