// Key and value layouts of the recorder store.
#include "services/recorder/key_codec.h"

#include <cstring>
#include <map>
#include <string>
#include <type_traits>

#include "absl/strings/str_cat.h"

namespace monoroute::recorder {

void PutFixed32BE(std::string* out, uint32_t v) {
  char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
               static_cast<char>(v)};
  out->append(b, 4);
}

void PutFixed64BE(std::string* out, uint64_t v) {
  PutFixed32BE(out, static_cast<uint32_t>(v >> 32));
  PutFixed32BE(out, static_cast<uint32_t>(v));
}

uint32_t GetFixed32BE(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) | (uint32_t{u[2]} << 8) | u[3];
}

uint64_t GetFixed64BE(const char* p) {
  return (uint64_t{GetFixed32BE(p)} << 32) | GetFixed32BE(p + 4);
}

void PutVarint64(std::string* out, uint64_t v) {
  char buf[10];
  int n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  out->append(buf, n);
}

const char* GetVarint64Ptr(const char* p, const char* end, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && p < end; shift += 7) {
    uint64_t byte = static_cast<unsigned char>(*p++);
    result |= (byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return p;
    }
  }
  return nullptr;
}

void PutShortString(std::string* out, std::string_view s) {
  out->push_back(static_cast<char>(s.size() >> 8));
  out->push_back(static_cast<char>(s.size()));
  out->append(s.data(), s.size());
}

std::string RunKey(std::string_view run_id) { return std::string("R").append(run_id); }

std::string RunMetaPrefix(char tag, uint32_t run) {
  std::string k(1, tag);
  PutFixed32BE(&k, run);
  return k;
}

std::string SplitKey(uint32_t run, std::string_view split) {
  std::string k = RunMetaPrefix(kMetaSplit, run);
  k.append(split.data(), split.size());
  return k;
}

std::string WriterKey(uint32_t run, std::string_view writer) {
  std::string k = RunMetaPrefix(kMetaWriter, run);
  k.append(writer.data(), writer.size());
  return k;
}

std::string DedupKey(uint32_t run, std::string_view writer, uint64_t batch_seq) {
  std::string k = RunMetaPrefix(kMetaDedup, run);
  PutShortString(&k, writer);
  PutFixed64BE(&k, batch_seq);
  return k;
}

namespace {

void PutString(std::string* out, std::string_view s) {
  PutVarint64(out, s.size());
  out->append(s.data(), s.size());
}

// Sequential reader over a value; any failure sets ok=false.
struct Reader {
  const char* p;
  const char* end;
  bool ok = true;
  uint64_t Varint() {
    uint64_t v = 0;
    if (!ok) return 0;
    const char* q = GetVarint64Ptr(p, end, &v);
    if (q == nullptr) {
      ok = false;
      return 0;
    }
    p = q;
    return v;
  }
  std::string String() {
    uint64_t n = Varint();
    if (!ok || static_cast<uint64_t>(end - p) < n) {
      ok = false;
      return {};
    }
    std::string s(p, n);
    p += n;
    return s;
  }
  const char* Bytes(size_t n) {
    if (!ok || static_cast<size_t>(end - p) < n) {
      ok = false;
      return nullptr;
    }
    const char* q = p;
    p += n;
    return q;
  }
  // One field of a stored record (the reverse of FieldWriter).
  template <typename T>
  void operator()(T& x) {
    if constexpr (std::is_same_v<T, std::string>) {
      x = String();
    } else if constexpr (std::is_same_v<T, std::map<std::string, std::string>>) {
      const uint64_t n = Varint();
      for (uint64_t i = 0; ok && i < n; ++i) {
        std::string k = String();
        x[k] = String();
      }
    } else if constexpr (std::is_integral_v<T>) {
      x = static_cast<T>(Varint());
    } else {
      const uint64_t n = Varint();
      for (uint64_t i = 0; ok && i < n; ++i) {
        x.push_back(static_cast<typename T::value_type>(Varint()));
      }
    }
  }
};

// Appends the fields of a stored record: an integer or bool as a varint, a string as its length
// and bytes, a vector of integers or a string map as its size and then its elements.
struct FieldWriter {
  std::string* out;
  template <typename T>
  void operator()(const T& x) {
    if constexpr (std::is_same_v<T, std::string>) {
      PutString(out, x);
    } else if constexpr (std::is_same_v<T, std::map<std::string, std::string>>) {
      PutVarint64(out, x.size());
      for (const auto& [k, v] : x) {
        PutString(out, k);
        PutString(out, v);
      }
    } else if constexpr (std::is_integral_v<T>) {
      PutVarint64(out, static_cast<uint64_t>(x));
    } else {
      PutVarint64(out, x.size());
      for (auto e : x) PutVarint64(out, static_cast<uint64_t>(e));
    }
  }
};

// The stored fields of a run record after its version byte, in their order; version 2 appends
// VisitFinishedFields. `R` is RunRecord, const or not; `v` is a FieldWriter or a Reader.
template <typename R, typename V>
void VisitRunRecordFields(R& r, V& v) {
  v(r.run_num);
  v(r.spec.run_id);
  v(r.spec.routed_layers);
  v(r.spec.num_pathways);
  v(r.spec.top_k);
  v(r.spec.vocab_size);
  v(r.spec.store_raw_events);
  v(r.spec.step_bucket);
  v(r.spec.raw_retention_steps);
  v(r.spec.labels);
}

// What version 2 of a run record adds: the finished flag (always 1 when written) and its time.
template <typename R, typename V>
void VisitFinishedFields(R& r, V& v) {
  v(r.finished);
  v(r.finished_unix_ms);
}

// The stored fields of a writer's statistics, in their order.
template <typename W, typename V>
void VisitWriterStatsFields(W& w, V& v) {
  v(w.events);
  v(w.batches);
  v(w.min_step);
  v(w.max_step);
  v(w.layers_mask);
  v(w.splits_mask);
  v(w.first_ms);
  v(w.last_ms);
}

}  // namespace

