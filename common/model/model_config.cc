// ModelConfig parsing and serialisation (HF config.json of gpt_neo, gpt_neox and gpt2).
#include "common/model/model_config.h"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/base/enum_names.h"
#include "common/base/file_util.h"
#include "common/base/status_macros.h"

namespace monoroute::model {
namespace {

using nlohmann::json;

// The families by their config.json `model_type`.
constexpr EnumNames<ModelFamily, 3> kModelFamilyNames = {{{ModelFamily::kGPTNeo, "gpt_neo"},
                                                          {ModelFamily::kGPTNeoX, "gpt_neox"},
                                                          {ModelFamily::kGPT2, "gpt2"}}};

absl::Status Bad(const std::string& source, const std::string& msg) {
  return absl::InvalidArgumentError(absl::StrCat(source, ": ", msg));
}

// A JSON value for an error message: scalars as written, containers by kind only (a container can
// be huge or nested deeper than dump() can recurse).
std::string Brief(const json& v) {
  if (v.is_array()) return "a list";
  if (v.is_object()) return "an object";
  std::string s = v.dump();
  return s.size() <= 64 ? s : absl::StrCat(s.substr(0, 64), "...");
}

// Reads an integer field into `out` (left unchanged when absent or null); INVALID_ARGUMENT names
// it when it has the wrong type or does not fit int64, or when it is `required` and absent/null.
absl::Status GetInt(const json& j, const char* key, const std::string& source, int64_t* out,
                    bool required = false) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (required) return Bad(source, absl::StrCat("required key '", key, "' is missing or null"));
    return absl::OkStatus();
  }
  if (!it->is_number_integer()) {
    return Bad(source, absl::StrCat(key, " must be an integer, got ", Brief(*it)));
  }
  if (it->is_number_unsigned() &&
      it->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return Bad(source, absl::StrCat(key, " ", it->get<uint64_t>(), " is out of range"));
  }
  *out = it->get<int64_t>();
  return absl::OkStatus();
}

// A size field: 1..ModelConfig::kMaxSize.
absl::Status CheckSize(const std::string& source, const char* name, int64_t v) {
  if (v <= 0) return Bad(source, absl::StrCat(name, " must be positive, got ", v));
  if (v > ModelConfig::kMaxSize) {
    return Bad(source, absl::StrCat(name, " ", v, " exceeds the maximum ", ModelConfig::kMaxSize));
  }
  return absl::OkStatus();
}

// A floating-point field (left unchanged when absent or null); must be a finite number.
absl::Status GetDouble(const json& j, const char* key, const std::string& source, double* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_number())
    return Bad(source, absl::StrCat(key, " must be a number, got ", Brief(*it)));
  *out = it->get<double>();
  if (!std::isfinite(*out)) return Bad(source, absl::StrCat(key, " must be finite"));
  return absl::OkStatus();
}

absl::Status GetBool(const json& j, const char* key, const std::string& source, bool* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_boolean()) return Bad(source, absl::StrCat(key, " must be a boolean"));
  *out = it->get<bool>();
  return absl::OkStatus();
}

absl::Status GetString(const json& j, const char* key, const std::string& source,
                       std::string* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_string()) return Bad(source, absl::StrCat(key, " must be a string"));
  *out = it->get<std::string>();
  return absl::OkStatus();
}

// The HF key of each common field, per family (error messages and ToJson use them).
struct FamilyKeys {
  const char* layers;
  const char* heads;
  const char* inner;
  const char* positions;
  const char* epsilon;
  const char* activation;
  const char* hidden;
};

FamilyKeys KeysOf(ModelFamily f) {
  switch (f) {
    case ModelFamily::kGPTNeoX:
      return {"num_hidden_layers", "num_attention_heads",
              "intermediate_size", "max_position_embeddings",
              "layer_norm_eps",    "hidden_act",
              "hidden_size"};
    case ModelFamily::kGPT2:
      return {"n_layer",
              "n_head",
              "n_inner",
              "n_positions",
              "layer_norm_epsilon",
              "activation_function",
              "n_embd"};
    case ModelFamily::kGPTNeo:
      break;
  }
  return {
      "num_layers",         "num_heads",           "intermediate_size", "max_position_embeddings",
      "layer_norm_epsilon", "activation_function", "hidden_size"};
}

