// RouteText with the engine: GPT-2 tokenizer, LoadGPTNeo (the checkpoint's own routing), one
// forward pass on the CPU, and per token the engine's routing of its position
// (engine::PositionRouting).
#include "services/analysis/explorer/try_routing.h"

#include <torch/torch.h>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "common/engine/generate_forward.h"
#include "common/model/checkpoint.h"
#include "common/tensor_io/torch_status.h"
#include "common/tokenizer/gpt2_tokenizer.h"

namespace monoroute::analysis::explorer {
namespace {

absl::StatusOr<std::vector<int32_t>> Tokenize(const TryOptions& o, const Gpt2Tokenizer& tok) {
  if (o.text.empty()) return absl::InvalidArgumentError("text: empty");
  std::vector<int32_t> ids = tok.Encode(o.text);
  if (ids.empty()) return absl::InvalidArgumentError("text: no tokens");
  if (static_cast<int>(ids.size()) > o.max_tokens) {
    return absl::InvalidArgumentError(
        absl::StrCat("text: ", ids.size(), " tokens, more than the limit of ", o.max_tokens));
  }
  return ids;
}

}  // namespace

absl::StatusOr<TryResult> RouteText(const TryOptions& o) {
  Gpt2TokenizerOptions topts;
  topts.dir = o.tokenizer_dir;
  ASSIGN_OR_RETURN(std::unique_ptr<Gpt2Tokenizer> tok, Gpt2Tokenizer::Create(topts));
  ASSIGN_OR_RETURN(std::vector<int32_t> ids, Tokenize(o, *tok));
  ASSIGN_OR_RETURN(model::ModelDirConfig mc, model::ReadModelConfig(o.checkpoint));
  if (!mc.routing.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "checkpoint: ", o.checkpoint, "/config.json has no routing section (not a routed model)"));
  }
  if (static_cast<int64_t>(ids.size()) > mc.config.max_position_embeddings) {
    return absl::InvalidArgumentError(absl::StrCat("text: ", ids.size(),
                                                   " tokens, more than the model's ",
                                                   mc.config.max_position_embeddings));
  }
  for (int32_t id : ids) {
    if (id >= mc.config.vocab_size) {
      return absl::InvalidArgumentError(
          absl::StrCat("text: token id ", id, " >= the model's vocab_size ", mc.config.vocab_size));
    }
  }
  ASSIGN_OR_RETURN(model::GPTNeo m, model::LoadGPTNeo(o.checkpoint));
  TryResult r;
  r.checkpoint = o.checkpoint;
  r.num_pathways = static_cast<uint32_t>(mc.routing->num_pathways);
  r.top_k = static_cast<uint32_t>(mc.routing->top_k);
  for (int32_t id : ids) {
    TryToken t;
    t.token_id = static_cast<uint32_t>(id);
    t.text = tok->RenderToken(id);
    r.tokens.push_back(std::move(t));
  }
  RETURN_IF_ERROR(TorchCall("try (forward)", [&]() -> absl::Status {
    torch::NoGradGuard no_grad;
    m->eval();
    torch::Tensor x = torch::tensor(std::vector<int64_t>(ids.begin(), ids.end()), torch::kInt64)
                          .reshape({1, static_cast<int64_t>(ids.size())});
    model::ForwardOptions fo;
    fo.return_logits = false;
    model::ForwardOutput out = m->forward(x, fo);
    for (const model::RoutingInfo& info : out.routing) {
      r.routed_layers.push_back(static_cast<uint32_t>(info.layer));
    }
    std::vector<std::vector<engine::TokenRouting>> positions = engine::PositionRouting(out);
    for (size_t i = 0; i < r.tokens.size() && i < positions.size(); ++i) {
      r.tokens[i].routing = std::move(positions[i]);
    }
    return absl::OkStatus();
  }));
  return r;
}

}  // namespace monoroute::analysis::explorer
