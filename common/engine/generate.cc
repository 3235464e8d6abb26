// Generate: tokenise the prompt, steer the model, then per new token one full forward over the
// context (no KV cache) and the shared sampler on the last position's logits.
#include "common/engine/generate.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <numeric>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/base/status_macros.h"
#include "common/engine/generate_forward.h"
#include "common/engine/model_factory.h"
#include "common/model/checkpoint.h"
#include "common/model/cpu_threads.h"
#include "common/tokenizer/gpt2_tokenizer.h"

namespace monoroute::engine {
namespace {

absl::Status ValidateOptions(const GenerateOptions& o) {
  if (o.max_new_tokens < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_new_tokens must be >= 0, got ", o.max_new_tokens));
  }
  if (o.top_k < 0) return absl::InvalidArgumentError(absl::StrCat("top_k must be >= 0"));
  if (!(o.temperature >= 0) || !std::isfinite(o.temperature)) {
    return absl::InvalidArgumentError("temperature must be a finite number >= 0 (0: greedy)");
  }
  if (o.threads < 0) return absl::InvalidArgumentError("threads must be >= 0");
  return absl::OkStatus();
}

std::string TokenizerDir(const GenerateOptions& o) {
  if (!o.tokenizer_dir.empty()) return o.tokenizer_dir;
  std::error_code ec;
  namespace fs = std::filesystem;
  if (fs::is_regular_file(fs::path(o.model_dir) / "vocab.json", ec) &&
      fs::is_regular_file(fs::path(o.model_dir) / "merges.txt", ec)) {
    return o.model_dir;
  }
  return "";
}

// Routing of the last position of a [1, T] forward, one entry per routed layer.
std::vector<TokenRouting> LastRouting(const model::ForwardOutput& out) {
  std::vector<std::vector<TokenRouting>> positions = PositionRouting(out);
  return positions.empty() ? std::vector<TokenRouting>() : std::move(positions.back());
}

}  // namespace

uint64_t SplitMix64(uint64_t x) {
  uint64_t z = x + 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

double SamplerUniform(uint64_t seed, uint64_t step) {
  return static_cast<double>(SplitMix64(SplitMix64(seed) ^ step) >> 11) * 0x1.0p-53;
}

int32_t SampleNext(const float* logits, int64_t vocab, double temperature, int top_k, uint64_t seed,
                   uint64_t step) {
  if (temperature <= 0) {
    return static_cast<int32_t>(std::max_element(logits, logits + vocab) - logits);
  }
  std::vector<int32_t> order(static_cast<size_t>(vocab));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [logits](int32_t a, int32_t b) { return logits[a] > logits[b]; });
  if (top_k > 0 && top_k < vocab) order.resize(static_cast<size_t>(top_k));
  std::vector<double> w(order.size());
  const double z0 = static_cast<double>(logits[order[0]]) / temperature;
  double total = 0.0;
  for (size_t i = 0; i < order.size(); ++i) {
    const double z = static_cast<double>(logits[order[i]]) / temperature;
    w[i] = std::exp(z - z0);
    total += w[i];
  }
  const double target = SamplerUniform(seed, step) * total;
  double cum = 0.0;
  for (size_t i = 0; i < order.size(); ++i) {
    cum += w[i];
    if (target < cum) return order[i];
  }
  return order.back();
}

absl::StatusOr<GenerateResult> Generate(const GenerateOptions& o) {
  RETURN_IF_ERROR(ValidateOptions(o));
  Gpt2TokenizerOptions to;
  to.dir = TokenizerDir(o);
  ASSIGN_OR_RETURN(std::unique_ptr<Gpt2Tokenizer> tok, Gpt2Tokenizer::Create(to));
  ASSIGN_OR_RETURN(torch::Device device, ParseDevice(o.device));
  model::ConfigureCpuThreads(o.threads);
  model::LoadOptions lo;
  lo.device = device;
  ASSIGN_OR_RETURN(model::GPTNeo m, model::LoadGPTNeo(o.model_dir, lo));
  m->eval();
  ASSIGN_OR_RETURN(Steering steering, MakeSteering(*m, o.ablate, o.scale));
  RETURN_IF_ERROR(ApplyPathwayMasks(*m, steering));
  GenerateResult r;
  r.prompt_ids = tok->Encode(o.prompt);
  if (r.prompt_ids.empty()) return absl::InvalidArgumentError("prompt: gives no tokens");
  const int64_t limit = m->config().max_position_embeddings;
  if (static_cast<int64_t>(r.prompt_ids.size()) + o.max_new_tokens > limit) {
    return absl::InvalidArgumentError(absl::StrCat("max_new_tokens: prompt ", r.prompt_ids.size(),
                                                   " + ", o.max_new_tokens,
                                                   " exceeds max_position_embeddings ", limit));
  }
  std::vector<int64_t> seq(r.prompt_ids.begin(), r.prompt_ids.end());
  torch::NoGradGuard no_grad;
  for (int step = 0; step < o.max_new_tokens; ++step) {
    torch::Tensor ids = torch::tensor(seq, torch::kLong).unsqueeze(0);
    model::ForwardOutput out = SteeredForward(*m, ids, steering);
    torch::Tensor last = out.logits[0][-1].to(torch::kCPU, torch::kFloat).contiguous();
    const int32_t next = SampleNext(last.data_ptr<float>(), last.numel(), o.temperature, o.top_k,
                                    o.seed, static_cast<uint64_t>(step));
    GeneratedToken gt;
    gt.id = next;
    gt.text = std::string(tok->DecodeToken(next));
    gt.routing = LastRouting(out);
    r.tokens.push_back(std::move(gt));
    r.ids.push_back(next);
    seq.push_back(next);
    if (o.stop_at_eot && next == tok->eot_id()) break;
  }
  ASSIGN_OR_RETURN(r.text, tok->Decode(r.ids));
  return r;
}

std::string GenerateResultToJson(const GenerateResult& r) {
  auto utf8 = [](const std::string& s) {
    // Replace invalid UTF-8 (a token may hold part of a character) so the JSON stays valid.
    return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  };
  nlohmann::json tokens = nlohmann::json::array();
  for (const GeneratedToken& t : r.tokens) {
    nlohmann::json routing = nlohmann::json::array();
    for (const TokenRouting& tr : t.routing) {
      routing.push_back({{"layer", tr.layer}, {"pathways", tr.pathways}, {"weights", tr.weights}});
    }
    tokens.push_back({{"id", t.id},
                      {"text", nlohmann::json::parse(utf8(t.text))},
                      {"routing", std::move(routing)}});
  }
  nlohmann::json j = {{"text", nlohmann::json::parse(utf8(r.text))},
                      {"ids", r.ids},
                      {"prompt_ids", r.prompt_ids},
                      {"tokens", std::move(tokens)}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

absl::StatusOr<std::pair<int, int>> ParsePathwayRef(absl::string_view text,
                                                    absl::string_view flag) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, ':');
  int layer = 0, pathway = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &layer) ||
      !absl::SimpleAtoi(parts[1], &pathway)) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": expected LAYER:PATHWAY (e.g. 2:6), got '", text, "'"));
  }
  return std::make_pair(layer, pathway);
}

absl::StatusOr<PathwayScale> ParsePathwayScale(absl::string_view text, absl::string_view flag) {
  std::vector<absl::string_view> kv = absl::StrSplit(text, absl::MaxSplits('=', 1));
  PathwayScale s;
  if (kv.size() != 2 || !absl::SimpleAtod(kv[1], &s.factor) || !std::isfinite(s.factor)) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": expected LAYER:PATHWAY=FACTOR (e.g. 2:6=1.5), got '", text, "'"));
  }
  ASSIGN_OR_RETURN(auto ref, ParsePathwayRef(kv[0], flag));
  s.layer = ref.first;
  s.pathway = ref.second;
  return s;
}

}  // namespace monoroute::engine
