// Conversion of one routed layer's RoutingInfo (CPU copy) for one micro-batch into the
// events::RoutingEventBatch the observer receives, with a deterministic batch id.
#ifndef MONOROUTE_COMMON_ENGINE_ROUTING_EVENTS_H_
#define MONOROUTE_COMMON_ENGINE_ROUTING_EVENTS_H_

#include <cstdint>
#include <string>

#include "common/engine/sequence_sampler.h"
#include "common/engine/training_observer.h"
#include "common/model/pathway_router.h"

namespace monoroute::engine {

// Deterministic id of (split, step, micro-batch, layer) and, in a data-parallel step, of the
// rank's share `shard` of `num_shards` (num_shards 1 gives the single-process id): equal inputs
// give equal ids, distinct shares distinct ids.
uint64_t RoutingBlockId(const std::string& split, int64_t step, int64_t micro_batch, int layer,
                        int shard = 0, int num_shards = 1);

// `info` must be on the CPU with [B*T, k] tensors for batch `b` (inputs = b's first seq_len
// tokens of each row); `shard` / `num_shards` as RoutingBlockId. The header's run_id and
// writer_id stay empty. Thread-compatible.
events::RoutingEventBatch MakeRoutingEvents(const model::RoutingInfo& info, const SequenceBatch& b,
                                            int64_t step, const std::string& split,
                                            int64_t micro_batch, int shard = 0, int num_shards = 1);

}  // namespace monoroute::engine

#endif  // MONOROUTE_COMMON_ENGINE_ROUTING_EVENTS_H_