// The architecture sizes every family states (under its own key names), then the MLP width
// (`null` or absent -> 4 * hidden where HF defaults that way), epsilon, activation, token ids.
absl::Status ReadCommon(const json& j, const std::string& source, bool inner_required,
                        ModelConfig* c, bool required = true) {
  const FamilyKeys k = KeysOf(c->family);
  inner_required &= required;
  RETURN_IF_ERROR(GetInt(j, "vocab_size", source, &c->vocab_size, required));
  RETURN_IF_ERROR(GetInt(j, k.hidden, source, &c->hidden_size, required));
  RETURN_IF_ERROR(GetInt(j, k.layers, source, &c->num_layers, required));
  RETURN_IF_ERROR(GetInt(j, k.heads, source, &c->num_heads, required));
  RETURN_IF_ERROR(GetInt(j, k.positions, source, &c->max_position_embeddings, required));
  RETURN_IF_ERROR(GetInt(j, "bos_token_id", source, &c->bos_token_id));
  RETURN_IF_ERROR(GetInt(j, "eos_token_id", source, &c->eos_token_id));
  // Checked before use: 4 * hidden_size and the attention_types expansion rely on them.
  RETURN_IF_ERROR(CheckSize(source, k.hidden, c->hidden_size));
  RETURN_IF_ERROR(CheckSize(source, k.layers, c->num_layers));
  c->intermediate_size = 4 * c->hidden_size;
  RETURN_IF_ERROR(GetInt(j, k.inner, source, &c->intermediate_size, inner_required));
  RETURN_IF_ERROR(GetDouble(j, k.epsilon, source, &c->layer_norm_epsilon));
  RETURN_IF_ERROR(GetString(j, k.activation, source, &c->activation_function));
  return GetBool(j, "tie_word_embeddings", source, &c->tie_word_embeddings);
}

// GPT-Neo's attention_types [[["global","local"], n], ...] / attention_layers.
absl::Status ReadAttentionLayers(const json& j, const std::string& source, ModelConfig* c) {
  c->attention_layers.clear();
  auto types = j.find("attention_types");
  auto layers_it = j.find("attention_layers");
  const bool has_types = types != j.end() && !types->is_null();
  const bool has_layers = layers_it != j.end() && !layers_it->is_null();
  if (!has_types && !has_layers) {
    // HF's default differs from an all-global list: require the file to say which.
    return Bad(source, "required key 'attention_types' (or 'attention_layers') is missing or null");
  }
  if (has_types) {
    if (!types->is_array()) return Bad(source, "attention_types must be a list");
    for (const json& item : *types) {
      if (!item.is_array() || item.size() != 2 || !item[0].is_array() ||
          !item[1].is_number_integer() || item[1].get<int64_t>() < 0) {
        return Bad(source, absl::StrCat("attention_types entry ", Brief(item),
                                        " is not [[kinds...], repeat >= 0]"));
      }
      for (const json& kind : item[0]) {
        if (!kind.is_string()) return Bad(source, "attention_types kinds must be strings");
      }
      // Expanding beyond num_layers can never validate: stop there (a huge repeat costs nothing).
      const int64_t repeat = item[1].get<int64_t>();
      const int64_t room = c->num_layers - static_cast<int64_t>(c->attention_layers.size());
      if (!item[0].empty() && repeat > room / static_cast<int64_t>(item[0].size())) {
        return Bad(source, absl::StrCat("attention_types expands to more than num_layers (",
                                        c->num_layers, ") entries"));
      }
      for (int64_t r = 0; r < repeat && !item[0].empty(); ++r) {
        for (const json& kind : item[0]) c->attention_layers.push_back(kind.get<std::string>());
      }
    }
  }
  if (has_layers) {
    if (!layers_it->is_array()) return Bad(source, "attention_layers must be a list");
    std::vector<std::string> layers;
    for (const json& kind : *layers_it) {
      if (!kind.is_string()) return Bad(source, "attention_layers entries must be strings");
      layers.push_back(kind.get<std::string>());
    }
    if (has_types && layers != c->attention_layers) {
      return Bad(source, "attention_layers disagrees with attention_types");
    }
    c->attention_layers = std::move(layers);
  }
  return absl::OkStatus();
}

