// RunBalancingStudy: runs x seeds fine-tunes in-process (engine), each run's validation routing
// and controls collected by an observer and analysed with analysis_core, aggregated across seeds.
#include "clients/cli/balancing_study.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "clients/cli/bench_timing.h"
#include "clients/cli/study_endpoint.h"
#include "clients/cli/study_observer.h"
#include "clients/cli/study_ranks.h"
#include "common/base/file_util.h"
#include "common/base/status_macros.h"
#include "common/engine/job_spec.h"
#include "common/engine/train.h"
#include "common/engine/training_observer.h"
#include "common/model/checkpoint.h"
#include "services/analysis/cairo_draw.h"
#include "services/analysis/report_json.h"
#include "services/analysis/report_png.h"
#include "services/analysis/router_saturation.h"
#include "services/analysis/run_analysis.h"
#include "services/analysis/vocab_resources.h"

namespace monoroute::cli {
namespace {

namespace fs = std::filesystem;
using analysis::AnalysisOptions;
using analysis::ControlComparison;
using analysis::LayerResult;
using nlohmann::json;

// One metric of one run: a layer average.
struct Metric {
  const char* key;
  const char* label;
};

// The metrics compared across methods (layer averages of each run's report).
const Metric kMetrics[] = {
    {"val_loss", "validation loss (nats)"},
    {"max_violation_valid", "MaxVio on validation routing"},
    {"max_violation_train", "MaxVio, last training step"},
    {"mi_excess_normalised", "MI excess over null / ln(P/k)"},
    {"mi_vs_fresh_routers", "MI excess minus fresh routers / ln(P/k)"},
    {"mi_vs_dense_slices", "MI excess minus dense slices / ln(P/k)"},
    {"token_specialisation_excess", "token specialisation over chance"},
    {"token_specialisation_vs_fresh_routers", "token spec. excess minus fresh routers"},
    {"category_ami", "category AMI"},
    {"category_ami_vs_fresh_routers", "category AMI minus fresh routers"},
    {"mi_vs_trained_trunk_fresh_routers",
     "MI excess minus fresh routers on the trained trunk / ln(P/k)"},
    {"category_ami_vs_trained_trunk_fresh_routers",
     "category AMI minus fresh routers on the trained trunk"},
    {"specialised_pathways", "specialised pathways (all layers)"},
    {"category_specialised_pathways", "category-specialised pathways"},
    {"steps_trained", "steps trained (saturation or cap)"},
};

double Mean(const std::vector<double>& v) {
  double s = 0;
  int n = 0;
  for (double x : v) {
    if (std::isfinite(x)) {
      s += x;
      ++n;
    }
  }
  return n ? s / n : std::nan("");
}

const ControlComparison* Control(const LayerResult& L, const char* name) {
  for (const auto& c : L.controls) {
    if (c.control == name) return &c;
  }
  return nullptr;
}

// The run's layer-averaged metrics.
json RunMetrics(const std::vector<LayerResult>& layers, double val_loss,
                const engine::StepReport& last, int64_t steps) {
  std::map<std::string, std::vector<double>> v;
  double flagged = 0, cat_flagged = 0;
  for (const LayerResult& L : layers) {
    const double c = L.mi_ceiling_nats;
    v["max_violation_valid"].push_back(L.max_violation);
    v["mi_excess_normalised"].push_back(L.mi.excess / c);
    v["token_specialisation_excess"].push_back(L.token_specialisation.excess);
    v["category_ami"].push_back(L.category_ami.excess);
    if (const ControlComparison* f = Control(L, analysis::kFreshRoutersControl)) {
      v["mi_vs_fresh_routers"].push_back(f->mi_delta.excess / c);
      v["token_specialisation_vs_fresh_routers"].push_back(f->token_specialisation_delta.excess);
      v["category_ami_vs_fresh_routers"].push_back(f->category_ami_delta.excess);
    }
    if (const ControlComparison* d = Control(L, analysis::kDenseSlicesControl)) {
      v["mi_vs_dense_slices"].push_back(d->mi_delta.excess / c);
    }
    if (const ControlComparison* t = Control(L, analysis::kTrainedTrunkFreshRoutersControl)) {
      v["mi_vs_trained_trunk_fresh_routers"].push_back(t->mi_delta.excess / c);
      v["category_ami_vs_trained_trunk_fresh_routers"].push_back(t->category_ami_delta.excess);
    }
    flagged += L.specialised_pathways;
    cat_flagged += L.category_specialised_pathways;
  }
  std::vector<double> train_vio;
  for (const auto& b : last.balance) train_vio.push_back(b.max_violation);
  json m = json::object();
  auto num = [](double x) { return std::isfinite(x) ? json(x) : json(nullptr); };
  m["val_loss"] = num(val_loss);
  m["max_violation_train"] = num(Mean(train_vio));
  for (const auto& [k, xs] : v) m[k] = num(Mean(xs));
  m["specialised_pathways"] = flagged;
  m["category_specialised_pathways"] = cat_flagged;
  m["steps_trained"] = steps;
  return m;
}

// Two-sided 97.5% Student-t quantile for df degrees of freedom.
double TQuantile975(int df) {
  static const double t[] = {0,     12.706, 4.303, 3.182, 2.776, 2.571, 2.447,
                             2.365, 2.306,  2.262, 2.228, 2.201, 2.179, 2.160};
  if (df < 1) return std::nan("");
  if (df < 14) return t[df];
  return 1.96 + 2.4 / df;
}

// Mean and 95% t-interval across seeds.
json AcrossSeeds(const std::vector<double>& xs) {
  std::vector<double> v;
  for (double x : xs) {
    if (std::isfinite(x)) v.push_back(x);
  }
  json j = {{"n", v.size()}};
  if (v.empty()) return j;
  const double m = Mean(v);
  j["mean"] = m;
  if (v.size() >= 2) {
    double ss = 0;
    for (double x : v) ss += (x - m) * (x - m);
    const double sd = std::sqrt(ss / (v.size() - 1));
    const double h = TQuantile975(static_cast<int>(v.size()) - 1) * sd / std::sqrt(v.size());
    j["sd"] = sd;
    j["ci"] = json::array({m - h, m + h});
  }
  return j;
}

std::string Cell(const json& a, const char* fmt) {
  if (!a.contains("mean")) return "n/a";
  std::string s = absl::StrFormat(fmt, a["mean"].get<double>());
  if (a.contains("ci")) {
    absl::StrAppend(&s, " [", absl::StrFormat(fmt, a["ci"][0].get<double>()), ", ",
                    absl::StrFormat(fmt, a["ci"][1].get<double>()), "]");
  }
  return s;
}

absl::StatusOr<std::string> StudyPng(const json& agg, const std::vector<std::string>& methods,
                                     const std::string& title) {
  using namespace analysis::draw;
  constexpr int kW = 1600, kH = 1250, kCols = 4;
  Canvas canvas(kW, kH);
  cairo_t* cr = canvas.cr();
  Text(cr, title, 20, 36, 24, 0.0, true);
  Rgb(cr, 0x444444);
  Text(cr,
       "Each bar: mean over seeds of the run's layer average; whiskers: 95% t-interval across "
       "seeds. Controls recorded on the same validation sequences.",
       20, 62, 14);
  static const int kColours[] = {0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd, 0x8c564b};
  const int n = sizeof(kMetrics) / sizeof(kMetrics[0]);
  const double top = 80, pw = kW / static_cast<double>(kCols);
  const double ph = (kH - top) / std::ceil(n / static_cast<double>(kCols));
  for (int i = 0; i < n; ++i) {
    const Box b{pw * (i % kCols), top + ph * (i / kCols), pw, ph};
    Rgb(cr, 0x222222);
    Text(cr, Shorten(kMetrics[i].label, 44), b.x + 10, b.y + 24, 14, 0.0, true);
    const Box a{b.x + 70, b.y + 40, b.w - 90, b.h - 85};
    std::vector<double> vals;
    for (const std::string& m : methods) {
      const json& c = agg[m][kMetrics[i].key];
      if (c.contains("mean")) vals.push_back(c["mean"].get<double>());
      if (c.contains("ci")) {
        vals.push_back(c["ci"][0].get<double>());
        vals.push_back(c["ci"][1].get<double>());
      }
    }
    auto [lo, hi] = Range(vals);
    if (std::string(kMetrics[i].key) == "val_loss" && !vals.empty()) {
      lo = std::floor(*std::min_element(vals.begin(), vals.end()) * 20 - 1) / 20;
      hi = std::ceil(*std::max_element(vals.begin(), vals.end()) * 20 + 1) / 20;
    }
    const YScale y_of = SignedAxes(cr, a, lo, hi, "", 4);
    const double slot = a.w / std::max<size_t>(1, methods.size());
    for (size_t j = 0; j < methods.size(); ++j) {
      const json& c = agg[methods[j]][kMetrics[i].key];
      if (!c.contains("mean")) continue;
      analysis::Interval ci;
      if (c.contains("ci")) ci = {c["ci"][0].get<double>(), c["ci"][1].get<double>()};
      const double x = a.x + slot * (j + 0.5);
      if (std::string(kMetrics[i].key) == "val_loss") {
        // A dot with whiskers: the loss axis does not start at 0.
        Rgb(cr, kColours[j % 6]);
        cairo_arc(cr, x, y_of(c["mean"].get<double>()), 5, 0, 2 * M_PI);
        cairo_fill(cr);
        if (std::isfinite(ci.low)) {
          Rgb(cr, 0x111111);
          cairo_move_to(cr, x, y_of(ci.low));
          cairo_line_to(cr, x, y_of(ci.high));
          cairo_stroke(cr);
        }
      } else {
        Bar(cr, x, std::min(40.0, slot * 0.6), c["mean"].get<double>(), ci, y_of, kColours[j % 6]);
      }
      Rgb(cr, 0x333333);
      Text(cr, methods[j], x, a.y + a.h + 18, 12, 0.5);
    }
  }
  return canvas.Png();
}

// The report of one run's validation routing with its recorded controls (from `obs`).
absl::StatusOr<analysis::RunAnalysis> AnalyseRun(const BalancingStudyOptions& o,
                                                 const analysis::VocabResources& vocab,
                                                 const engine::JobSpec& spec, StudyObserver& obs,
                                                 const std::string& name, const std::string& method,
                                                 int seed) {
  std::vector<analysis::LayerInput> layers;
  for (uint32_t layer : obs.Layers("valid")) {
    analysis::LayerInput in;
    in.layer = layer;
    in.table = obs.Take("valid", layer);
    for (const char* c : {analysis::kFreshRoutersControl, analysis::kDenseSlicesControl,
                          analysis::kTrainedTrunkFreshRoutersControl}) {
      const std::string split = analysis::ControlSplit("valid", c);
      analysis::RoutingTable t = obs.Take(split, layer);
      if (t.events() > 0) in.controls.push_back({c, split, std::move(t)});
    }
    layers.push_back(std::move(in));
  }
  ASSIGN_OR_RETURN(model::ModelDirConfig mc, model::ReadModelConfig(spec.model_dir));
  analysis::RunContext rc;
  rc.vocab_size = static_cast<uint32_t>(mc.config.vocab_size);
  rc.categories = vocab.categories ? &*vocab.categories : nullptr;
  rc.decode = vocab.decode;
  analysis::RunAnalysis run;
  ASSIGN_OR_RETURN(run.layers, analysis::AnalyzeLayers(layers, rc, o.analysis, &run.empty_layers,
                                                       &run.replicates));
  run.info.run_id = name;
  run.info.labels = {{"method", method}, {"seed", std::to_string(seed)}};
  run.info.num_pathways = static_cast<uint32_t>(spec.routing.num_pathways);
  run.info.top_k = static_cast<uint32_t>(spec.routing.top_k);
  run.info.vocab_size = rc.vocab_size;
  run.info.split = "valid";
  run.info.finished = true;
  for (const auto& L : run.layers) {
    run.info.routed_layers.push_back(L.layer);
    run.info.events += L.events;
  }
  return run;
}

// The study's stopping rule in words (study.json, study.md and the docs say the same).
std::string StoppingRule(const BalancingStudyOptions& o) {
  if (o.check_every <= 0)
    return absl::StrCat("no saturation checks: every run trains ", o.steps, " steps");
  return absl::StrFormat(
      "a checkpoint every %d steps, each evaluated on %s validation sequences; a run stops at the "
      "first check where every routed layer's top-k agreement with the previous check (share of "
      "rank 0's evaluation tokens with the same top-k set) is >= %.2f, else at the step cap %d "
      "(the LR schedule is the cap's)",
      o.check_every, o.check_sequences > 0 ? std::to_string(o.check_sequences) : "all",
      o.saturation, o.steps);
}

// The training job of one run (before the stopping rule): checkpoints at the checks, their
// evaluation routing recorded, the token cache shared by every run (<out>/data_cache), no final
// events (the final evaluation is a second, one-process
// pass: FinalEvaluation).
absl::StatusOr<engine::JobSpec> TrainingSpec(const BalancingStudyOptions& o,
                                             const std::string& method, int seed,
                                             const fs::path& dir) {
  const int64_t every = o.check_every > 0 ? o.check_every : o.steps;
  const int rank_threads = o.threads > 0 ? std::max(1, o.threads / o.nproc_per_node) : 0;
  std::string yaml = absl::StrFormat(
      "kind: finetune\nmodel_dir: \"%s\"\nrouting: {enabled: true, balancing: {method: %s}}\n"
      "data: {train_path: \"%s\", valid_path: \"%s\", seq_len: %d, seed: %d, cache_dir: \"%s\"}\n"
      "optim: {max_steps: %d, batch_size: %d}\n"
      "eval_every: 0\ncheckpoint_every: %d\nkeep_checkpoints: 1\noutput_dir: \"%s\"\n"
      "threads: %d\nseed: %d\nlog_every: 10\n"
      "record: {sample_rate: 0, eval_split_events: false, controls: false, "
      "eval_at_checkpoints: %s}\n"
      "eval: {max_sequences: %d}\ndistributed: {nproc_per_node: %d}\n",
      fs::absolute(o.model_dir).string(), method, fs::absolute(o.train_path).string(),
      o.valid_path.empty() ? "" : fs::absolute(o.valid_path).string(), o.seq_len, seed,
      (fs::absolute(o.out_dir) / "data_cache").string(), o.steps, o.batch_size, every, dir.string(),
      rank_threads, seed, o.check_every > 0 ? "true" : "false", o.check_sequences,
      o.nproc_per_node);
  ASSIGN_OR_RETURN(engine::JobSpec spec, engine::ParseJobSpecYaml(yaml, o.overrides));
  // Every rank loads the same file (the ranks compare the spec's fingerprint).
  const std::string path = (dir / "study_job.yaml").string();
  RETURN_IF_ERROR(WriteFileAtomic(path, engine::JobSpecToYaml(spec)));
  return engine::LoadJobSpecFile(path, {});
}

// The final evaluation of a trained run in this process (world size 1): the checkpoint of
// `step` resumed with nothing left to train, the whole validation split's routing and its
// controls recorded into `obs`. Returns the validation loss.
absl::StatusOr<double> FinalEvaluation(const BalancingStudyOptions& o, engine::JobSpec spec,
                                       int64_t step, StudyObserver& obs) {
  spec.optim.max_steps = step;
  spec.resume = "must";
  spec.record.eval_split_events = true;
  spec.record.controls = true;
  spec.record.eval_at_checkpoints = false;
  spec.eval.max_sequences = 0;
  spec.distributed.nproc_per_node = 1;
  spec.threads = o.threads;
  ASSIGN_OR_RETURN(engine::TrainResult tr, engine::RunTrainingJob(spec, &obs));
  return tr.final_val_loss;
}

// Per routed layer, the primary endpoint of one run: its category AMI excess minus that of the
// fresh routers on its trained trunk ({"<layer>": value}).
json PrimaryByLayer(const std::vector<LayerResult>& layers) {
  json out = json::object();
  for (const LayerResult& L : layers) {
    const ControlComparison* t = Control(L, analysis::kTrainedTrunkFreshRoutersControl);
    if (t != nullptr && std::isfinite(t->category_ami_delta.excess)) {
      out[std::to_string(L.layer)] = t->category_ami_delta.excess;
    }
  }
  return out;
}

// The saturation record of a run: its checks and the router saturation of each checkpoint
// against the last one.
absl::StatusOr<json> SaturationRecord(const StudyObserver& obs, const BalancingStudyOptions& o) {
  json checks = json::array();
  for (const SaturationCheck& c : obs.checks()) {
    json a = json::object();
    for (const auto& [layer, x] : c.agreement) a[std::to_string(layer)] = x;
    checks.push_back({{"step", c.step},
                      {"previous_step", c.previous_step},
                      {"agreement", a},
                      {"min_agreement",
                       std::isfinite(c.min_agreement) ? json(c.min_agreement) : json(nullptr)}});
  }
  analysis::SaturationOptions so;
  so.bootstrap = o.analysis.bootstrap;
  so.seed = o.analysis.seed;
  ASSIGN_OR_RETURN(std::vector<analysis::SaturationPoint> curve, obs.Saturation(so));
  json sat = json::array();
  for (const analysis::SaturationPoint& p : curve) {
    json layers = json::array();
    for (const analysis::LayerSaturation& s : p.layers) {
      layers.push_back({{"layer", s.layer},
                        {"saturation", s.saturation},
                        {"ci", {s.ci.low, s.ci.high}},
                        {"chance", s.chance},
                        {"events", s.events}});
    }
    sat.push_back({{"step", p.step}, {"layers", layers}});
  }
  return json{{"checks", checks}, {"router_saturation_vs_last_check", sat}};
}

// Fine-tunes one (method, seed) into `dir` until its routing saturates or the step cap, runs its
// final evaluation with controls, analyses it and writes its report and result.json; returns the
// result (name, method, seed, steps, stop, saturation, seconds, metrics, primary endpoint).
absl::StatusOr<json> RunOne(const BalancingStudyOptions& o, const analysis::VocabResources& vocab,
                            const std::string& method, int seed, const fs::path& dir) {
  const std::string name = absl::StrCat(method, "-seed", seed);
  const auto t0 = std::chrono::steady_clock::now();
  std::error_code ec;
  fs::create_directories(dir, ec);
  ASSIGN_OR_RETURN(engine::JobSpec spec, TrainingSpec(o, method, seed, dir));
  std::cout << "[" << name << "] fine-tuning up to " << spec.optim.max_steps << " steps on "
            << o.nproc_per_node << " rank(s) into " << dir.string() << std::endl;
  StudyObserver obs(name, static_cast<uint32_t>(spec.routing.num_pathways),
                    SaturationStop{o.check_every > 0 ? o.saturation : 2.0});
  StudyRanksOptions ro;
  ro.nproc = o.nproc_per_node;
  if (!o.rank_command.empty()) ro.rank_command = o.rank_command;
  ro.log_dir = dir.string();
  ASSIGN_OR_RETURN(engine::TrainResult tr,
                   RunStudyJob(spec, (dir / "study_job.yaml").string(), ro, &obs));
  obs.FinishChecks();
  RETURN_IF_ERROR(obs.status());
  if (tr.stopped_early && !obs.stopped()) {
    return absl::CancelledError(absl::StrCat(name, " stopped early"));
  }
  ASSIGN_OR_RETURN(json saturation, SaturationRecord(obs, o));
  ASSIGN_OR_RETURN(double val_loss, FinalEvaluation(o, spec, tr.final_step, obs));
  RETURN_IF_ERROR(obs.status());
  ASSIGN_OR_RETURN(analysis::RunAnalysis run, AnalyseRun(o, vocab, spec, obs, name, method, seed));
  RETURN_IF_ERROR(WriteFileAtomic((dir / "llm_routing_results.json").string(),
                                  analysis::ReportToJson(run, nullptr, o.analysis, 0)));
  ASSIGN_OR_RETURN(std::string png, analysis::RenderReportPng(run, nullptr, &o.analysis));
  RETURN_IF_ERROR(WriteFileAtomic((dir / "llm_monosemanticity.png").string(), png));
  const bool saturated = obs.stopped();
  const double reached = obs.checks().empty() ? std::nan("") : obs.checks().back().min_agreement;
  json result = {{"name", name},
                 {"method", method},
                 {"seed", seed},
                 {"steps", tr.final_step},
                 {"step_cap", o.steps},
                 {"stop", saturated ? "saturation" : "step cap"},
                 {"saturation_reached", std::isfinite(reached) ? json(reached) : json(nullptr)},
                 {"saturation", saturation},
                 {"world_size", o.nproc_per_node},
                 {"seconds", SecondsSince(t0)},
                 {"metrics", RunMetrics(run.layers, val_loss, obs.last(), tr.final_step)},
                 {"primary", PrimaryByLayer(run.layers)}};
  RETURN_IF_ERROR(WriteFileAtomic((dir / "result.json").string(), result.dump(2)));
  return result;
}

// Per method and layer key ("<layer>" and "mean", the layer average), each seed's primary
// endpoint (index seed - 1; NaN where missing).
using PrimaryValues = std::map<std::string, std::map<std::string, std::vector<double>>>;

PrimaryValues CollectPrimary(const json& runs, int seeds) {
  PrimaryValues v;
  for (const json& r : runs) {
    if (!r.contains("primary") || !r["primary"].is_object()) continue;
    const std::string method = r["method"].get<std::string>();
    const int seed = r["seed"].get<int>();
    if (seed < 1 || seed > seeds) continue;
    double sum = 0;
    int n = 0;
    auto put = [&](const std::string& key, double x) {
      std::vector<double>& xs = v[method][key];
      xs.resize(static_cast<size_t>(seeds), std::nan(""));
      xs[static_cast<size_t>(seed - 1)] = x;
    };
    for (const auto& [layer, x] : r["primary"].items()) {
      if (!x.is_number()) continue;
      put(layer, x.get<double>());
      sum += x.get<double>();
      ++n;
    }
    put("mean", n > 0 ? sum / n : std::nan(""));
  }
  return v;
}

// The primary endpoint: per layer and for the layer mean, GLBL minus each other arm, paired by
// seed (study_endpoint.h: mean, t interval, TOST against the margin, verdict, power, seeds).
json PrimaryEndpoint(const BalancingStudyOptions& o, const json& runs) {
  EndpointOptions eo;
  eo.margin = o.margin;
  json out = {{"measure",
               "category AMI excess over the fresh routers on the trained trunk "
               "(category_ami_vs_trained_trunk_fresh_routers), per routed layer"},
              {"difference", "GLBL minus the other arm, paired by seed"},
              {"margin", eo.margin},
              {"alpha", eo.alpha},
              {"target_power", eo.target_power},
              {"sd_assurance", eo.sd_assurance},
              {"comparisons", json::array()}};
  const PrimaryValues v = CollectPrimary(runs, o.seeds);
  auto glbl = v.find("glbl");
  if (glbl == v.end()) return out;
  auto num = [](double x) { return std::isfinite(x) ? json(x) : json(nullptr); };
  for (const std::string& other : o.methods) {
    auto it = v.find(other);
    if (other == "glbl" || it == v.end()) continue;
    for (const auto& [layer, g] : glbl->second) {
      auto b = it->second.find(layer);
      if (b == it->second.end()) continue;
      const PairedComparison c = ComparePaired(g, b->second, eo);
      out["comparisons"].push_back(
          {{"other", other},
           {"layer", layer},
           {"n", c.n},
           {"mean", num(c.mean)},
           {"sd", num(c.sd)},
           {"ci", {num(c.ci_low), num(c.ci_high)}},
           {"tost_ci", {num(c.tost_low), num(c.tost_high)}},
           {"verdict", c.verdict},
           {"power_at_margin", num(c.power)},
           {"recommended_seeds", c.recommended_seeds},
           {"sd_upper", num(c.sd_upper)},
           {"recommended_seeds_at_observed_sd", c.recommended_seeds_at_observed_sd}});
    }
  }
  return out;
}

// The primary endpoint's and the runs' stopping tables (markdown).
std::string PrimaryMarkdown(const BalancingStudyOptions& o, const json& primary, const json& runs) {
  std::string md = absl::StrFormat(
      "\n## Primary endpoint\n%s; %s. Margin %.3f: \"equivalent within margin\" when the 90%% t "
      "interval lies inside (-margin, +margin) (TOST), else \"GLBL better\" / \"worse\" when the "
      "95%% t interval excludes 0, else \"inconclusive\". Power: chance of \"GLBL better\" when "
      "the true difference is +margin at the observed SD of the differences; seeds: the count "
      "reaching 80%% power at the SD's 80%% upper bound (at the observed SD in brackets).\n\n"
      "| GLBL minus | layer | n | mean [95%% CI] | 90%% CI | verdict | power | seeds for 80%% |\n"
      "| --- | --- | --- | --- | --- | --- | --- | --- |\n",
      primary["measure"].get<std::string>(), primary["difference"].get<std::string>(), o.margin);
  auto f = [](const json& x) {
    return x.is_number() ? absl::StrFormat("%.4f", x.get<double>()) : std::string("n/a");
  };
  for (const json& c : primary["comparisons"]) {
    absl::StrAppend(&md, "| ", c["other"].get<std::string>(), " | ", c["layer"].get<std::string>(),
                    " | ", c["n"].get<int>(), " | ", f(c["mean"]), " [", f(c["ci"][0]), ", ",
                    f(c["ci"][1]), "] | [", f(c["tost_ci"][0]), ", ", f(c["tost_ci"][1]), "] | ",
                    c["verdict"].get<std::string>(), " | ",
                    c["power_at_margin"].is_number()
                        ? absl::StrFormat("%.2f", c["power_at_margin"].get<double>())
                        : "n/a",
                    " | ", c["recommended_seeds"].get<int>(), " (",
                    c["recommended_seeds_at_observed_sd"].get<int>(), ") |\n");
  }
  absl::StrAppend(&md, "\n## Stopping\n", StoppingRule(o),
                  ".\n\n| run | steps | stop | min top-k agreement at the last check |\n"
                  "| --- | --- | --- | --- |\n");
  for (const json& r : runs) {
    absl::StrAppend(&md, "| ", r["name"].get<std::string>(), " | ",
                    r.value("steps", json(0)).dump(), " | ", r.value("stop", std::string("n/a")),
                    " | ", f(r.value("saturation_reached", json(nullptr))), " |\n");
  }
  return md;
}

// Writes study.json, study.md and study.png of the runs and their per-method aggregates, and
// prints the table.
absl::Status WriteStudy(const BalancingStudyOptions& o, const json& runs, const json& agg,
                        const json& primary, double study_s) {
  json doc = {{"study", "balancing"},
              {"model_dir", o.model_dir},
              {"train_path", o.train_path},
              {"valid_path", o.valid_path},
              {"methods", o.methods},
              {"seeds", o.seeds},
              {"step_cap", o.steps},
              {"nproc_per_node", o.nproc_per_node},
              {"stopping_rule", StoppingRule(o)},
              {"saturation", o.saturation},
              {"check_every", o.check_every},
              {"check_sequences", o.check_sequences},
              {"batch_size", o.batch_size},
              {"seq_len", o.seq_len},
              {"overrides", o.overrides},
              {"lexicon", o.lexicon},
              {"analysis_options", json::parse(analysis::OptionsToJson(o.analysis))},
              {"seconds_this_invocation", study_s},
              {"runs", runs},
              {"methods_summary", agg},
              {"primary_endpoint", primary}};
  RETURN_IF_ERROR(WriteFileAtomic((fs::path(o.out_dir) / "study.json").string(), doc.dump(2)));
  // The table (markdown).
  std::string md = "| metric | " + absl::StrJoin(o.methods, " | ") + " |\n| --- |";
  for (size_t i = 0; i < o.methods.size(); ++i) md += " --- |";
  md += "\n";
  for (const Metric& m : kMetrics) {
    std::string row = absl::StrCat("| ", m.label, " |");
    const bool count = std::string(m.key).find("pathways") != std::string::npos;
    for (const std::string& method : o.methods) {
      absl::StrAppend(&row, " ", Cell(agg[method][m.key], count ? "%.1f" : "%.3f"), " |");
    }
    md += row + "\n";
  }
  md += PrimaryMarkdown(o, primary, runs);
  RETURN_IF_ERROR(WriteFileAtomic((fs::path(o.out_dir) / "study.md").string(), md));
  ASSIGN_OR_RETURN(
      std::string png,
      StudyPng(
          agg, o.methods,
          absl::StrFormat("Balancing study: %s, %d seeds, <= %d steps, %d rank(s)",
                          absl::StrJoin(o.methods, " / "), o.seeds, o.steps, o.nproc_per_node)));
  RETURN_IF_ERROR(WriteFileAtomic((fs::path(o.out_dir) / "study.png").string(), png));
  std::cout << "\nbalancing study (" << o.seeds << " seeds per method; mean [95% t-interval "
            << "across seeds])\n"
            << md << "wrote " << (fs::path(o.out_dir) / "study.json").string() << ", study.md, "
            << "study.png\n";
  return absl::OkStatus();
}

}  // namespace

absl::Status RunBalancingStudy(const BalancingStudyOptions& o) {
  if (o.model_dir.empty()) return absl::InvalidArgumentError("--model: required");
  if (o.train_path.empty()) return absl::InvalidArgumentError("--data: required");
  if (o.seeds < 1 || o.seeds > 100)
    return absl::InvalidArgumentError("--seeds: must be in [1, 100]");
  if (o.methods.empty()) return absl::InvalidArgumentError("--methods: empty");
  if (o.nproc_per_node < 1 || o.nproc_per_node > 64)
    return absl::InvalidArgumentError("--nproc-per-node: must be in [1, 64]");
  if (o.batch_size % o.nproc_per_node != 0)
    return absl::InvalidArgumentError("--batch-size: must be divisible by --nproc-per-node");
  if (o.steps < 1) return absl::InvalidArgumentError("--max-steps: must be >= 1");
  if (o.check_every < 0) return absl::InvalidArgumentError("--check-every: must be >= 0");
  if (o.check_sequences < 0) return absl::InvalidArgumentError("--check-sequences: must be >= 0");
  if (!(o.saturation > 0 && o.saturation <= 1))
    return absl::InvalidArgumentError("--saturation: must be in (0, 1]");
  if (!(o.margin > 0)) return absl::InvalidArgumentError("--margin: must be > 0");
  RETURN_IF_ERROR(analysis::ValidateAnalysisOptions(o.analysis));
  ASSIGN_OR_RETURN(analysis::VocabResources vocab,
                   analysis::LoadVocabResources(o.tokenizer_dir, o.lexicon));
  std::error_code ec;
  fs::create_directories(fs::path(o.out_dir) / "runs", ec);
  if (ec) return absl::InvalidArgumentError(absl::StrCat("--out ", o.out_dir, ": ", ec.message()));
  const auto t_study = std::chrono::steady_clock::now();
  json runs = json::array();
  std::map<std::string, std::map<std::string, std::vector<double>>> per_method;
  for (const std::string& method : o.methods) {
    for (int seed = 1; seed <= o.seeds; ++seed) {
      const std::string name = absl::StrCat(method, "-seed", seed);
      const fs::path dir = fs::absolute(fs::path(o.out_dir) / "runs" / name);
      const fs::path result_path = dir / "result.json";
      json result;
      if (fs::exists(result_path)) {  // reruns resume
        ASSIGN_OR_RETURN(std::string text, ReadFile(result_path.string()));
        result = json::parse(text, nullptr, false);
        std::cout << "[" << name << "] done earlier: " << result_path.string() << "\n";
      }
      if (result.is_discarded() || !result.is_object()) {
        ASSIGN_OR_RETURN(result, RunOne(o, vocab, method, seed, dir));
      }
      std::cout << "[" << name << "] " << result["metrics"].dump() << std::endl;
      runs.push_back(result);
      for (const Metric& m : kMetrics) {
        const json& v = result["metrics"][m.key];
        per_method[method][m.key].push_back(v.is_number() ? v.get<double>() : std::nan(""));
      }
    }
  }
  // Aggregate across seeds.
  json agg = json::object();
  for (const std::string& method : o.methods) {
    for (const Metric& m : kMetrics) agg[method][m.key] = AcrossSeeds(per_method[method][m.key]);
  }
  return WriteStudy(o, runs, agg, PrimaryEndpoint(o, runs), SecondsSince(t_study));
}

}  // namespace monoroute::cli
