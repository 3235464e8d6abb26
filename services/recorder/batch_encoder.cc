// Batch -> RocksDB operations (counts aggregated per batch, raw events columnar per group).
#include "services/recorder/batch_encoder.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "services/recorder/key_codec.h"

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

void EncodeBatch(const RunLayout& run, uint32_t run_num, uint8_t split_id,
                 const EventBatchData& b, const std::vector<uint8_t>& layer_idx,
                 const ColumnFamilies& cf, rocksdb::WriteBatch* wb, BatchInfo* info) {
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
    auto [it, inserted] = group_of.try_emplace({layer_idx[i], b.step[i]},
                                               static_cast<uint32_t>(groups.size()));
    if (inserted) groups.push_back(Group{layer_idx[i], b.step[i], {}, 0});
    Group& g = groups[it->second];
    g.runs.emplace_back(static_cast<uint32_t>(i), static_cast<uint32_t>(j));
    g.count += static_cast<uint32_t>(j - i);
    info->min_step = std::min(info->min_step, b.step[i]);
    info->max_step = std::max(info->max_step, b.step[i]);
    info->layers_mask |= uint64_t{1} << layer_idx[i];
    i = j;
  }
  std::sort(groups.begin(), groups.end(), [](const Group& x, const Group& y) {
    return x.li != y.li ? x.li < y.li : x.step < y.step;
  });

  // 2. Counts per (layer, bucket, token), totals per layer.
  if (sc.slot_of_token.size() < spec.vocab_size) sc.slot_of_token.assign(spec.vocab_size, -1);
  std::vector<uint64_t> tot(1 + 2 * P);
  char key[64];
  char val[16 * (2 * kMaxPathways + 1)];
  for (size_t gi = 0; gi < groups.size();) {
    const uint8_t li = groups[gi].li;
    const uint32_t layer = spec.routed_layers[li];
    std::fill(tot.begin(), tot.end(), 0);
    // All groups of this layer.
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
              tot[1 + P + pw[q]] += static_cast<uint64_t>(
                  static_cast<int64_t>(fw >= 0 ? fw + 0.5 : fw - 0.5));
            }
          }
          tot[0] += e - s;
        }
      }
      // Emit one bucket merge and one whole-run merge per touched token.
      char* kb = PutBE32(key, run_num);
      *kb++ = kCountsBucket;
      kb = PutBE32(kb, layer);
      kb = PutBE64(kb, bucket);
      *kb++ = static_cast<char>(split_id);
      char* ka = PutBE32(key + 32, run_num);
      *ka++ = kCountsAll;
      ka = PutBE32(ka, layer);
      *ka++ = static_cast<char>(split_id);
      for (size_t s = 0; s < sc.touched.size(); ++s) {
        const uint32_t t = sc.touched[s];
        sc.slot_of_token[t] = -1;
        const uint64_t* c = &sc.slots[s * P];
        char* v = val;
        for (uint32_t p = 0; p < P; ++p) v = PutVarint(v, c[p]);
        rocksdb::Slice vs(val, v - val);
        PutBE32(kb, t);
        wb->Merge(cf.counts, rocksdb::Slice(key, kb + 4 - key), vs);
        PutBE32(ka, t);
        wb->Merge(cf.counts, rocksdb::Slice(key + 32, ka + 4 - (key + 32)), vs);
      }
      ui = ue;
    }
    char* kt = PutBE32(key, run_num);
    *kt++ = kCountsTotals;
    kt = PutBE32(kt, layer);
    *kt++ = static_cast<char>(split_id);
    char* v = val;
    for (uint64_t x : tot) v = PutVarint(v, x);
    wb->Merge(cf.counts, rocksdb::Slice(key, kt - key), rocksdb::Slice(val, v - val));
    gi = ge;
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
    wb->Put(cf.events, EventsKey(run_num, spec.routed_layers[g.li], g.step, b.writer_id, b.batch_seq),
            sc.value);
  }
}

}  // namespace monoroute::recorder
