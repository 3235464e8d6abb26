// libFuzzer target: a model directory's config.json as the checkpoint loader reads it
// (common/model/gpt_neo_config GPTNeoConfig::FromJson, then the `routing` section through
// RoutingConfig::FromJson + Validate). Properties: no crash, hang or sanitizer report; an
// accepted config validates, and ToJson() parses back to the same architecture.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "common/model/gpt_neo_config.h"
#include "common/model/routing_config.h"
#include "tests/fuzz/fuzz_check.h"

using monoroute::model::GPTNeoConfig;
using monoroute::model::RoutingConfig;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const nlohmann::json j =
      nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  auto c = GPTNeoConfig::FromJson(j, "fuzz/config.json");
  if (!c.ok()) return 0;
  FUZZ_CHECK(c->Validate().ok(), "accepted config does not validate: %s",
             c->Validate().ToString().c_str());
  auto back = GPTNeoConfig::FromJson(c->ToJson(), "roundtrip");
  FUZZ_CHECK(back.ok(), "ToJson() of an accepted config is rejected: %s",
             back.status().ToString().c_str());
  FUZZ_CHECK(back->vocab_size == c->vocab_size && back->hidden_size == c->hidden_size &&
                 back->num_layers == c->num_layers && back->num_heads == c->num_heads &&
                 back->intermediate_size == c->intermediate_size &&
                 back->window_size == c->window_size &&
                 back->max_position_embeddings == c->max_position_embeddings &&
                 back->attention_layers == c->attention_layers,
             "ToJson() round trip changed the architecture");
  if (auto it = j.find("routing"); j.is_object() && it != j.end() && !it->is_null()) {
    auto r = RoutingConfig::FromJson(*it, "fuzz/config.json");
    if (!r.ok() || !r->Validate(*c).ok()) return 0;
    auto rback = RoutingConfig::FromJson(r->ToJson(), "roundtrip");
    FUZZ_CHECK(rback.ok() && rback->Validate(*c).ok(),
               "ToJson() of an accepted routing section is rejected");
    FUZZ_CHECK(rback->RoutedLayers(c->num_layers) == r->RoutedLayers(c->num_layers) &&
                   rback->num_pathways == r->num_pathways && rback->top_k == r->top_k,
               "routing round trip changed the routed layers, pathways or top_k");
  }
  return 0;
}