// GPT-NeoX's own keys (rotary, residual, biases); newer transformers' names accepted too.
absl::Status ReadNeoX(const json& j, const std::string& source, ModelConfig* c) {
  RETURN_IF_ERROR(GetDouble(j, "partial_rotary_factor", source, &c->rotary_pct));
  RETURN_IF_ERROR(GetDouble(j, "rotary_pct", source, &c->rotary_pct));
  RETURN_IF_ERROR(GetDouble(j, "rope_theta", source, &c->rotary_emb_base));
  RETURN_IF_ERROR(GetDouble(j, "rotary_emb_base", source, &c->rotary_emb_base));
  RETURN_IF_ERROR(GetBool(j, "use_parallel_residual", source, &c->use_parallel_residual));
  RETURN_IF_ERROR(GetBool(j, "attention_bias", source, &c->attention_bias));
  if (auto it = j.find("rope_scaling"); it != j.end() && !it->is_null()) {
    return Bad(source, "rope_scaling is not supported (must be null)");
  }
  return absl::OkStatus();
}

// GPT-2's attention options: only HF's defaults are supported.
absl::Status ReadGpt2(const json& j, const std::string& source) {
  bool scale = true, by_layer = false;
  RETURN_IF_ERROR(GetBool(j, "scale_attn_weights", source, &scale));
  RETURN_IF_ERROR(GetBool(j, "scale_attn_by_inverse_layer_idx", source, &by_layer));
  if (!scale) return Bad(source, "scale_attn_weights false is not supported");
  if (by_layer) return Bad(source, "scale_attn_by_inverse_layer_idx true is not supported");
  return absl::OkStatus();
}

}  // namespace

const char* ModelFamilyName(ModelFamily f) { return NameOf(kModelFamilyNames, f, "gpt_neo"); }

absl::StatusOr<ModelFamily> ParseModelFamily(const std::string& model_type) {
  return ParseEnum(kModelFamilyNames, model_type, "model_type");
}

ModelConfig ModelConfig::TinyStories1M() {
  ModelConfig c;
  c.attention_layers.clear();
  for (int64_t i = 0; i < c.num_layers; ++i) {
    c.attention_layers.push_back(i % 2 == 0 ? "global" : "local");
  }
  return c;
}

ModelConfig ModelConfig::Pythia70M() {
  ModelConfig c;
  c.family = ModelFamily::kGPTNeoX;
  c.vocab_size = 50304;
  c.hidden_size = 512;
  c.num_layers = 6;
  c.num_heads = 8;
  c.intermediate_size = 2048;
  c.max_position_embeddings = 2048;
  c.window_size = 2048;
  c.activation_function = "gelu";
  c.tie_word_embeddings = false;
  c.attention_layers.assign(6, "global");
  c.bos_token_id = c.eos_token_id = 0;
  return c;
}

ModelConfig ModelConfig::Gpt2Small() {
  ModelConfig c;
  c.family = ModelFamily::kGPT2;
  c.hidden_size = 768;
  c.num_layers = 12;
  c.num_heads = 12;
  c.intermediate_size = 3072;
  c.max_position_embeddings = 1024;
  c.window_size = 1024;
  c.attention_layers.assign(12, "global");
  return c;
}

bool ModelConfig::is_local(int64_t i) const {
  return i >= 0 && i < static_cast<int64_t>(attention_layers.size()) &&
         attention_layers[i] == "local";
}

int64_t ModelConfig::rotary_ndims() const {
  return static_cast<int64_t>(static_cast<double>(head_dim()) * rotary_pct);
}