bool RunSpecData::operator==(const RunSpecData& o) const {
  return run_id == o.run_id && routed_layers == o.routed_layers && num_pathways == o.num_pathways &&
         top_k == o.top_k && vocab_size == o.vocab_size && store_raw_events == o.store_raw_events &&
         step_bucket == o.step_bucket && raw_retention_steps == o.raw_retention_steps &&
         labels == o.labels;
}

std::string EncodeRunRecord(const RunRecord& r) {
  std::string v;
  v.push_back(r.finished ? 2 : 1);  // version (1 = written before FinishRun existed)
  FieldWriter w{&v};
  VisitRunRecordFields(r, w);
  if (r.finished) VisitFinishedFields(r, w);
  return v;
}

absl::StatusOr<RunRecord> DecodeRunRecord(std::string_view v) {
  if (v.empty() || (v[0] != 1 && v[0] != 2)) {
    return absl::DataLossError("run record: unknown version");
  }
  Reader r{v.data() + 1, v.data() + v.size()};
  RunRecord rec;
  VisitRunRecordFields(rec, r);
  if (v[0] == 2) VisitFinishedFields(rec, r);
  if (!r.ok || r.p != r.end) return absl::DataLossError("run record: malformed");
  return rec;
}

std::string EncodeWriterStats(const WriterStats& w) {
  std::string v;
  FieldWriter out{&v};
  VisitWriterStatsFields(w, out);
  return v;
}

absl::StatusOr<WriterStats> DecodeWriterStats(std::string_view v) {
  Reader r{v.data(), v.data() + v.size()};
  WriterStats w;
  VisitWriterStatsFields(w, r);
  if (!r.ok || r.p != r.end) return absl::DataLossError("writer stats: malformed");
  return w;
}

std::string CountsLayerPrefix(uint32_t run, char tag, uint32_t layer) {
  std::string k;
  k.reserve(24);
  PutFixed32BE(&k, run);
  k.push_back(tag);
  PutFixed32BE(&k, layer);
  return k;
}

std::string CountsAllKey(uint32_t run, uint32_t layer, uint8_t split, uint32_t block) {
  std::string k = CountsLayerPrefix(run, kCountsAll, layer);
  k.push_back(static_cast<char>(split));
  PutFixed32BE(&k, block);
  return k;
}

std::string CountsBucketKey(uint32_t run, uint32_t layer, uint64_t bucket, uint8_t split,
                            uint32_t block) {
  std::string k = CountsLayerPrefix(run, kCountsBucket, layer);
  PutFixed64BE(&k, bucket);
  k.push_back(static_cast<char>(split));
  PutFixed32BE(&k, block);
  return k;
}

std::string TotalsKey(uint32_t run, uint32_t layer, uint8_t split) {
  std::string k = CountsLayerPrefix(run, kCountsTotals, layer);
  k.push_back(static_cast<char>(split));
  return k;
}

