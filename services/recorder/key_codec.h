// Byte layouts of the recorder's RocksDB keys and values (documented in docs/recorder.md).
// Integers in keys are fixed-width big-endian so that byte order equals numeric order; values use
// varints. Pure functions, thread-safe.
#ifndef MONOROUTE_SERVICES_RECORDER_KEY_CODEC_H_
#define MONOROUTE_SERVICES_RECORDER_KEY_CODEC_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/events/routing_event_batch.h"
#include "services/recorder/recorder_types.h"

namespace monoroute::recorder {

// --- primitive encoders ---------------------------------------------------------------------
void PutFixed32BE(std::string* out, uint32_t v);
void PutFixed64BE(std::string* out, uint64_t v);
uint32_t GetFixed32BE(const char* p);
uint64_t GetFixed64BE(const char* p);
void PutVarint64(std::string* out, uint64_t v);
// Decodes one varint from [p, end); returns the next position or nullptr when malformed.
const char* GetVarint64Ptr(const char* p, const char* end, uint64_t* v);
// Length-prefixed (u16 BE) string, for writer ids inside keys.
void PutShortString(std::string* out, std::string_view s);

// --- metadata column family -----------------------------------------------------------------
inline constexpr char kMetaNextRun = 'N';  // 'N' -> fixed64 next run number
inline constexpr char kMetaRun = 'R';      // 'R' run_id -> RunRecord
inline constexpr char kMetaSplit = 'S';    // 'S' run(4) split -> split id (1 byte)
inline constexpr char kMetaWriter = 'W';   // 'W' run(4) writer -> WriterStats
inline constexpr char kMetaDedup = 'D';    // 'D' run(4) len(2) writer seq(8) -> events

std::string RunKey(std::string_view run_id);
std::string SplitKey(uint32_t run, std::string_view split);
std::string WriterKey(uint32_t run, std::string_view writer);
std::string DedupKey(uint32_t run, std::string_view writer, uint64_t batch_seq);
// Prefix of every metadata key of a run for `tag` (S, W or D).
std::string RunMetaPrefix(char tag, uint32_t run);

// A run's persistent record: its internal number, spec and whether FinishRun marked it complete.
// Encoded as version 1 (number + spec) while not finished, version 2 (+ finished flag + time)
// once finished; both decode.
struct RunRecord {
  uint32_t run_num = 0;
  RunSpecData spec;
  bool finished = false;
  int64_t finished_unix_ms = 0;
};
std::string EncodeRunRecord(const RunRecord& r);
absl::StatusOr<RunRecord> DecodeRunRecord(std::string_view v);

// Per (run, writer) statistics; a run's summary is the sum over its writers.
struct WriterStats {
  uint64_t events = 0;
  uint64_t batches = 0;
  uint64_t min_step = UINT64_MAX;
  uint64_t max_step = 0;
  uint64_t layers_mask = 0;  // bit i: routed_layers[i] seen
  uint64_t splits_mask = 0;  // bit i: split id i seen
  int64_t first_ms = 0;
  int64_t last_ms = 0;
};
std::string EncodeWriterStats(const WriterStats& w);
absl::StatusOr<WriterStats> DecodeWriterStats(std::string_view v);

// --- counts column family -------------------------------------------------------------------
// Counts of a block of kTokensPerBlock consecutive token ids are one sparse vector (see
// uint64_add_operator.h) indexed by (token % kTokensPerBlock) * num_pathways + pathway:
// run(4) 'A' layer(4) split(1) block(4)            -> counts of the whole run
// run(4) 'B' layer(4) bucket(8) split(1) block(4)  -> counts of one step bucket
// run(4) 'T' layer(4) split(1)                     -> [tokens, count[P], weight_sum[P]]
inline constexpr char kCountsAll = 'A';
inline constexpr char kCountsBucket = 'B';
inline constexpr char kCountsTotals = 'T';
inline constexpr uint32_t kTokensPerBlock = 1024;
// Weight sums are fixed point with this many fractional bits, two's complement.
inline constexpr int kWeightFracBits = 24;

std::string CountsAllKey(uint32_t run, uint32_t layer, uint8_t split, uint32_t block);
std::string CountsBucketKey(uint32_t run, uint32_t layer, uint64_t bucket, uint8_t split,
                            uint32_t block);
std::string TotalsKey(uint32_t run, uint32_t layer, uint8_t split);
// Prefix run(4) tag layer(4).
std::string CountsLayerPrefix(uint32_t run, char tag, uint32_t layer);

// --- events column family -------------------------------------------------------------------
// run(4) layer(4) step(8) len(2) writer seq(8) -> raw block of the batch's events with that
// (layer, step), columnar (see EncodeRawBlock).
std::string EventsKey(uint32_t run, uint32_t layer, uint64_t step, std::string_view writer,
                      uint64_t batch_seq);
std::string RunPrefix(uint32_t run);  // run(4)
// Parsed events key.
struct EventsKeyParts {
  uint32_t run = 0, layer = 0;
  uint64_t step = 0, batch_seq = 0;
  std::string writer;
};
bool ParseEventsKey(std::string_view key, EventsKeyParts* parts);

// A raw block: the events of one batch with one (layer, step).
struct RawBlock {
  uint8_t split = 0;
  uint32_t top_k = 0;
  std::vector<uint64_t> sequence_id;
  std::vector<uint32_t> position, token_id, next_token_id, pathways;
  std::vector<float> weights;
};
// Appends the raw block of every event of `b` (one layer and step; top_k from its header) under
// split id `split` to `out`.
void EncodeRawBlock(const events::RoutingEventView& b, uint8_t split, std::string* out);
absl::StatusOr<RawBlock> DecodeRawBlock(std::string_view v);

}  // namespace monoroute::recorder

#endif  // MONOROUTE_SERVICES_RECORDER_KEY_CODEC_H_
