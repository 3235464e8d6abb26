// GPTNeoConfig parsing and serialisation (HF config.json, model_type gpt_neo).
#include "common/model/gpt_neo_config.h"

#include <limits>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/base/file_util.h"
#include "common/base/status_macros.h"

namespace monoroute::model {
namespace {

using nlohmann::json;

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

// A size field: 1..GPTNeoConfig::kMaxSize.
absl::Status CheckSize(const std::string& source, const char* name, int64_t v) {
  if (v <= 0) return Bad(source, absl::StrCat(name, " must be positive, got ", v));
  if (v > GPTNeoConfig::kMaxSize) {
    return Bad(source, absl::StrCat(name, " ", v, " exceeds the maximum ", GPTNeoConfig::kMaxSize));
  }
  return absl::OkStatus();
}

}  // namespace

GPTNeoConfig GPTNeoConfig::TinyStories1M() {
  GPTNeoConfig c;
  c.attention_layers.clear();
  for (int64_t i = 0; i < c.num_layers; ++i) {
    c.attention_layers.push_back(i % 2 == 0 ? "global" : "local");
  }
  return c;
}

bool GPTNeoConfig::is_local(int64_t i) const {
  return i >= 0 && i < static_cast<int64_t>(attention_layers.size()) &&
         attention_layers[i] == "local";
}

absl::StatusOr<GPTNeoConfig> GPTNeoConfig::FromJson(const json& j, const std::string& source) {
  if (!j.is_object()) return Bad(source, "not a JSON object");
  auto mt = j.find("model_type");
  if (mt == j.end() || !mt->is_string()) return Bad(source, "model_type is missing");
  if (mt->get<std::string>() != "gpt_neo") {
    return Bad(source, absl::StrCat("model_type '", mt->get<std::string>(),
                                    "' is not supported (expected 'gpt_neo')"));
  }
  GPTNeoConfig c;
  // The architecture must be stated: a missing size would silently become our default (e.g.
  // hidden_size 64), unlike HF's defaults. The rest default as in HF's GPTNeoConfig.
  RETURN_IF_ERROR(GetInt(j, "vocab_size", source, &c.vocab_size, /*required=*/true));
  RETURN_IF_ERROR(GetInt(j, "hidden_size", source, &c.hidden_size, /*required=*/true));
  RETURN_IF_ERROR(GetInt(j, "num_layers", source, &c.num_layers, /*required=*/true));
  RETURN_IF_ERROR(GetInt(j, "num_heads", source, &c.num_heads, /*required=*/true));
  RETURN_IF_ERROR(GetInt(j, "window_size", source, &c.window_size, /*required=*/true));
  RETURN_IF_ERROR(GetInt(j, "max_position_embeddings", source, &c.max_position_embeddings,
                         /*required=*/true));
  RETURN_IF_ERROR(GetInt(j, "bos_token_id", source, &c.bos_token_id));
  RETURN_IF_ERROR(GetInt(j, "eos_token_id", source, &c.eos_token_id));
  // Checked before use: 4 * hidden_size and the attention_types expansion below rely on them.
  RETURN_IF_ERROR(CheckSize(source, "hidden_size", c.hidden_size));
  RETURN_IF_ERROR(CheckSize(source, "num_layers", c.num_layers));
  c.intermediate_size = 4 * c.hidden_size;
  RETURN_IF_ERROR(GetInt(j, "intermediate_size", source, &c.intermediate_size));
  if (auto it = j.find("layer_norm_epsilon"); it != j.end() && !it->is_null()) {
    if (!it->is_number()) return Bad(source, "layer_norm_epsilon must be a number");
    c.layer_norm_epsilon = it->get<double>();
  }
  if (auto it = j.find("activation_function"); it != j.end() && !it->is_null()) {
    if (!it->is_string()) return Bad(source, "activation_function must be a string");
    c.activation_function = it->get<std::string>();
  }
  if (auto it = j.find("tie_word_embeddings"); it != j.end() && !it->is_null()) {
    if (!it->is_boolean()) return Bad(source, "tie_word_embeddings must be a boolean");
    c.tie_word_embeddings = it->get<bool>();
  }
  // attention_types [[["global","local"], n], ...] expands to attention_layers; an explicit
  // attention_layers list must agree with it.
  c.attention_layers.clear();
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
      const int64_t room = c.num_layers - static_cast<int64_t>(c.attention_layers.size());
      if (!item[0].empty() && repeat > room / static_cast<int64_t>(item[0].size())) {
        return Bad(source, absl::StrCat("attention_types expands to more than num_layers (",
                                        c.num_layers, ") entries"));
      }
      for (int64_t r = 0; r < repeat && !item[0].empty(); ++r) {
        for (const json& kind : item[0]) c.attention_layers.push_back(kind.get<std::string>());
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
    if (has_types && layers != c.attention_layers) {
      return Bad(source, "attention_layers disagrees with attention_types");
    }
    c.attention_layers = std::move(layers);
  }
  RETURN_IF_ERROR(c.Validate(source));
  return c;
}

absl::Status GPTNeoConfig::Validate(const std::string& source) const {
  auto positive = [&](const char* name, int64_t v) { return CheckSize(source, name, v); };
  RETURN_IF_ERROR(positive("vocab_size", vocab_size));
  RETURN_IF_ERROR(positive("hidden_size", hidden_size));
  RETURN_IF_ERROR(positive("num_layers", num_layers));
  RETURN_IF_ERROR(positive("num_heads", num_heads));
  RETURN_IF_ERROR(positive("intermediate_size", intermediate_size));
  RETURN_IF_ERROR(positive("window_size", window_size));
  RETURN_IF_ERROR(positive("max_position_embeddings", max_position_embeddings));
  if (hidden_size % num_heads != 0) {
    return Bad(source, absl::StrCat("hidden_size ", hidden_size, " is not divisible by num_heads ",
                                    num_heads));
  }
  if (!(layer_norm_epsilon > 0)) return Bad(source, "layer_norm_epsilon must be positive");
  if (activation_function != "gelu_new") {
    return Bad(source,
               absl::StrCat("activation_function '", activation_function, "' is not supported"));
  }
  if (!tie_word_embeddings) {
    return Bad(source, "tie_word_embeddings false is not supported");
  }
  if (static_cast<int64_t>(attention_layers.size()) != num_layers) {
    return Bad(source, absl::StrCat("attention_layers has ", attention_layers.size(),
                                    " entries, expected num_layers ", num_layers));
  }
  for (const std::string& kind : attention_layers) {
    if (kind != "global" && kind != "local") {
      return Bad(source, absl::StrCat("attention type '", kind, "' is not supported"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<GPTNeoConfig> GPTNeoConfig::FromFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return absl::InvalidArgumentError(absl::StrCat(path, ": invalid JSON"));
  return FromJson(j, path);
}

json GPTNeoConfig::ToJson() const {
  json j;
  j["model_type"] = "gpt_neo";
  j["architectures"] = json::array({"GPTNeoForCausalLM"});
  j["activation_function"] = activation_function;
  j["attention_dropout"] = 0.0;
  j["embed_dropout"] = 0.0;
  j["resid_dropout"] = 0.0;
  j["attention_layers"] = attention_layers;
  // Compress attention_layers into runs of a repeated pattern (HF expands it back).
  json types = json::array();
  if (num_layers % 2 == 0 && num_layers >= 2) {
    bool alternating = true;
    for (int64_t i = 2; i < num_layers; ++i) {
      alternating &= attention_layers[i] == attention_layers[i % 2];
    }
    if (alternating) {
      types.push_back(
          json::array({json::array({attention_layers[0], attention_layers[1]}), num_layers / 2}));
    }
  }
  if (types.empty()) {
    for (const std::string& kind : attention_layers) {
      types.push_back(json::array({json::array({kind}), 1}));
    }
  }
  j["attention_types"] = types;
  j["bos_token_id"] = bos_token_id;
  j["eos_token_id"] = eos_token_id;
  j["hidden_size"] = hidden_size;
  j["initializer_range"] = 0.02;
  if (intermediate_size == 4 * hidden_size) {
    j["intermediate_size"] = nullptr;
  } else {
    j["intermediate_size"] = intermediate_size;
  }
  j["layer_norm_epsilon"] = layer_norm_epsilon;
  j["max_position_embeddings"] = max_position_embeddings;
  j["num_heads"] = num_heads;
  j["num_layers"] = num_layers;
  j["tie_word_embeddings"] = tie_word_embeddings;
  j["use_cache"] = true;
  j["vocab_size"] = vocab_size;
  j["window_size"] = window_size;
  j["torch_dtype"] = "float32";
  return j;
}

}  // namespace monoroute::model
