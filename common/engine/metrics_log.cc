// JSONL metrics log.
#include "common/engine/metrics_log.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/base/file_util.h"
#include "common/base/status_macros.h"

namespace monoroute::engine {
namespace {

// JSON cannot hold NaN / inf: write them as null.
nlohmann::json Num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); }

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsLog>> MetricsLog::Open(const std::string& path,
                                                             int64_t keep_up_to_step) {
  std::string kept;
  if (keep_up_to_step >= 0) {
    absl::StatusOr<std::string> old = ReadFile(path);
    if (old.ok()) {
      std::istringstream in(*old);
      std::string line;
      while (std::getline(in, line)) {
        nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.is_object()) continue;  // torn last line of a killed run
        if (j.value("step", int64_t{0}) > keep_up_to_step) continue;
        absl::StrAppend(&kept, line, "\n");
      }
    }
  }
  RETURN_IF_ERROR(WriteFileAtomic(path, kept));
  std::unique_ptr<MetricsLog> log(new MetricsLog());
  log->path_ = path;
  log->out_.open(path, std::ios::app);
  if (!log->out_) return absl::InternalError(absl::StrCat("cannot open metrics log ", path));
  return log;
}

void MetricsLog::WriteLine(const std::string& line) { out_ << line << "\n" << std::flush; }

void MetricsLog::WriteStep(const StepReport& r) {
  nlohmann::json layers = nlohmann::json::array();
  for (const LayerBalance& b : r.balance) {
    layers.push_back({{"layer", b.layer},
                      {"load", b.load},
                      {"max_vio", Num(b.max_violation)},
                      {"load_entropy", Num(b.load_entropy)},
                      {"balance_loss", Num(b.balance_loss)}});
  }
  nlohmann::json j = {{"type", "step"},
                      {"step", r.step},
                      {"total_steps", r.total_steps},
                      {"lm_loss", Num(r.lm_loss)},
                      {"balance_loss", Num(r.balance_loss)},
                      {"total_loss", Num(r.total_loss)},
                      {"lr", Num(r.lr)},
                      {"tokens_per_s", Num(r.tokens_per_s)},
                      {"eta_s", Num(r.eta_s)},
                      {"tokens_seen", r.tokens_seen},
                      {"world_size", r.world_size},
                      {"layers", layers}};
  WriteLine(j.dump());
}

void MetricsLog::WriteEval(const EvalReport& r) {
  nlohmann::json j = {{"type", "eval"},
                      {"step", r.step},
                      {"split", r.split},
                      {"val_loss", Num(r.val_loss)},
                      {"perplexity", Num(r.perplexity)}};
  if (!r.balance.empty()) {
    nlohmann::json layers = nlohmann::json::array();
    for (const LayerBalance& b : r.balance) {
      layers.push_back({{"layer", b.layer},
                        {"load", b.load},
                        {"max_vio", Num(b.max_violation)},
                        {"load_entropy", Num(b.load_entropy)}});
    }
    j["layers"] = std::move(layers);
  }
  WriteLine(j.dump());
}

}  // namespace monoroute::engine
