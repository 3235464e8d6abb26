// CenterRouterScores: one no-grad forward per routed layer, bias -= T * (mean log p - its mean).
#include "common/model/router_init.h"

#include "common/model/gpt_neo.h"
#include "common/tensor_io/torch_status.h"

namespace monoroute::model {

absl::Status CenterRouterScores(GPTNeoImpl& model, const torch::Tensor& input_ids,
                                torch::Dtype compute_dtype) {
  if (!model.routing().has_value()) {
    return absl::FailedPreconditionError("CenterRouterScores: the model is not routed");
  }
  return TorchCall("centring the router scores", [&]() -> absl::Status {
    torch::NoGradGuard no_grad;
    const bool was_training = model.is_training();
    model.eval();
    ForwardOptions fo;
    fo.return_logits = false;
    fo.return_routing = true;
    fo.compute_dtype = compute_dtype;
    const std::vector<int64_t> layers = model.routed_layers();
    for (size_t i = 0; i < layers.size(); ++i) {
      ForwardOutput out = model.forward(input_ids, fo);
      torch::Tensor logp = out.routing[i].probs.clamp_min(1e-30).log();  // [N, P]
      torch::Tensor m = logp.mean(0);
      m = m - m.mean();
      PathwayRouter router = model.router(layers[i]);
      const double temperature = router->options().temperature;
      router->fc2->bias.sub_((m * temperature).to(router->fc2->bias.dtype()));
    }
    model.train(was_training);
    return absl::OkStatus();
  });
}

}  // namespace monoroute::model
