// Batch -> RocksDB operations (counts aggregated per batch, raw events columnar per group).
#include "services/recorder/batch_encoder.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "services/recorder/key_codec.h"
#include "services/recorder/uint64_add_operator.h"

namespace monoroute::recorder {
namespace {

// Events of one (layer index, step) pair in the batch, as runs [start, end) of indices.
struct Group {
  uint8_t li;
  uint64_t step;
  std::vector<std::pair<uint32_t, uint32_t>> runs;
  uint32_t count = 0;
};

struct Scratch {
  std::vector<int32_t> slot_of_token;  // token -> slot, -1 when untouched
  std::vector<uint32_t> touched;       // tokens with a slot, in slot order
  std::vector<uint64_t> slots;         // touched.size() * P counts
  std::vector<uint32_t> idx;
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

void EncodeBatch(const RunLayout& run, uint32_t run_num, uint8_t split_id, const EventBatchData& b,
                 const std::vector<uint8_t>& layer_idx, const ColumnFamilies& cf,
                 rocksdb::WriteBatch* wb, BatchInfo* info) {
  thread_local Scratch sc;
  const RunSpecData& spec = run.spec;
  const uint32_t P = spec.num_pathways;
  const uint32_t K = spec.top_k;
  const uint64_t bs = spec.step_bucket;
  const size_t n = b.num_events();

  // 1. Group events by (layer, step): one hash lookup per run of equal pairs.
  std::vector<Group> groups;
  absl::flat_hash_map<std::pair<uint8_t, uint64_t>, uint32_t> group_of;
  for (size_t i = 0; i < n;) {
    size_t j = i + 1;
    while (j < n && layer_idx[j] == layer_idx[i] && b.step[j] == b.step[i]) ++j;
    auto [it, inserted] =
        group_of.try_emplace({layer_idx[i], b.step[i]}, static_cast<uint32_t>(groups.size()));
    if (inserted) groups.push_back(Group{layer_idx[i], b.step[i], {}, 0});
    Group& g = groups[it->second];
    g.runs.emplace_back(static_cast<uint32_t>(i), static_cast<uint32_t>(j));
    g.count += static_cast<uint32_t>(j - i);
    info->min_step = std::min(info->min_step, b.step[i]);
    info->max_step = std::max(info->max_step, b.step[i]);
    info->layers_mask |= uint64_t{1} << layer_idx[i];
    i = j;
  }

  // 2. Counts per (layer, bucket, token) and totals per layer, aggregated in the batch. The
  // merges are emitted in increasing key order (all 'A' keys, then 'B', then 'T'), so the
  // memtable's skiplist inserts reuse their search path.
  if (sc.slot_of_token.size() < spec.vocab_size) sc.slot_of_token.assign(spec.vocab_size, -1);
  struct Unit {
    uint32_t layer;
    uint64_t bucket;
    std::vector<uint32_t> tokens;  // ascending
    std::vector<uint64_t> counts;  // tokens.size() * P, in token order
  };
  std::vector<Unit> units;
  std::vector<std::pair<uint32_t, std::vector<uint64_t>>> totals;  // (layer, [tokens, c, w])
  // Groups sorted by routed-layer value, then step.
  std::sort(groups.begin(), groups.end(), [&](const Group& x, const Group& y) {
    uint32_t lx = spec.routed_layers[x.li], ly = spec.routed_layers[y.li];
    return lx != ly ? lx < ly : x.step < y.step;
  });
  for (size_t gi = 0; gi < groups.size();) {
    const uint8_t li = groups[gi].li;
    std::vector<uint64_t> tot(1 + 2 * P, 0);
    size_t ge = gi;
    while (ge < groups.size() && groups[ge].li == li) ++ge;
    for (size_t ui = gi; ui < ge;) {
      const uint64_t bucket = groups[ui].step / bs;
      size_t ue = ui;
      sc.touched.clear();
      sc.slots.clear();
      for (; ue < ge && groups[ue].step / bs == bucket; ++ue) {
        for (auto [s, e] : groups[ue].runs) {
          for (uint32_t i = s; i < e; ++i) {
            const uint32_t t = b.token_id[i];
            int32_t slot = sc.slot_of_token[t];
            if (slot < 0) {
              slot = static_cast<int32_t>(sc.touched.size());
              sc.slot_of_token[t] = slot;
              sc.touched.push_back(t);
              sc.slots.resize(sc.slots.size() + P, 0);
            }
            uint64_t* c = &sc.slots[static_cast<size_t>(slot) * P];
            const uint32_t* pw = &b.pathways[static_cast<size_t>(i) * K];
            const float* w = &b.weights[static_cast<size_t>(i) * K];
            for (uint32_t q = 0; q < K; ++q) {
              ++c[pw[q]];
              ++tot[1 + pw[q]];
              double fw = static_cast<double>(w[q]) * static_cast<double>(1 << kWeightFracBits);
              tot[1 + P + pw[q]] +=
                  static_cast<uint64_t>(static_cast<int64_t>(fw >= 0 ? fw + 0.5 : fw - 0.5));
            }
          }
          tot[0] += e - s;
        }
      }
      Unit& u = units.emplace_back();
      u.layer = spec.routed_layers[li];
      u.bucket = bucket;
      u.tokens = sc.touched;
      std::sort(u.tokens.begin(), u.tokens.end());
      u.counts.resize(u.tokens.size() * P);
      for (size_t s = 0; s < u.tokens.size(); ++s) {
        int32_t& slot = sc.slot_of_token[u.tokens[s]];
        std::memcpy(&u.counts[s * P], &sc.slots[static_cast<size_t>(slot) * P],
                    P * sizeof(uint64_t));
        slot = -1;
      }
      ui = ue;
    }
    totals.emplace_back(spec.routed_layers[li], std::move(tot));
    gi = ge;
  }
  // Sparse block values: one per (unit, token block), shared by the 'A' and 'B' keys.
  struct BlockValue {
    size_t unit;
    uint32_t block;
    std::string value;
  };
  std::vector<BlockValue> blocks;
  for (size_t ui = 0; ui < units.size(); ++ui) {
    const Unit& u = units[ui];
    for (size_t s = 0; s < u.tokens.size();) {
      const uint32_t block = u.tokens[s] / kTokensPerBlock;
      BlockValue& bv = blocks.emplace_back(BlockValue{ui, block, {}});
      bv.value.reserve(64 * P);
      uint64_t prev = 0;
      bool first = true;
      for (; s < u.tokens.size() && u.tokens[s] / kTokensPerBlock == block; ++s) {
        const uint64_t base = static_cast<uint64_t>(u.tokens[s] % kTokensPerBlock) * P;
        const uint64_t* c = &u.counts[s * P];
        for (uint32_t p = 0; p < P; ++p) {
          if (c[p] == 0) continue;
          const uint64_t index = base + p;
          char buf[20];
          char* e = PutVarint(buf, first ? index : index - prev);
          e = PutVarint(e, c[p]);
          bv.value.append(buf, e - buf);
          prev = index;
          first = false;
        }
      }
    }
  }
  char key[64];
  for (const BlockValue& bv : blocks) {  // whole-run counts
    const Unit& u = units[bv.unit];
    char* k = PutBE32(key, run_num);
    *k++ = kCountsAll;
    k = PutBE32(k, u.layer);
    *k++ = static_cast<char>(split_id);
    k = PutBE32(k, bv.block);
    wb->Merge(cf.counts, rocksdb::Slice(key, k - key), bv.value);
  }
  for (const BlockValue& bv : blocks) {  // per step bucket
    const Unit& u = units[bv.unit];
    char* k = PutBE32(key, run_num);
    *k++ = kCountsBucket;
    k = PutBE32(k, u.layer);
    k = PutBE64(k, u.bucket);
    *k++ = static_cast<char>(split_id);
    k = PutBE32(k, bv.block);
    wb->Merge(cf.counts, rocksdb::Slice(key, k - key), bv.value);
  }
  for (const auto& [layer, tot] : totals) {
    char* k = PutBE32(key, run_num);
    *k++ = kCountsTotals;
    k = PutBE32(k, layer);
    *k++ = static_cast<char>(split_id);
    std::string v;
    EncodeSparse(tot.data(), tot.size(), &v);
    wb->Merge(cf.counts, rocksdb::Slice(key, k - key), v);
  }

  // 3. Raw events, one columnar value per (layer, step) group.
  if (!spec.store_raw_events) return;
  for (const Group& g : groups) {
    sc.idx.clear();
    for (auto [s, e] : g.runs) {
      for (uint32_t i = s; i < e; ++i) sc.idx.push_back(i);
    }
    sc.value.clear();
    EncodeRawBlock(b, sc.idx.data(), sc.idx.size(), K, split_id, &sc.value);
    wb->Put(cf.events,
            EventsKey(run_num, spec.routed_layers[g.li], g.step, b.writer_id, b.batch_seq),
            sc.value);
  }
}

}  // namespace monoroute::recorder
