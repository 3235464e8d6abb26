// Synthetic routing data of monoroute-recorder-bench: the TinyStories-1M routing shape (4 routed
// layers of 8, 16 pathways, top-4, GPT-2 vocab), Zipf(1.1) token ids, token-correlated routes.
#ifndef MONOROUTE_SERVICES_RECORDER_TOOLS_BENCH_DATA_H_
#define MONOROUTE_SERVICES_RECORDER_TOOLS_BENCH_DATA_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/events/routing_event_batch.h"
#include "monoroute/recorder/v1/recorder.pb.h"
#include "services/recorder/recorder_types.h"

namespace monoroute::recorder::bench {

// The bench run's spec (raw = store raw events).
RunSpecData BenchSpec(const std::string& run_id, bool raw);

// Cumulative Zipf(1.1) weights over the spec's vocabulary (for MakeBenchBatch).
std::vector<double> ZipfCdf(uint32_t vocab_size);

// One batch of `tokens` x (number of routed layers) events of ONE routed layer
// (routed_layers[seed % layers]) at step 0, deterministic in `seed`: as many events per batch as
// `tokens` tokens through every routed layer. Writer "bench", batch id 0.
events::RoutingEventBatch MakeBenchBatch(const RunSpecData& spec, size_t tokens, uint32_t seed,
                                         const std::vector<double>& cdf);

// The wire form of a bench batch with run and writer set (proto_convert's ToProto).
v1::EventBatch ToWire(const events::RoutingEventBatch& b, const std::string& run_id,
                      const std::string& writer_id);

// The wire form of a spec (proto_convert's ToProto).
v1::RunSpec SpecToWire(const RunSpecData& spec);

// A run id unique to this process and moment: "<prefix>-<pid>-<ms>".
std::string UniqueRunId(const std::string& prefix);

}  // namespace monoroute::recorder::bench

#endif  // MONOROUTE_SERVICES_RECORDER_TOOLS_BENCH_DATA_H_
