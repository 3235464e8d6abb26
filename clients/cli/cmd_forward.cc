// `monoroute forward --model DIR --input IN.safetensors --out OUT.safetensors [--device D]`:
// runs a GPT-Neo (dense or routed) on `input_ids` (int64 [B, T]) and writes `logits` [B, T, V]
// (f32), `loss` [1] (causal-LM loss, labels = input_ids shifted) and `final_norm` [B, T, H].
// `--ablate L:P` (repeatable) disables pathways exactly as the offline ablation does
// (SetPathwayMask: never selected, the next-best pathway takes the slot).
// `--output OUT.safetensors` is the deprecated spelling of `--out`.
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "clients/cli/command.h"
#include "common/base/status_macros.h"
#include "common/engine/generate.h"
#include "common/engine/generate_forward.h"
#include "common/model/checkpoint.h"
#include "common/model/lm_loss.h"
#include "common/tensor_io/safetensors.h"
#include "common/tensor_io/tensor_map.h"
#include "common/tensor_io/torch_status.h"

namespace monoroute::cli {
namespace {

struct ForwardFlags {
  std::string model_dir;            // HF model directory
  std::string input;                // safetensors file with input_ids
  std::string out;                  // safetensors file to write (--out)
  std::string device = "cpu";       // cpu | cuda | cuda:N
  std::vector<std::string> ablate;  // "L:P": pathways disabled (offline ablation's mask)
};

// The model of `f.model_dir` on `device` with f.ablate's pathways disabled.
absl::StatusOr<model::GPTNeo> LoadForwardModel(const ForwardFlags& f, const torch::Device& device) {
  model::LoadOptions lo;
  lo.device = device;
  ASSIGN_OR_RETURN(model::GPTNeo net, model::LoadGPTNeo(f.model_dir, lo));
  if (f.ablate.empty()) return net;
  std::vector<std::pair<int, int>> refs;
  for (const std::string& a : f.ablate) {
    ASSIGN_OR_RETURN(auto ref, engine::ParsePathwayRef(a, "--ablate"));
    refs.push_back(ref);
  }
  ASSIGN_OR_RETURN(engine::Steering steering, engine::MakeSteering(*net, refs, {}));
  RETURN_IF_ERROR(engine::ApplyPathwayMasks(*net, steering));
  return net;
}

absl::Status RunForward(const ForwardFlags& f) {
  namespace fs = std::filesystem;
  if (f.out.empty()) return UsageError("--out is required (the safetensors file to write)");
  std::error_code ec;
  if (!fs::is_directory(f.model_dir, ec)) {
    return UsageError(absl::StrCat("--model ", f.model_dir, " is not a directory"));
  }
  ASSIGN_OR_RETURN(torch::Device device,
                   TorchCall("--device", [&]() -> absl::StatusOr<torch::Device> {
                     return torch::Device(f.device);
                   }));
  if (device.is_cuda() && !torch::cuda::is_available()) {
    return absl::FailedPreconditionError("--device " + f.device + ": CUDA is not available");
  }
  ASSIGN_OR_RETURN(SafetensorsData in, ReadSafetensors(f.input));
  auto it = in.tensors.find("input_ids");
  if (it == in.tensors.end()) {
    return absl::InvalidArgumentError(absl::StrCat(f.input, ": tensor 'input_ids' is missing"));
  }
  const torch::Tensor& ids = it->second;
  if (ids.scalar_type() != torch::kLong || ids.dim() != 2 || ids.size(1) < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(f.input, ": tensor 'input_ids' must be int64 [B, T], got ",
                     c10::toString(ids.scalar_type()), " ", ShapeString(ids.sizes())));
  }
  ASSIGN_OR_RETURN(model::GPTNeo net, LoadForwardModel(f, device));
  const auto& cfg = net->config();
  if (ids.numel() > 0 &&
      (ids.min().item<int64_t>() < 0 || ids.max().item<int64_t>() >= cfg.vocab_size)) {
    return absl::InvalidArgumentError(
        absl::StrCat(f.input, ": tensor 'input_ids' has ids outside [0, ", cfg.vocab_size, ")"));
  }
  if (ids.size(1) > cfg.max_position_embeddings) {
    return absl::InvalidArgumentError(absl::StrCat(
        f.input, ": tensor 'input_ids' has ", ids.size(1),
        " positions, more than max_position_embeddings ", cfg.max_position_embeddings));
  }
  TensorMap out;
  RETURN_IF_ERROR(TorchCall("forward", [&]() {
    torch::NoGradGuard no_grad;
    net->eval();
    model::ForwardOutput o = net->forward(ids.to(device));
    torch::Tensor loss = ids.size(1) > 1
                             ? model::CausalLmLoss(o.final_norm, net->lm_head_weight(), ids)
                             : torch::full({}, std::nan(""), torch::kFloat);
    out["logits"] = o.logits.to(torch::kCPU, torch::kFloat).contiguous();
    out["final_norm"] = o.final_norm.to(torch::kCPU, torch::kFloat).contiguous();
    out["loss"] = loss.reshape({1}).to(torch::kCPU, torch::kFloat);
  }));
  RETURN_IF_ERROR(WriteSafetensors(f.out, out, {{"format", "pt"}}));
  const float loss = out["loss"].item<float>();
  return PrintResult({{"out", f.out},
                      {"logits_shape", out["logits"].sizes().vec()},
                      {"loss", std::isnan(loss) ? nlohmann::json(nullptr) : nlohmann::json(loss)}},
                     absl::StrCat("wrote ", f.out, ": logits ", ShapeString(out["logits"].sizes()),
                                  ", loss ", loss, "\n"));
}

void AddFlags(CLI::App* sub, ForwardFlags* flags) {
  sub->add_option("--model", flags->model_dir, "Hugging Face GPT-Neo model directory")->required();
  sub->add_option("--input", flags->input, "safetensors file with input_ids int64 [B, T]")
      ->required();
  sub->add_option("--out", flags->out, "safetensors file to write (required)");
  AcceptLegacyOutputPath(sub, &flags->out);
  sub->add_option("--device", flags->device, "cpu, cuda or cuda:N")->capture_default_str();
  sub->add_option("--ablate", flags->ablate,
                  "Disable pathway LAYER:PATHWAY as the offline ablation does (repeatable)");
}

MONOROUTE_REGISTER_COMMAND(
    forward,
    Command<ForwardFlags>("forward",
                          "Run a GPT-Neo model on input_ids and write logits, loss and final_norm",
                          AddFlags, RunForward));

}  // namespace
}  // namespace monoroute::cli
