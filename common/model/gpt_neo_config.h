// Compatibility name: GPTNeoConfig is the one model config of every family (model_config.h).
#ifndef MONOROUTE_COMMON_MODEL_GPT_NEO_CONFIG_H_
#define MONOROUTE_COMMON_MODEL_GPT_NEO_CONFIG_H_

#include "common/model/model_config.h"

namespace monoroute::model {

// The model config (all families); the name predates GPT-NeoX and GPT-2 support.
using GPTNeoConfig = ModelConfig;

}  // namespace monoroute::model

#endif  // MONOROUTE_COMMON_MODEL_GPT_NEO_CONFIG_H_
