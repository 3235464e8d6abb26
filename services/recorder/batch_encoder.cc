// Batch -> RocksDB operations (counts aggregated per batch, raw events columnar).
#include "services/recorder/batch_encoder.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "services/recorder/key_codec.h"
#include "services/recorder/uint64_add_operator.h"

namespace monoroute::recorder {
namespace {

struct Scratch {
  std::vector<int32_t> slot_of_token;  // token -> slot, -1 when untouched
  std::vector<uint32_t> touched;       // tokens with a slot, in slot order
  std::vector<uint64_t> slots;         // touched.size() * P counts
  std::vector<uint32_t> tokens;        // touched, ascending
  std::vector<uint64_t> counts;        // tokens.size() * P, in token order
  std::string value;
};

char* PutBE32(char* p, uint32_t v) {
  p[0] = static_cast<char>(v >> 24);
  p[1] = static_cast<char>(v >> 16);
  p[2] = static_cast<char>(v >> 8);
  p[3] = static_cast<char>(v);
  return p + 4;
}

char* PutBE64(char* p, uint64_t v) {
  p = PutBE32(p, static_cast<uint32_t>(v >> 32));
  return PutBE32(p, static_cast<uint32_t>(v));
}

char* PutVarint(char* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}

}  // namespace

size_t EstimateWriteBatchBytes(const RunSpecData& spec, size_t events) {
  const size_t raw = spec.store_raw_events ? events * (12 + 5 * spec.top_k) : 0;
  return raw + events * spec.top_k * 2 + (64 << 10);
}

namespace {

// Counts per (pathway, token) of the batch into sc.tokens / sc.counts (ascending tokens) and the
// totals [tokens, count[P], fixed-point weight_sum[P]] into `tot`.
void CountBatch(const events::RoutingEventView& b, uint32_t P, uint32_t vocab, Scratch& sc,
                std::vector<uint64_t>* tot) {
  const uint32_t K = b.header.top_k;
  if (sc.slot_of_token.size() < vocab) sc.slot_of_token.assign(vocab, -1);
  sc.touched.clear();
  sc.slots.clear();
  tot->assign(1 + 2 * P, 0);
  uint64_t* t = tot->data();
  for (size_t i = 0; i < b.num_events(); ++i) {
    const uint32_t tok = b.token_id[i];
    int32_t slot = sc.slot_of_token[tok];
    if (slot < 0) {
      slot = static_cast<int32_t>(sc.touched.size());
      sc.slot_of_token[tok] = slot;
      sc.touched.push_back(tok);
      sc.slots.resize(sc.slots.size() + P, 0);
    }
    uint64_t* c = &sc.slots[static_cast<size_t>(slot) * P];
    const uint32_t* pw = &b.pathways[i * K];
    const float* w = &b.weights[i * K];
    for (uint32_t q = 0; q < K; ++q) {
      ++c[pw[q]];
      ++t[1 + pw[q]];
      double fw = static_cast<double>(w[q]) * static_cast<double>(1 << kWeightFracBits);
      t[1 + P + pw[q]] +=
          static_cast<uint64_t>(static_cast<int64_t>(fw >= 0 ? fw + 0.5 : fw - 0.5));
    }
  }
  t[0] = b.num_events();
  sc.tokens = sc.touched;
  std::sort(sc.tokens.begin(), sc.tokens.end());
  sc.counts.resize(sc.tokens.size() * P);
  for (size_t s = 0; s < sc.tokens.size(); ++s) {
    int32_t& slot = sc.slot_of_token[sc.tokens[s]];
    std::memcpy(&sc.counts[s * P], &sc.slots[static_cast<size_t>(slot) * P], P * sizeof(uint64_t));
    slot = -1;
  }
}

// Sparse block values of sc.tokens / sc.counts: one (block, value) per token block.
std::vector<std::pair<uint32_t, std::string>> SparseBlocks(const Scratch& sc, uint32_t P) {
  std::vector<std::pair<uint32_t, std::string>> blocks;
  for (size_t s = 0; s < sc.tokens.size();) {
    const uint32_t block = sc.tokens[s] / kTokensPerBlock;
    std::string& value = blocks.emplace_back(block, std::string()).second;
    value.reserve(64 * P);
    uint64_t prev = 0;
    bool first = true;
    for (; s < sc.tokens.size() && sc.tokens[s] / kTokensPerBlock == block; ++s) {
      const uint64_t base = static_cast<uint64_t>(sc.tokens[s] % kTokensPerBlock) * P;
      const uint64_t* c = &sc.counts[s * P];
      for (uint32_t p = 0; p < P; ++p) {
        if (c[p] == 0) continue;
        const uint64_t index = base + p;
        char buf[20];
        char* e = PutVarint(buf, first ? index : index - prev);
        e = PutVarint(e, c[p]);
        value.append(buf, e - buf);
        prev = index;
        first = false;
      }
    }
  }
  return blocks;
}

}  // namespace

void EncodeBatch(const RunLayout& run, uint32_t run_num, uint8_t split_id,
                 const events::RoutingEventView& b, uint8_t layer_idx, const ColumnFamilies& cf,
                 rocksdb::WriteBatch* wb, BatchInfo* info) {
  thread_local Scratch sc;
  const RunSpecData& spec = run.spec;
  const uint32_t P = spec.num_pathways;
  const uint32_t layer = spec.routed_layers[layer_idx];
  const uint64_t step = b.header.step;
  info->min_step = std::min(info->min_step, step);
  info->max_step = std::max(info->max_step, step);
  info->layers_mask |= uint64_t{1} << layer_idx;

  // Counts per token block, whole run and the step's bucket, then the layer's totals: merges in
  // increasing key order ('A', 'B', 'T'), so the memtable's skiplist inserts reuse their path.
  std::vector<uint64_t> tot;
  CountBatch(b, P, spec.vocab_size, sc, &tot);
  const std::vector<std::pair<uint32_t, std::string>> blocks = SparseBlocks(sc, P);
  char key[64];
  for (const auto& [block, value] : blocks) {  // whole-run counts
    char* k = PutBE32(key, run_num);
    *k++ = kCountsAll;
    k = PutBE32(k, layer);
    *k++ = static_cast<char>(split_id);
    k = PutBE32(k, block);
    wb->Merge(cf.counts, rocksdb::Slice(key, k - key), value);
  }
  for (const auto& [block, value] : blocks) {  // per step bucket
    char* k = PutBE32(key, run_num);
    *k++ = kCountsBucket;
    k = PutBE32(k, layer);
    k = PutBE64(k, step / spec.step_bucket);
    *k++ = static_cast<char>(split_id);
    k = PutBE32(k, block);
    wb->Merge(cf.counts, rocksdb::Slice(key, k - key), value);
  }
  char* k = PutBE32(key, run_num);
  *k++ = kCountsTotals;
  k = PutBE32(k, layer);
  *k++ = static_cast<char>(split_id);
  std::string v;
  EncodeSparse(tot.data(), tot.size(), &v);
  wb->Merge(cf.counts, rocksdb::Slice(key, k - key), v);

  // Raw events: the batch's columns as one columnar value.
  if (!spec.store_raw_events) return;
  sc.value.clear();
  EncodeRawBlock(b, split_id, &sc.value);
  wb->Put(cf.events, EventsKey(run_num, layer, step, b.header.writer_id, b.header.batch_id),
          sc.value);
}

}  // namespace monoroute::recorder
