// RoutingInfo -> events::RoutingEventBatch.
#include "common/engine/routing_events.h"

namespace monoroute::engine {

uint64_t RoutingBlockId(const std::string& split, int64_t step, int64_t micro_batch, int layer,
                        int shard, int num_shards) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a of the split name
  for (unsigned char c : split) h = (h ^ c) * 0x100000001b3ULL;
  h = HashPair(h, static_cast<uint64_t>(step));
  h = HashPair(h, static_cast<uint64_t>(micro_batch));
  h = HashPair(h, static_cast<uint64_t>(layer));
  if (num_shards <= 1) return h;
  return HashPair(h, HashPair(static_cast<uint64_t>(shard), static_cast<uint64_t>(num_shards)));
}

events::RoutingEventBatch MakeRoutingEvents(const model::RoutingInfo& info, const SequenceBatch& b,
                                            int64_t step, const std::string& split,
                                            int64_t micro_batch, int shard, int num_shards) {
  events::RoutingEventBatch e;
  events::RoutingEventHeader& h = e.header;
  h.step = static_cast<uint64_t>(step);
  h.split = split;
  h.layer = static_cast<uint32_t>(info.layer);
  h.top_k = static_cast<uint32_t>(info.topk_indices.size(1));
  h.batch_id =
      RoutingBlockId(split, step, micro_batch, static_cast<int>(h.layer), shard, num_shards);
  const int64_t t = b.seq_len;
  const int64_t n = b.batch * t;
  const int k = static_cast<int>(h.top_k);
  e.sequence_id.resize(n);
  e.position.resize(n);
  e.token_id.resize(n);
  e.next_token_id.resize(n);
  torch::Tensor idx = info.topk_indices.to(torch::kInt64).contiguous();
  torch::Tensor w = info.topk_weights.to(torch::kFloat).contiguous();
  const int64_t* ip = idx.data_ptr<int64_t>();
  const float* wp = w.data_ptr<float>();
  e.pathways.resize(static_cast<size_t>(n) * k);
  e.weights.assign(wp, wp + static_cast<size_t>(n) * k);
  for (int64_t i = 0; i < n * k; ++i) e.pathways[i] = static_cast<uint32_t>(ip[i]);
  for (int64_t r = 0; r < b.batch; ++r) {
    const int32_t* row = b.tokens.data() + r * (t + 1);
    for (int64_t p = 0; p < t; ++p) {
      int64_t i = r * t + p;
      e.sequence_id[i] = b.window_ids[r];
      e.position[i] = static_cast<uint32_t>(p);
      e.token_id[i] = static_cast<uint32_t>(row[p]);
      e.next_token_id[i] = static_cast<uint32_t>(row[p + 1]);
    }
  }
  return e;
}

}  // namespace monoroute::engine
