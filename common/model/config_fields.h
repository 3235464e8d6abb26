// The one field list of each configuration concept (RoutingConfig, BalancingConfig, ModelConfig):
// Visit*Fields() walk every field with its canonical name, so the readers and writers of every
// format -- the `routing` section of config.json (routing_config.cc), the job spec's `routing`
// and `model` sections in YAML (common/engine/job_spec.cc) -- never list fields themselves. Adding
// a field means adding one line here (and its validation in the struct's Validate*()).
//
// A visitor V provides `v(name, field)` for int64_t, double, bool, std::string,
// std::vector<int64_t>, std::vector<std::string>, BalancingMethod and ModelFamily, and
// `v.Section(name, sub, fn)` for a nested struct (fn(sub, visitor) visits its fields). The
// struct may be const (writers) or not (readers). Torch-free.
#ifndef MONOROUTE_COMMON_MODEL_CONFIG_FIELDS_H_
#define MONOROUTE_COMMON_MODEL_CONFIG_FIELDS_H_

#include "common/model/model_config.h"
#include "common/model/routing_config.h"

namespace monoroute::model {

// BalancingConfig (the `balancing` section of `routing`).
template <typename B, typename V>
void VisitBalancingFields(B& b, V& v) {
  v("method", b.method);
  v("alpha", b.alpha);
  v("ema_momentum", b.ema_momentum);
  v("bias_update_rate", b.bias_update_rate);
}

// RoutingConfig (config.json's and the job spec's `routing` section).
template <typename R, typename V>
void VisitRoutingFields(R& r, V& v) {
  v("num_pathways", r.num_pathways);
  v("top_k", r.top_k);
  v("router_hidden", r.router_hidden);
  v("route_every_n_layers", r.route_every_n_layers);
  v("layers", r.layers);
  v("router_activation", r.router_activation);
  v("temperature", r.temperature);
  v.Section("balancing", r.balancing, [](auto& b, auto& w) { VisitBalancingFields(b, w); });
}

// ModelConfig under monoroute's canonical names (the job spec's `model` section; config.json
// uses each family's HF names instead, model_config.cc). Token ids and tie_word_embeddings
// follow from the family and are not listed.
template <typename M, typename V>
void VisitModelFields(M& m, V& v) {
  v("model_type", m.family);
  v("vocab_size", m.vocab_size);
  v("hidden_size", m.hidden_size);
  v("num_layers", m.num_layers);
  v("num_heads", m.num_heads);
  v("intermediate_size", m.intermediate_size);
  v("max_position_embeddings", m.max_position_embeddings);
  v("window_size", m.window_size);
  v("attention_layers", m.attention_layers);
  v("layer_norm_epsilon", m.layer_norm_epsilon);
  v("activation_function", m.activation_function);
  v("rotary_pct", m.rotary_pct);
  v("rotary_emb_base", m.rotary_emb_base);
  v("use_parallel_residual", m.use_parallel_residual);
}

}  // namespace monoroute::model

#endif  // MONOROUTE_COMMON_MODEL_CONFIG_FIELDS_H_