absl::StatusOr<ModelConfig> ModelConfig::FromJson(const json& j, const std::string& source) {
  if (!j.is_object()) return Bad(source, "not a JSON object");
  auto mt = j.find("model_type");
  if (mt == j.end() || !mt->is_string()) return Bad(source, "model_type is missing");
  ModelConfig c;
  absl::StatusOr<ModelFamily> family = ParseModelFamily(mt->get<std::string>());
  if (!family.ok()) return Bad(source, std::string(family.status().message()));
  c.family = *family;
  switch (c.family) {
    case ModelFamily::kGPTNeo:
      // The architecture must be stated: a missing size would silently become our default.
      RETURN_IF_ERROR(GetInt(j, "window_size", source, &c.window_size, /*required=*/true));
      RETURN_IF_ERROR(ReadCommon(j, source, /*inner_required=*/false, &c));
      RETURN_IF_ERROR(ReadAttentionLayers(j, source, &c));
      break;
    case ModelFamily::kGPTNeoX:
      c.activation_function = "gelu";  // HF GPTNeoXConfig defaults
      c.tie_word_embeddings = false;
      c.layer_norm_epsilon = 1e-5;
      RETURN_IF_ERROR(ReadCommon(j, source, /*inner_required=*/true, &c));
      RETURN_IF_ERROR(ReadNeoX(j, source, &c));
      break;
    case ModelFamily::kGPT2:
      RETURN_IF_ERROR(ReadCommon(j, source, /*inner_required=*/false, &c));
      RETURN_IF_ERROR(ReadGpt2(j, source));
      break;
  }
  if (c.family != ModelFamily::kGPTNeo) {
    c.window_size = c.max_position_embeddings;
    c.attention_layers.assign(static_cast<size_t>(c.num_layers), "global");
  }
  RETURN_IF_ERROR(c.Validate(source));
  return c;
}

