// The parity check every model-family test runs against a Hugging Face reference fixture
// (expected.safetensors: input_ids, embeddings, block_out.<i>, final_norm, logits, loss).
#ifndef MONOROUTE_TESTS_COMMON_MODEL_REFERENCE_PARITY_H_
#define MONOROUTE_TESTS_COMMON_MODEL_REFERENCE_PARITY_H_

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <map>
#include <string>

#include "common/model/lm_loss.h"
#include "tests/common/model/test_util.h"

namespace monoroute::model::testing {

// Runs `model` (a GPTNeo or CausalLM holder, in eval mode here) on the reference's input_ids and
// expects embeddings within 1e-5, each of `num_blocks` block outputs, final_norm and logits within
// 1e-4, and the fused training loss within `loss_tolerance` of HF's shifted loss. Returns the
// forward output for further checks.
template <typename Model>
ForwardOutput ExpectMatchesReference(Model& model, const std::map<std::string, torch::Tensor>& e,
                                     size_t num_blocks, double loss_tolerance) {
  model->eval();
  torch::NoGradGuard no_grad;
  ForwardOptions fo;
  fo.return_block_outputs = true;
  ForwardOutput out = model->forward(e.at("input_ids"), fo);
  EXPECT_LT(MaxAbsDiff(out.embeddings, e.at("embeddings")), 1e-5);
  EXPECT_EQ(out.block_outputs.size(), num_blocks);
  for (size_t i = 0; i < out.block_outputs.size() && i < num_blocks; ++i) {
    EXPECT_LT(MaxAbsDiff(out.block_outputs[i], e.at("block_out." + std::to_string(i))), 1e-4)
        << "block " << i;
  }
  EXPECT_LT(MaxAbsDiff(out.final_norm, e.at("final_norm")), 1e-4);
  EXPECT_EQ(out.logits.sizes(), e.at("logits").sizes());
  if (out.logits.sizes() == e.at("logits").sizes()) {
    EXPECT_LT(MaxAbsDiff(out.logits, e.at("logits")), 1e-4);
  }
  torch::Tensor loss = CausalLmLoss(out.final_norm, model->lm_head_weight(), e.at("input_ids"));
  EXPECT_LT(std::abs(loss.item<double>() - e.at("loss").item<double>()), loss_tolerance);
  return out;
}

}  // namespace monoroute::model::testing

#endif  // MONOROUTE_TESTS_COMMON_MODEL_REFERENCE_PARITY_H_
