// Trainer state save/load (optimizer moments, RNG, balancing state, data position).
#include "common/engine/trainer_state.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <type_traits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/base/file_util.h"
#include "common/base/status_macros.h"

namespace monoroute::engine {
namespace {

namespace fs = std::filesystem;

// The optimizer's per-parameter state map is keyed by the TensorImpl address: as a string in
// LibTorch 1.x, as the pointer itself in 2.x. Build whichever key this LibTorch uses.
using OptimStateKey =
    std::decay_t<decltype(std::declval<torch::optim::Optimizer&>().state())>::key_type;

template <typename K>
K MakeStateKey(void* impl) {
  if constexpr (std::is_same_v<K, std::string>) {
    std::ostringstream ss;  // what c10::guts::to_string(ptr) produced in LibTorch 1.x
    ss << impl;
    return ss.str();
  } else {
    return static_cast<K>(impl);
  }
}

OptimStateKey StateKey(const torch::Tensor& p) {
  return MakeStateKey<OptimStateKey>(p.unsafeGetTensorImpl());
}

}  // namespace

absl::Status SaveTrainerState(const std::string& dir, const TrainerProgress& progress,
                              torch::optim::AdamW& optimizer,
                              const std::vector<torch::Tensor>& params,
                              const model::LoadBalancer* balancer, const torch::Device& device) {
  nlohmann::json j = {{"format", "monoroute-trainer-state"},
                      {"version", 1},
                      {"step", progress.step},
                      {"tokens_seen", progress.tokens_seen},
                      {"data",
                       {{"epoch", progress.data.epoch},
                        {"index", progress.data.index},
                        {"seed", progress.data_seed},
                        {"seq_len", progress.seq_len},
                        {"train_windows", progress.train_windows},
                        {"train_sha256", progress.train_sha256}}},
                      {"elapsed_s", progress.elapsed_s},
                      {"num_params", params.size()}};
  std::ostringstream bytes;
  try {
    torch::serialize::OutputArchive ar;
    auto& state = optimizer.state();
    for (size_t i = 0; i < params.size(); ++i) {
      auto it = state.find(StateKey(params[i]));
      if (it == state.end()) continue;
      auto& s = static_cast<torch::optim::AdamWParamState&>(*it->second);
      ar.write(absl::StrCat("optim.", i, ".exp_avg"), s.exp_avg().cpu());
      ar.write(absl::StrCat("optim.", i, ".exp_avg_sq"), s.exp_avg_sq().cpu());
      ar.write(absl::StrCat("optim.", i, ".step"),
               torch::tensor({static_cast<int64_t>(s.step())}, torch::kInt64));
      if (s.max_exp_avg_sq().defined()) {
        ar.write(absl::StrCat("optim.", i, ".max_exp_avg_sq"), s.max_exp_avg_sq().cpu());
      }
    }
    ar.write("rng.cpu", at::detail::getDefaultCPUGenerator().get_state());
    if (device.is_cuda()) {
      ar.write("rng.cuda", at::globalContext().defaultGenerator(device).get_state());
    }
    if (balancer != nullptr) {
      for (const auto& [k, v] : balancer->StateDict()) ar.write(k, v.cpu());
    }
    // Serialised in memory, then written like every other checkpoint file (temp + fsync +
    // rename): LibTorch's file writer throws again from its destructor when the disk is full,
    // which terminates the process instead of failing the checkpoint.
    ar.save_to(bytes);
  } catch (const c10::Error& e) {
    return absl::InternalError(
        absl::StrCat("cannot serialise ", dir, "/trainer_state.pt: ", e.what_without_backtrace()));
  }
  RETURN_IF_ERROR(WriteFileAtomic((fs::path(dir) / "trainer_state.pt").string(), bytes.str()));
  return WriteFileAtomic((fs::path(dir) / "trainer_state.json").string(), j.dump(1));
}

absl::Status LoadTrainerState(const std::string& dir, TrainerProgress* progress,
                              torch::optim::AdamW& optimizer,
                              const std::vector<torch::Tensor>& params,
                              model::LoadBalancer* balancer, const torch::Device& device) {
  std::string json_path = (fs::path(dir) / "trainer_state.json").string();
  std::string pt_path = (fs::path(dir) / "trainer_state.pt").string();
  ASSIGN_OR_RETURN(std::string text, ReadFile(json_path));
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("format", "") != "monoroute-trainer-state") {
    return absl::InvalidArgumentError(absl::StrCat(json_path, ": not a monoroute trainer state"));
  }
  try {
    progress->step = j.at("step").get<int64_t>();
    progress->tokens_seen = j.at("tokens_seen").get<int64_t>();
    const auto& d = j.at("data");
    progress->data.epoch = d.at("epoch").get<int64_t>();
    progress->data.index = d.at("index").get<int64_t>();
    progress->data_seed = d.at("seed").get<uint64_t>();
    progress->seq_len = d.at("seq_len").get<int>();
    progress->train_windows = d.at("train_windows").get<int64_t>();
    progress->train_sha256 = d.at("train_sha256").get<std::string>();
    progress->elapsed_s = j.value("elapsed_s", 0.0);
    if (j.at("num_params").get<size_t>() != params.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat(json_path, ": num_params ", j.at("num_params").get<size_t>(),
                       " != the job's ", params.size(),
                       " trainable parameters (different freeze_base or "
                       "architecture)"));
    }
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(json_path, ": ", e.what()));
  }
  try {
    torch::serialize::InputArchive ar;
    ar.load_from(pt_path);
    auto& state = optimizer.state();
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < params.size(); ++i) {
      torch::Tensor m, v, step, vmax;
      std::string base = absl::StrCat("optim.", i, ".");
      if (!ar.try_read(base + "exp_avg", m)) continue;  // no state yet for this parameter
      if (!ar.try_read(base + "exp_avg_sq", v) || !ar.try_read(base + "step", step)) {
        return absl::InvalidArgumentError(absl::StrCat(pt_path, ": incomplete ", base + "*"));
      }
      if (!m.sizes().equals(params[i].sizes()) || !v.sizes().equals(params[i].sizes())) {
        return absl::InvalidArgumentError(absl::StrCat(pt_path, ": ", base, "exp_avg has shape ",
                                                       c10::str(m.sizes()), ", parameter has ",
                                                       c10::str(params[i].sizes())));
      }
      auto s = std::make_unique<torch::optim::AdamWParamState>();
      s->step(step.item<int64_t>());
      s->exp_avg(m.to(params[i].device()).clone());
      s->exp_avg_sq(v.to(params[i].device()).clone());
      if (ar.try_read(base + "max_exp_avg_sq", vmax)) {
        s->max_exp_avg_sq(vmax.to(params[i].device()).clone());
      }
      state[StateKey(params[i])] = std::move(s);
    }
    torch::Tensor rng;
    if (ar.try_read("rng.cpu", rng)) {
      at::Generator gen = at::detail::getDefaultCPUGenerator();  // a handle to the default
      gen.set_state(rng);
    }
    if (device.is_cuda() && ar.try_read("rng.cuda", rng)) {
      at::Generator gen = at::globalContext().defaultGenerator(device);
      gen.set_state(rng);
    }
    if (balancer != nullptr) {
      std::map<std::string, torch::Tensor> bs;
      for (const auto& [k, v] : balancer->StateDict()) {
        torch::Tensor t;
        if (!ar.try_read(k, t)) {
          return absl::InvalidArgumentError(
              absl::StrCat(pt_path, ": missing ", k, " (checkpoint of a dense model?)"));
        }
        bs[k] = t;
      }
      RETURN_IF_ERROR(balancer->LoadStateDict(bs));
    }
  } catch (const c10::Error& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read ", pt_path, ": ", e.what_without_backtrace()));
  }
  return absl::OkStatus();
}

}  // namespace monoroute::engine
