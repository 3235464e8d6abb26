// Synthetic routing data of monoroute-recorder-bench.
#include "services/recorder/tools/bench_data.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>

#include "absl/strings/str_cat.h"
#include "services/recorder/proto_convert.h"

namespace monoroute::recorder::bench {

RunSpecData BenchSpec(const std::string& run_id, bool raw) {
  RunSpecData s;
  s.run_id = run_id;
  s.routed_layers = {1, 3, 5, 7};
  s.num_pathways = 16;
  s.top_k = 4;
  s.vocab_size = 50257;
  s.store_raw_events = raw;
  s.step_bucket = 1000;
  return s;
}

std::vector<double> ZipfCdf(uint32_t vocab_size) {
  std::vector<double> cdf(vocab_size);
  double acc = 0;
  for (uint32_t r = 0; r < vocab_size; ++r) cdf[r] = acc += 1.0 / std::pow(r + 1.0, 1.1);
  return cdf;
}

events::RoutingEventBatch MakeBenchBatch(const RunSpecData& spec, size_t tokens, uint32_t seed,
                                         const std::vector<double>& cdf) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  const uint32_t layer = spec.routed_layers[seed % spec.routed_layers.size()];
  const size_t n = tokens * spec.routed_layers.size();
  events::RoutingEventBatch b;
  b.header.run_id = spec.run_id;
  b.header.writer_id = "bench";
  b.header.layer = layer;
  b.header.top_k = spec.top_k;
  std::vector<uint32_t> tok(n);
  for (auto& t : tok) {
    t = static_cast<uint32_t>(std::lower_bound(cdf.begin(), cdf.end(), u(rng) * cdf.back()) -
                              cdf.begin());
    t = std::min<uint32_t>(t, spec.vocab_size - 1);
  }
  for (size_t i = 0; i < n; ++i) {
    b.sequence_id.push_back(seed * 100000ull + i / 128);
    b.position.push_back(static_cast<uint32_t>(i % 128));
    b.token_id.push_back(tok[i]);
    b.next_token_id.push_back(tok[(i + 1) % n]);
    // Routes depend mostly on (token, layer), sometimes on context.
    uint64_t h = (tok[i] * 0x9E3779B97F4A7C15ull) ^ (layer * 0xC2B2AE3D27D4EB4Full);
    if (u(rng) < 0.3) h ^= rng();
    uint32_t used = 0;
    for (uint32_t j = 0; j < spec.top_k; ++j) {
      uint32_t p = static_cast<uint32_t>((h >> (8 * j)) % spec.num_pathways);
      while (used & (1u << p)) p = (p + 1) % spec.num_pathways;
      used |= 1u << p;
      b.pathways.push_back(p);
      b.weights.push_back(static_cast<float>(0.1 + 0.3 * u(rng)));
    }
  }
  return b;
}

v1::EventBatch ToWire(const events::RoutingEventBatch& b, const std::string& run_id,
                      const std::string& writer_id) {
  v1::EventBatch m;
  ToProto(b.view(), &m);
  m.set_run_id(run_id);
  m.set_writer_id(writer_id);
  return m;
}

v1::RunSpec SpecToWire(const RunSpecData& spec) {
  v1::RunSpec rs;
  ToProto(spec, &rs);
  return rs;
}

std::string UniqueRunId(const std::string& prefix) {
  return absl::StrCat(prefix, "-", ::getpid(), "-",
                      std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count());
}

}  // namespace monoroute::recorder::bench