std::string RunPrefix(uint32_t run) {
  std::string k;
  PutFixed32BE(&k, run);
  return k;
}

std::string EventsKey(uint32_t run, uint32_t layer, uint64_t step, std::string_view writer,
                      uint64_t batch_seq) {
  std::string k;
  k.reserve(26 + writer.size());
  PutFixed32BE(&k, run);
  PutFixed32BE(&k, layer);
  PutFixed64BE(&k, step);
  PutShortString(&k, writer);
  PutFixed64BE(&k, batch_seq);
  return k;
}

bool ParseEventsKey(std::string_view key, EventsKeyParts* parts) {
  if (key.size() < 18) return false;
  const char* p = key.data();
  parts->run = GetFixed32BE(p);
  parts->layer = GetFixed32BE(p + 4);
  parts->step = GetFixed64BE(p + 8);
  size_t wlen = (static_cast<unsigned char>(p[16]) << 8) | static_cast<unsigned char>(p[17]);
  if (key.size() != 18 + wlen + 8) return false;
  parts->writer.assign(p + 18, wlen);
  parts->batch_seq = GetFixed64BE(p + 18 + wlen);
  return true;
}

namespace {

char* PutVarintRaw(char* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}

}  // namespace

void EncodeRawBlock(const events::RoutingEventView& b, uint8_t split, std::string* out) {
  const size_t n = b.num_events();
  const uint32_t k = b.header.top_k;
  const size_t start = out->size();
  // Upper bound: header + 4 varint columns (<= 10 bytes each) + pathways + weights.
  out->resize(start + 2 + 20 + n * 40 + n * k * (1 + sizeof(float)));
  char* p = out->data() + start;
  *p++ = 1;  // version
  *p++ = static_cast<char>(split);
  p = PutVarintRaw(p, n);
  p = PutVarintRaw(p, k);
  for (size_t i = 0; i < n; ++i) p = PutVarintRaw(p, b.sequence_id[i]);
  for (size_t i = 0; i < n; ++i) p = PutVarintRaw(p, b.position[i]);
  for (size_t i = 0; i < n; ++i) p = PutVarintRaw(p, b.token_id[i]);
  for (size_t i = 0; i < n; ++i) p = PutVarintRaw(p, b.next_token_id[i]);
  for (size_t i = 0; i < n * k; ++i) *p++ = static_cast<char>(b.pathways[i]);
  std::memcpy(p, b.weights.data(), n * k * sizeof(float));
  p += n * k * sizeof(float);
  out->resize(p - out->data());
}

absl::StatusOr<RawBlock> DecodeRawBlock(std::string_view v) {
  if (v.size() < 2 || v[0] != 1) return absl::DataLossError("raw block: unknown version");
  RawBlock rb;
  rb.split = static_cast<uint8_t>(v[1]);
  Reader r{v.data() + 2, v.data() + v.size()};
  uint64_t n = r.Varint();
  uint64_t k = r.Varint();
  if (!r.ok || k == 0 || k > kMaxPathways || n > (1ull << 32)) {
    return absl::DataLossError("raw block: bad header");
  }
  rb.top_k = static_cast<uint32_t>(k);
  rb.sequence_id.resize(n);
  rb.position.resize(n);
  rb.token_id.resize(n);
  rb.next_token_id.resize(n);
  for (uint64_t i = 0; i < n; ++i) rb.sequence_id[i] = r.Varint();
  for (uint64_t i = 0; i < n; ++i) rb.position[i] = static_cast<uint32_t>(r.Varint());
  for (uint64_t i = 0; i < n; ++i) rb.token_id[i] = static_cast<uint32_t>(r.Varint());
  for (uint64_t i = 0; i < n; ++i) rb.next_token_id[i] = static_cast<uint32_t>(r.Varint());
  const char* pw = r.Bytes(n * k);
  const char* wt = r.Bytes(n * k * sizeof(float));
  if (!r.ok || r.p != r.end) return absl::DataLossError("raw block: malformed");
  rb.pathways.resize(n * k);
  for (uint64_t i = 0; i < n * k; ++i) rb.pathways[i] = static_cast<unsigned char>(pw[i]);
  rb.weights.resize(n * k);
  std::memcpy(rb.weights.data(), wt, n * k * sizeof(float));
  return rb;
}

}  // namespace monoroute::recorder
