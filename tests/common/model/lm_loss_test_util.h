// Helpers shared by the LM-loss tests (lm_loss_test.cc, lm_loss_cpu_test.cc): the loss and both
// gradients of the fused loss or of the ATen reference on the same inputs. Header-only.
#ifndef MONOROUTE_TESTS_COMMON_MODEL_LM_LOSS_TEST_UTIL_H_
#define MONOROUTE_TESTS_COMMON_MODEL_LM_LOSS_TEST_UTIL_H_

#include <torch/torch.h>

#include "common/model/lm_loss.h"

namespace monoroute::model::testing {

// A loss value and its gradients with respect to the hidden states and the output weight.
struct Grads {
  torch::Tensor loss, gh, gw;
};

// The loss of hidden `h0` against weight `w0` and targets `y` (-100 ignored) times `upstream`,
// backpropagated on copies of h0 and w0: FusedLmLoss with `o` when `fused`, else the ATen
// reference (mm + cross_entropy).
inline Grads LossAndGrads(bool fused, const torch::Tensor& h0, const torch::Tensor& w0,
                          const torch::Tensor& y, const LmLossOptions& o, double upstream) {
  torch::Tensor h = h0.clone().requires_grad_(true);
  torch::Tensor w = w0.clone().requires_grad_(true);
  torch::Tensor loss =
      fused ? FusedLmLoss(h, w, y, o)
            : torch::nn::functional::cross_entropy(
                  h.mm(w.t()), y,
                  torch::nn::functional::CrossEntropyFuncOptions().ignore_index(-100));
  (loss * upstream).backward();
  return {loss.detach(), h.grad(), w.grad()};
}

}  // namespace monoroute::model::testing

#endif  // MONOROUTE_TESTS_COMMON_MODEL_LM_LOSS_TEST_UTIL_H_
