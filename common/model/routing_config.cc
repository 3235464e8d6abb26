// RoutingConfig validation and JSON (the `routing` section of config.json), from the one field
// list of config_fields.h.
#include "common/model/routing_config.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/base/enum_names.h"
#include "common/base/status_macros.h"
#include "common/model/config_fields.h"

namespace monoroute::model {
namespace {

using nlohmann::json;

// The balancing methods by their config.json / job-spec name.
constexpr EnumNames<BalancingMethod, 4> kBalancingMethodNames = {
    {{BalancingMethod::kGlbl, "glbl"},
     {BalancingMethod::kSwitch, "switch"},
     {BalancingMethod::kAuxFree, "aux_free"},
     {BalancingMethod::kNone, "none"}}};

absl::Status Bad(const std::string& source, const std::string& msg) {
  return absl::InvalidArgumentError(absl::StrCat(source, ": ", msg));
}

}  // namespace

const char* BalancingMethodName(BalancingMethod m) { return NameOf(kBalancingMethodNames, m); }

absl::StatusOr<BalancingMethod> ParseBalancingMethod(const std::string& name) {
  return ParseEnum(kBalancingMethodNames, name, "balancing method");
}

std::vector<int64_t> RoutingConfig::RoutedLayers(int64_t num_layers) const {
  std::vector<int64_t> out;
  if (!layers.empty()) {
    out = layers;
    std::sort(out.begin(), out.end());
    return out;
  }
  if (route_every_n_layers <= 0) return out;
  for (int64_t i = 0; i < num_layers; i += route_every_n_layers) out.push_back(i);
  return out;
}

absl::Status RoutingConfig::ValidateValues(const std::string& p) const {
  auto bad = [&](const std::string& key, const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat(p, ".", key, ": ", what));
  };
  if (num_pathways <= 0) return bad("num_pathways", "must be > 0");
  if (num_pathways > kMaxPathways) {
    return bad("num_pathways", absl::StrCat("must be <= ", kMaxPathways, ", got ", num_pathways));
  }
  if (top_k < 1 || top_k > num_pathways) {
    return bad("top_k", absl::StrCat("must be in [1, ", p, ".num_pathways], got ", top_k,
                                     " (num_pathways ", num_pathways, ")"));
  }
  if (router_hidden <= 0) return bad("router_hidden", "must be > 0");
  if (router_hidden > ModelConfig::kMaxSize) {
    return bad("router_hidden", absl::StrCat("must be <= ", ModelConfig::kMaxSize));
  }
  if (route_every_n_layers <= 0) return bad("route_every_n_layers", "must be > 0");
  std::set<int64_t> seen;
  for (size_t i = 0; i < layers.size(); ++i) {
    const std::string key = absl::StrCat("layers[", i, "]");
    if (layers[i] < 0) return bad(key, "must be >= 0");
    if (!seen.insert(layers[i]).second) {
      return bad(key, absl::StrCat("layers entry ", layers[i], " is repeated"));
    }
  }
  if (router_activation != "relu" && router_activation != "gelu_new" &&
      router_activation != "silu") {
    return bad("router_activation", absl::StrCat("must be 'relu', 'gelu_new' or 'silu', got '",
                                                 router_activation.substr(0, 64), "'"));
  }
  if (!(temperature > 0)) return bad("temperature", "must be > 0");
  if (!(balancing.alpha >= 0)) return bad("balancing.alpha", "must be >= 0");
  if (!(balancing.ema_momentum >= 0 && balancing.ema_momentum < 1)) {
    return bad("balancing.ema_momentum", "must be in [0, 1)");
  }
  if (!(balancing.bias_update_rate >= 0)) return bad("balancing.bias_update_rate", "must be >= 0");
  return absl::OkStatus();
}

absl::Status RoutingConfig::Validate(const ModelConfig& config) const {
  RETURN_IF_ERROR(ValidateValues());
  if (config.intermediate_size % num_pathways != 0) {
    return Bad("routing.num_pathways",
               absl::StrCat("intermediate_size ", config.intermediate_size,
                            " is not divisible by num_pathways ", num_pathways));
  }
  for (size_t i = 0; i < layers.size(); ++i) {
    if (layers[i] >= config.num_layers) {
      return Bad(absl::StrCat("routing.layers[", i, "]"),
                 absl::StrCat("layers entry ", layers[i], " is out of range [0, ",
                              config.num_layers, ")"));
    }
  }
  return absl::OkStatus();
}

