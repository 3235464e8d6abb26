// Shared helpers of the recorder tests: temp dirs, free ports, synthetic batches and a
// brute-force reference count of what was sent.
#ifndef MONOROUTE_TESTS_SERVICES_RECORDER_RECORDER_TEST_UTIL_H_
#define MONOROUTE_TESTS_SERVICES_RECORDER_RECORDER_TEST_UTIL_H_

#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "common/events/routing_event_batch.h"
#include "services/recorder/recorder_types.h"
#include "tests/testing/ports.h"
#include "tests/testing/temp_files.h"

namespace monoroute::recorder::testing {

// The one temp-dir helper (tests/testing/temp_files.h).
using ::monoroute::testing::TempDir;

// A tmpfs of `size` (e.g. "40m") mounted on `dir` (created), unmounted on destruction. Needs
// root with CAP_SYS_ADMIN: check mounted() and skip with error() otherwise.
class Tmpfs {
 public:
  Tmpfs(const std::string& dir, const std::string& size) : dir_(dir) {
    std::filesystem::create_directories(dir);
    const std::string opts = "size=" + size;
    mounted_ = ::mount("tmpfs", dir.c_str(), "tmpfs", 0, opts.c_str()) == 0;
    if (!mounted_) error_ = std::strerror(errno);
  }
  ~Tmpfs() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  Tmpfs(const Tmpfs&) = delete;
  Tmpfs& operator=(const Tmpfs&) = delete;
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }

 private:
  std::string dir_;
  bool mounted_ = false;
  std::string error_;
};

// Writes a file of `bytes` zeros (space to give back later); false when the device filled first.
inline bool WriteBallast(const std::string& path, size_t bytes) {
  std::ofstream out(path, std::ios::binary);
  std::string chunk(1 << 20, '\0');
  for (size_t done = 0; done < bytes && out; done += chunk.size()) {
    out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
  }
  out.flush();
  return static_cast<bool>(out);
}

// A currently free TCP port on 127.0.0.1 (tests/testing/ports.h); 0 when none could be bound.
inline int FreePort() {
  absl::StatusOr<std::vector<int>> ports = ::monoroute::testing::PickFreePorts(1);
  return ports.ok() ? (*ports)[0] : 0;
}

// Layers {0,2,4,6}, 16 pathways, top-4, vocab 1000, step bucket 10.
inline RunSpecData TestSpec(const std::string& run_id, bool store_raw = true) {
  RunSpecData s;
  s.run_id = run_id;
  s.routed_layers = {0, 2, 4, 6};
  s.num_pathways = 16;
  s.top_k = 4;
  s.vocab_size = 1000;
  s.store_raw_events = store_raw;
  s.step_bucket = 10;
  s.labels["model"] = "test";
  return s;
}

// A batch of `tokens` tokens of one routed layer at `step`: layer routed_layers[layer_index], or
// routed_layers[seq % layers] when layer_index < 0 (successive seqs cover every layer). Skewed
// token ids, distinct top-k pathways, positive weights.
inline events::RoutingEventBatch MakeBatch(const RunSpecData& spec, const std::string& writer,
                                           uint64_t seq, size_t tokens, uint64_t step,
                                           uint32_t rng_seed, const std::string& split = "",
                                           int layer_index = -1) {
  std::mt19937 rng(rng_seed);
  events::RoutingEventBatch b;
  events::RoutingEventHeader& h = b.header;
  h.run_id = spec.run_id;
  h.writer_id = writer;
  h.batch_id = seq;
  h.split = split;
  h.step = step;
  const size_t li = layer_index >= 0 ? static_cast<size_t>(layer_index)
                                     : static_cast<size_t>(seq % spec.routed_layers.size());
  h.layer = spec.routed_layers[li];
  h.top_k = spec.top_k;
  std::vector<uint32_t> tok(tokens);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (size_t t = 0; t < tokens; ++t) {
    double x = u(rng);
    tok[t] = static_cast<uint32_t>(x * x * x * (spec.vocab_size - 1));
  }
  std::vector<uint32_t> perm(spec.num_pathways);
  for (size_t t = 0; t < tokens; ++t) {
    b.sequence_id.push_back(seq * 1000 + t / 64);
    b.position.push_back(static_cast<uint32_t>(t % 64));
    b.token_id.push_back(tok[t]);
    b.next_token_id.push_back(tok[(t + 1) % tokens]);
    std::iota(perm.begin(), perm.end(), 0u);
    std::shuffle(perm.begin(), perm.end(), rng);
    for (uint32_t j = 0; j < spec.top_k; ++j) {
      b.pathways.push_back(perm[j]);
      b.weights.push_back(static_cast<float>(0.25 + 0.5 * u(rng)));
    }
  }
  return b;
}

// Brute-force reference: counts per (layer, split, pathway, token) and totals.
struct BruteCounts {
  std::map<std::tuple<uint32_t, std::string, uint32_t, uint32_t>, uint64_t> counts;
  std::map<std::pair<uint32_t, uint32_t>, double> weight;  // (layer, pathway)
  std::map<uint32_t, uint64_t> tokens;                     // layer -> events
  uint64_t events = 0;

  void Add(const events::RoutingEventBatch& b, uint32_t k, uint64_t min_step = 0,
           uint64_t max_step = UINT64_MAX) {
    const std::string split = events::EffectiveSplit(b.header.split);
    const uint32_t layer = b.header.layer;
    if (b.header.step < min_step || b.header.step > max_step) return;
    for (size_t i = 0; i < b.num_events(); ++i) {
      ++events;
      ++tokens[layer];
      for (uint32_t j = 0; j < k; ++j) {
        ++counts[{layer, split, b.pathways[i * k + j], b.token_id[i]}];
        weight[{layer, b.pathways[i * k + j]}] += b.weights[i * k + j];
      }
    }
  }

  // (pathway, token) -> count for one layer (all splits, or one).
  std::map<std::pair<uint32_t, uint32_t>, uint64_t> Layer(uint32_t layer,
                                                          const std::string& split = "") const {
    std::map<std::pair<uint32_t, uint32_t>, uint64_t> out;
    for (const auto& [key, c] : counts) {
      if (std::get<0>(key) != layer) continue;
      if (!split.empty() && std::get<1>(key) != split) continue;
      out[{std::get<2>(key), std::get<3>(key)}] += c;
    }
    return out;
  }
};

// Converts a counts result to the same map shape as BruteCounts::Layer.
inline std::map<std::pair<uint32_t, uint32_t>, uint64_t> ToMap(const CountsResultData& r) {
  std::map<std::pair<uint32_t, uint32_t>, uint64_t> out;
  for (size_t i = 0; i < r.count.size(); ++i) out[{r.pathway[i], r.token_id[i]}] += r.count[i];
  return out;
}

}  // namespace monoroute::recorder::testing

#endif  // MONOROUTE_TESTS_SERVICES_RECORDER_RECORDER_TEST_UTIL_H_