absl::Status ModelConfig::Validate(const std::string& source, bool hf_names) const {
  const FamilyKeys k = KeysOf(hf_names ? family : ModelFamily::kGPTNeo);
  auto positive = [&](const char* name, int64_t v) { return CheckSize(source, name, v); };
  RETURN_IF_ERROR(positive("vocab_size", vocab_size));
  RETURN_IF_ERROR(positive(k.hidden, hidden_size));
  RETURN_IF_ERROR(positive(k.layers, num_layers));
  RETURN_IF_ERROR(positive(k.heads, num_heads));
  RETURN_IF_ERROR(positive(k.inner, intermediate_size));
  RETURN_IF_ERROR(positive(k.positions, max_position_embeddings));
  RETURN_IF_ERROR(positive("window_size", window_size));
  if (hidden_size % num_heads != 0) {
    return Bad(source, absl::StrCat(k.hidden, " ", hidden_size, " is not divisible by ", k.heads,
                                    " ", num_heads));
  }
  if (!(layer_norm_epsilon > 0) || !std::isfinite(layer_norm_epsilon)) {
    return Bad(source, absl::StrCat(k.epsilon, " must be a positive finite number"));
  }
  const bool gelu_ok = activation_function == "gelu_new" ||
                       (family != ModelFamily::kGPTNeo && activation_function == "gelu");
  if (!gelu_ok) {
    return Bad(source, absl::StrCat(k.activation, " '", activation_function.substr(0, 64),
                                    "' is not supported"));
  }
  if (tie_word_embeddings != (family != ModelFamily::kGPTNeoX)) {
    return Bad(source, absl::StrCat("tie_word_embeddings ", tie_word_embeddings ? "true" : "false",
                                    " is not supported for ", ModelFamilyName(family)));
  }
  if (family == ModelFamily::kGPTNeoX) {
    if (!(rotary_pct >= 0 && rotary_pct <= 1)) return Bad(source, "rotary_pct must be in [0, 1]");
    if (rotary_ndims() % 2 != 0) {
      return Bad(source, absl::StrCat("rotary_pct ", rotary_pct, " gives ", rotary_ndims(),
                                      " rotary dims per head; must be even"));
    }
    if (!(rotary_emb_base > 0) || !std::isfinite(rotary_emb_base)) {
      return Bad(source, "rotary_emb_base must be a positive finite number");
    }
  }
  if (static_cast<int64_t>(attention_layers.size()) != num_layers) {
    return Bad(source, absl::StrCat("attention_layers has ", attention_layers.size(),
                                    " entries, expected ", k.layers, " ", num_layers));
  }
  for (const std::string& kind : attention_layers) {
    if ((kind != "global" && kind != "local") ||
        (kind == "local" && family != ModelFamily::kGPTNeo)) {
      return Bad(source,
                 absl::StrCat("attention type '", kind.substr(0, 64), "' is not supported"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<json> ParseConfigJsonText(const std::string& text, const std::string& source) {
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    const size_t at = e.byte > 0 ? e.byte - 1 : 0;
    for (const char* word : {"NaN", "Infinity", "-Infinity"}) {
      if (text.compare(at, std::string(word).size(), word) == 0) {
        return Bad(source, absl::StrCat(word, " is not a JSON number (byte ", e.byte,
                                        "); write a number or null"));
      }
    }
    return Bad(source, absl::StrCat("invalid JSON at byte ", e.byte));
  }
}

absl::StatusOr<ModelConfig> ModelConfig::SizesFromJson(const json& j, const std::string& source) {
  if (!j.is_object()) return Bad(source, "not a JSON object");
  ModelConfig c;
  if (auto mt = j.find("model_type"); mt != j.end() && mt->is_string()) {
    absl::StatusOr<ModelFamily> family = ParseModelFamily(mt->get<std::string>());
    if (!family.ok()) return Bad(source, std::string(family.status().message()));
    c.family = *family;
  }
  RETURN_IF_ERROR(ReadCommon(j, source, /*inner_required=*/false, &c, /*required=*/false));
  const FamilyKeys k = KeysOf(c.family);
  RETURN_IF_ERROR(CheckSize(source, "vocab_size", c.vocab_size));
  RETURN_IF_ERROR(CheckSize(source, k.heads, c.num_heads));
  RETURN_IF_ERROR(CheckSize(source, k.inner, c.intermediate_size));
  RETURN_IF_ERROR(CheckSize(source, k.positions, c.max_position_embeddings));
  c.tie_word_embeddings = c.family != ModelFamily::kGPTNeoX;
  return c;
}

absl::StatusOr<ModelConfig> ModelConfig::FromFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  ASSIGN_OR_RETURN(json j, ParseConfigJsonText(text, path));
  return FromJson(j, path);
}

namespace {

// GPT-Neo's attention_types: attention_layers compressed into runs of a repeated pattern.
json AttentionTypes(const std::vector<std::string>& layers) {
  const int64_t n = static_cast<int64_t>(layers.size());
  json types = json::array();
  if (n % 2 == 0 && n >= 2) {
    bool alternating = true;
    for (int64_t i = 2; i < n; ++i) alternating &= layers[i] == layers[i % 2];
    if (alternating) {
      types.push_back(json::array({json::array({layers[0], layers[1]}), n / 2}));
    }
  }
  if (types.empty()) {
    for (const std::string& kind : layers) types.push_back(json::array({json::array({kind}), 1}));
  }
  return types;
}

}  // namespace

json ModelConfig::ToJson() const {
  const FamilyKeys k = KeysOf(family);
  json j;
  j["model_type"] = ModelFamilyName(family);
  j[k.hidden] = hidden_size;
  j[k.layers] = num_layers;
  j[k.heads] = num_heads;
  j[k.positions] = max_position_embeddings;
  j[k.epsilon] = layer_norm_epsilon;
  j[k.activation] = activation_function;
  j["vocab_size"] = vocab_size;
  j["bos_token_id"] = bos_token_id;
  j["eos_token_id"] = eos_token_id;
  j["initializer_range"] = 0.02;
  j["tie_word_embeddings"] = tie_word_embeddings;
  j["use_cache"] = true;
  j["torch_dtype"] = "float32";
  if (family != ModelFamily::kGPTNeoX && intermediate_size == 4 * hidden_size) {
    j[k.inner] = nullptr;
  } else {
    j[k.inner] = intermediate_size;
  }
  switch (family) {
    case ModelFamily::kGPTNeo:
      j["architectures"] = json::array({"GPTNeoForCausalLM"});
      j["attention_dropout"] = j["embed_dropout"] = j["resid_dropout"] = 0.0;
      j["attention_layers"] = attention_layers;
      j["attention_types"] = AttentionTypes(attention_layers);
      j["window_size"] = window_size;
      break;
    case ModelFamily::kGPTNeoX:
      j["architectures"] = json::array({"GPTNeoXForCausalLM"});
      j["attention_dropout"] = j["hidden_dropout"] = 0.0;
      j["rotary_pct"] = rotary_pct;
      j["rotary_emb_base"] = rotary_emb_base;
      j["use_parallel_residual"] = use_parallel_residual;
      j["attention_bias"] = attention_bias;
      j["rope_scaling"] = nullptr;
      break;
    case ModelFamily::kGPT2:
      j["architectures"] = json::array({"GPT2LMHeadModel"});
      j["attn_pdrop"] = j["embd_pdrop"] = j["resid_pdrop"] = 0.0;
      j["n_ctx"] = max_position_embeddings;
      j["scale_attn_weights"] = true;
      break;
  }
  return j;
}

}  // namespace monoroute::model