namespace {

// Writes visited fields into a JSON object (the field list, config_fields.h).
struct JsonWriter {
  json* j;
  template <typename T>
  void operator()(const char* key, const T& v) {
    (*j)[key] = v;
  }
  void operator()(const char* key, const BalancingMethod& m) { (*j)[key] = BalancingMethodName(m); }
  template <typename T, typename F>
  void Section(const char* key, const T& sub, F fn) {
    JsonWriter w{&(*j)[key]};
    *w.j = json::object();
    fn(sub, w);
  }
};

// Reads visited fields from a JSON object: types checked, unknown keys rejected by path.
class JsonReader {
 public:
  JsonReader(const json& j, std::string path, const std::string& source)
      : j_(j), path_(std::move(path)), source_(source) {}

  template <typename T>
  void operator()(const char* key, T& out) {
    seen_.insert(key);
    if (!status_.ok()) return;
    auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) return;
    status_ = Get(*it, absl::StrCat(path_, ".", key), &out);
  }

  template <typename T, typename F>
  void Section(const char* key, T& sub, F fn) {
    seen_.insert(key);
    if (!status_.ok()) return;
    auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) return;
    const std::string path = absl::StrCat(path_, ".", key);
    if (!it->is_object()) {
      status_ = Bad(source_, path + " must be an object");
      return;
    }
    JsonReader r(*it, path, source_);
    fn(sub, r);
    status_ = r.Finish();
  }

  absl::Status Finish() const {
    RETURN_IF_ERROR(status_);
    for (auto it = j_.begin(); it != j_.end(); ++it) {
      if (seen_.count(it.key()) == 0) {
        return Bad(source_, absl::StrCat("unknown key ", path_, ".", it.key().substr(0, 64)));
      }
    }
    return absl::OkStatus();
  }

 private:
  absl::Status Get(const json& v, const std::string& path, int64_t* out) const {
    if (!v.is_number_integer()) return Bad(source_, path + " must be an integer");
    *out = v.get<int64_t>();
    return absl::OkStatus();
  }
  absl::Status Get(const json& v, const std::string& path, double* out) const {
    if (!v.is_number()) return Bad(source_, path + " must be a number");
    *out = v.get<double>();
    return absl::OkStatus();
  }
  absl::Status Get(const json& v, const std::string& path, std::string* out) const {
    if (!v.is_string()) return Bad(source_, path + " must be a string");
    *out = v.get<std::string>();
    return absl::OkStatus();
  }
  absl::Status Get(const json& v, const std::string& path, std::vector<int64_t>* out) const {
    if (!v.is_array()) return Bad(source_, path + " must be a list of integers");
    out->clear();
    for (const json& e : v) {
      int64_t x = 0;
      RETURN_IF_ERROR(Get(e, path, &x));
      out->push_back(x);
    }
    return absl::OkStatus();
  }
  absl::Status Get(const json& v, const std::string& path, BalancingMethod* out) const {
    if (!v.is_string()) return Bad(source_, path + " must be a string");
    absl::StatusOr<BalancingMethod> m = ParseBalancingMethod(v.get<std::string>());
    if (!m.ok()) return Bad(source_, absl::StrCat(path, ": ", m.status().message()));
    *out = *m;
    return absl::OkStatus();
  }

  const json& j_;
  std::string path_;
  const std::string& source_;
  std::set<std::string> seen_;
  absl::Status status_;
};

}  // namespace

json RoutingConfig::ToJson() const {
  json j = json::object();
  JsonWriter w{&j};
  VisitRoutingFields(*this, w);
  return j;
}

absl::StatusOr<RoutingConfig> RoutingConfig::FromJson(const json& j, const std::string& source) {
  if (!j.is_object()) return Bad(source, "routing must be an object");
  RoutingConfig r;
  JsonReader reader(j, "routing", source);
  VisitRoutingFields(r, reader);
  RETURN_IF_ERROR(reader.Finish());
  return r;
}

}  // namespace monoroute::model
