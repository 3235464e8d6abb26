// RoutingConfig validation and JSON (the `routing` section of config.json).
#include "common/model/routing_config.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"

namespace monoroute::model {
namespace {

using nlohmann::json;

absl::Status Bad(const std::string& source, const std::string& msg) {
  return absl::InvalidArgumentError(absl::StrCat(source, ": ", msg));
}

}  // namespace

const char* BalancingMethodName(BalancingMethod m) {
  switch (m) {
    case BalancingMethod::kGlbl:
      return "glbl";
    case BalancingMethod::kSwitch:
      return "switch";
    case BalancingMethod::kAuxFree:
      return "aux_free";
    case BalancingMethod::kNone:
      return "none";
  }
  return "?";
}

absl::StatusOr<BalancingMethod> ParseBalancingMethod(const std::string& name) {
  for (BalancingMethod m : {BalancingMethod::kGlbl, BalancingMethod::kSwitch,
                            BalancingMethod::kAuxFree, BalancingMethod::kNone}) {
    if (name == BalancingMethodName(m)) return m;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "balancing method '", name, "' is not supported (glbl, switch, aux_free, none)"));
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

absl::Status RoutingConfig::Validate(const GPTNeoConfig& config) const {
  const std::string s = "routing";
  if (num_pathways <= 0)
    return Bad(s, absl::StrCat("num_pathways must be positive, got ", num_pathways));
  if (top_k < 1 || top_k > num_pathways) {
    return Bad(s,
               absl::StrCat("top_k ", top_k, " must be in [1, num_pathways=", num_pathways, "]"));
  }
  if (router_hidden <= 0)
    return Bad(s, absl::StrCat("router_hidden must be positive, got ", router_hidden));
  if (config.intermediate_size % num_pathways != 0) {
    return Bad(s, absl::StrCat("intermediate_size ", config.intermediate_size,
                               " is not divisible by num_pathways ", num_pathways));
  }
  if (layers.empty() && route_every_n_layers <= 0) {
    return Bad(s,
               absl::StrCat("route_every_n_layers must be positive, got ", route_every_n_layers));
  }
  std::set<int64_t> seen;
  for (int64_t l : layers) {
    if (l < 0 || l >= config.num_layers) {
      return Bad(s,
                 absl::StrCat("layers entry ", l, " is out of range [0, ", config.num_layers, ")"));
    }
    if (!seen.insert(l).second) return Bad(s, absl::StrCat("layers entry ", l, " is repeated"));
  }
  if (router_activation != "relu" && router_activation != "gelu_new" &&
      router_activation != "silu") {
    return Bad(s, absl::StrCat("router_activation '", router_activation, "' is not supported"));
  }
  if (!(temperature > 0)) return Bad(s, "temperature must be positive");
  if (!(balancing.alpha >= 0)) return Bad(s, "balancing.alpha must be >= 0");
  if (!(balancing.ema_momentum >= 0 && balancing.ema_momentum < 1)) {
    return Bad(s, "balancing.ema_momentum must be in [0, 1)");
  }
  if (!(balancing.bias_update_rate >= 0)) return Bad(s, "balancing.bias_update_rate must be >= 0");
  return absl::OkStatus();
}

json RoutingConfig::ToJson() const {
  json j;
  j["num_pathways"] = num_pathways;
  j["top_k"] = top_k;
  j["router_hidden"] = router_hidden;
  j["route_every_n_layers"] = route_every_n_layers;
  j["layers"] = layers;
  j["router_activation"] = router_activation;
  j["temperature"] = temperature;
  j["balancing"] = {{"method", BalancingMethodName(balancing.method)},
                    {"alpha", balancing.alpha},
                    {"ema_momentum", balancing.ema_momentum},
                    {"bias_update_rate", balancing.bias_update_rate}};
  return j;
}

absl::StatusOr<RoutingConfig> RoutingConfig::FromJson(const json& j, const std::string& source) {
  if (!j.is_object()) return Bad(source, "routing must be an object");
  RoutingConfig r;
  auto get_int = [&](const std::string& key, const json& v, int64_t* out) -> absl::Status {
    if (!v.is_number_integer()) return Bad(source, absl::StrCat(key, " must be an integer"));
    *out = v.get<int64_t>();
    return absl::OkStatus();
  };
  auto get_num = [&](const std::string& key, const json& v, double* out) -> absl::Status {
    if (!v.is_number()) return Bad(source, absl::StrCat(key, " must be a number"));
    *out = v.get<double>();
    return absl::OkStatus();
  };
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    const json& v = it.value();
    const std::string path = "routing." + k;
    if (k == "num_pathways") {
      RETURN_IF_ERROR(get_int(path, v, &r.num_pathways));
    } else if (k == "top_k") {
      RETURN_IF_ERROR(get_int(path, v, &r.top_k));
    } else if (k == "router_hidden") {
      RETURN_IF_ERROR(get_int(path, v, &r.router_hidden));
    } else if (k == "route_every_n_layers") {
      RETURN_IF_ERROR(get_int(path, v, &r.route_every_n_layers));
    } else if (k == "layers") {
      if (!v.is_array()) return Bad(source, path + " must be a list of integers");
      for (const json& e : v) {
        int64_t l;
        RETURN_IF_ERROR(get_int(path, e, &l));
        r.layers.push_back(l);
      }
    } else if (k == "router_activation") {
      if (!v.is_string()) return Bad(source, path + " must be a string");
      r.router_activation = v.get<std::string>();
    } else if (k == "temperature") {
      RETURN_IF_ERROR(get_num(path, v, &r.temperature));
    } else if (k == "balancing") {
      if (!v.is_object()) return Bad(source, path + " must be an object");
      for (auto b = v.begin(); b != v.end(); ++b) {
        const std::string bpath = path + "." + b.key();
        if (b.key() == "method") {
          if (!b.value().is_string()) return Bad(source, bpath + " must be a string");
          auto m = ParseBalancingMethod(b.value().get<std::string>());
          if (!m.ok()) return Bad(source, absl::StrCat(bpath, ": ", m.status().message()));
          r.balancing.method = *m;
        } else if (b.key() == "alpha") {
          RETURN_IF_ERROR(get_num(bpath, b.value(), &r.balancing.alpha));
        } else if (b.key() == "ema_momentum") {
          RETURN_IF_ERROR(get_num(bpath, b.value(), &r.balancing.ema_momentum));
        } else if (b.key() == "bias_update_rate") {
          RETURN_IF_ERROR(get_num(bpath, b.value(), &r.balancing.bias_update_rate));
        } else {
          return Bad(source, absl::StrCat("unknown key ", bpath));
        }
      }
    } else {
      return Bad(source, absl::StrCat("unknown key ", path));
    }
  }
  return r;
}

}  // namespace monoroute::model
