// Compatibility names: GPTNeo is the one causal-LM module of every family (causal_lm.h).
#ifndef MONOROUTE_COMMON_MODEL_GPT_NEO_H_
#define MONOROUTE_COMMON_MODEL_GPT_NEO_H_

#include "common/model/causal_lm.h"
#include "common/model/gpt_neo_config.h"

namespace monoroute::model {

// The causal LM (GPT-Neo, GPT-NeoX or GPT-2 by its config); the names predate the other families.
using GPTNeo = CausalLM;
using GPTNeoImpl = CausalLMImpl;

}  // namespace monoroute::model

#endif  // MONOROUTE_COMMON_MODEL_GPT_NEO_H_
