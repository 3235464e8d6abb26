// EvaluateModel: load, windows from EvalData, forward without logits, fused LM loss (no grad).
#include "common/engine/evaluate.h"

#include <torch/torch.h>

#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "common/engine/eval_data.h"
#include "common/engine/model_factory.h"
#include "common/model/checkpoint.h"
#include "common/model/cpu_threads.h"
#include "common/model/lm_loss.h"
#include "common/tensor_io/torch_status.h"

namespace monoroute::engine {

absl::StatusOr<EvaluateResult> EvaluateModel(const EvaluateOptions& options) {
  if (options.precision != "auto" && options.precision != "fp32" && options.precision != "bf16") {
    return absl::InvalidArgumentError(
        absl::StrCat("precision: must be auto, fp32 or bf16, got '", options.precision, "'"));
  }
  ASSIGN_OR_RETURN(model::ModelDirConfig mc, model::ReadModelConfig(options.model_dir));
  if (options.seq_len > mc.config.max_position_embeddings) {
    return absl::InvalidArgumentError(absl::StrCat("seq_len: ", options.seq_len,
                                                   " exceeds max_position_embeddings ",
                                                   mc.config.max_position_embeddings));
  }
  ASSIGN_OR_RETURN(torch::Device device, ParseDevice(options.device));
  model::ConfigureCpuThreads(options.threads);
  model::LoadOptions lo;
  lo.device = device;
  lo.dense_only = options.dense_only;
  ASSIGN_OR_RETURN(model::GPTNeo m, model::LoadGPTNeo(options.model_dir, lo));

  ASSIGN_OR_RETURN(std::unique_ptr<EvalData> data,
                   EvalData::Load(EvalDataOptionsFrom(options, mc.config.vocab_size)));

  const bool bf16 =
      options.precision == "bf16" || (options.precision == "auto" && device.is_cuda());
  return TorchCall("evaluation", [&]() -> absl::StatusOr<EvaluateResult> {
    torch::NoGradGuard no_grad;
    m->eval();
    model::ForwardOptions fo;
    fo.return_logits = false;
    fo.return_routing = false;
    fo.compute_dtype = bf16 ? torch::kBFloat16 : torch::kFloat;
    model::LmLossOptions lo;
    lo.compute_dtype = fo.compute_dtype;
    double sum = 0.0;
    int64_t n = 0;
    for (const SequenceBatch& b : data->batches()) {
      torch::Tensor t = torch::from_blob(const_cast<int32_t*>(b.tokens.data()),
                                         {b.batch, b.seq_len + 1}, torch::kInt32)
                            .to(torch::kInt64)
                            .to(device);
      torch::Tensor x = t.narrow(1, 0, b.seq_len).contiguous();
      torch::Tensor y = t.narrow(1, 1, b.seq_len).reshape({-1});
      torch::Tensor h = m->forward(x, fo).final_norm.reshape({-1, mc.config.hidden_size});
      sum += model::FusedLmLoss(h, m->lm_head_weight(), y, lo).item<double>() *
             static_cast<double>(y.numel());
      n += y.numel();
    }
    EvaluateResult r;
    r.tokens = n;
    r.loss = sum / static_cast<double>(n);
    r.perplexity = std::exp(r.loss);
    r.routed = m->routing().has_value();
    return r;
  });
}

std::string EvaluateResultToJson(const EvaluateOptions& options, const EvaluateResult& result) {
  nlohmann::json j = {{"model", options.model_dir}, {"data", options.data_path},
                      {"seq_len", options.seq_len}, {"tokens", result.tokens},
                      {"loss", result.loss},        {"perplexity", result.perplexity},
                      {"routed", result.routed}};
  return j.dump();
}

}  // namespace monoroute::engine
