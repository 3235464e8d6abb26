// recorder.v1.EventBatch parsed from its wire bytes (see event_batch_reader.h). The fast path
// accepts only what it can decode unambiguously and hands everything else to the generated
// parser; event_batch_reader_test and event_batch_reader_fuzzer compare the two.
#include "services/recorder/event_batch_reader.h"

#include <climits>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "services/recorder/event_batch_fields.h"
#include "services/recorder/proto_convert.h"

namespace monoroute::recorder {
namespace {

using namespace event_batch_fields;  // NOLINT(build/namespaces): the field list

// Reads a varint of at most 10 bytes ending before `end` into *v. nullptr when it runs past
// `end`, or is a 10-byte varint whose last byte carries more than the 64th bit: cases left to
// the generated parser.
inline const char* ReadVarint(const char* p, const char* end, uint64_t* v) {
  uint64_t r = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (p == end) return nullptr;
    const uint8_t b = static_cast<uint8_t>(*p++);
    if (shift == 63 && b > 1) return nullptr;
    r |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (b < 0x80) {
      *v = r;
      return p;
    }
  }
  return nullptr;
}

// Decodes one varint of 1 to 3 bytes at `q` (at least 3 readable bytes) into *v; nullptr for a
// longer one. The common case of every column: ids below 2^21.
inline const uint8_t* ReadShortVarint(const uint8_t* q, uint64_t* v) {
  uint64_t r = q[0];
  if (r < 0x80) {
    *v = r;
    return q + 1;
  }
  r = (r & 0x7f) | (uint64_t{q[1]} << 7);
  if (q[1] < 0x80) {
    *v = r;
    return q + 2;
  }
  r = (r & 0x3fff) | (uint64_t{q[2]} << 14);
  if (q[2] < 0x80) {
    *v = r;
    return q + 3;
  }
  return nullptr;
}

// Appends the packed varints of [p, end) to `col` (cast to T like the generated parser).
template <typename T>
bool ReadPacked(const char* p, const char* end, WireColumn<T>* col) {
  T* out = col->Reserve(static_cast<size_t>(end - p));  // at most one value per byte
  const uint8_t* q = reinterpret_cast<const uint8_t*>(p);
  const uint8_t* const e = reinterpret_cast<const uint8_t*>(end);
  uint64_t v;
  while (q != e) {
    const uint8_t* next = e - q >= 3 ? ReadShortVarint(q, &v) : nullptr;
    if (next == nullptr) {  // a long varint, or the last bytes: the bounds-checked decoder
      const char* c = ReadVarint(reinterpret_cast<const char*>(q), end, &v);
      if (c == nullptr) return false;
      next = reinterpret_cast<const uint8_t*>(c);
    }
    *out++ = static_cast<T>(v);
    q = next;
  }
  col->Commit(out);
  return true;
}

// Strings the fast path takes: ASCII only (the generated parser checks UTF-8 for the rest).
bool IsAscii(const char* p, size_t len) {
  for (size_t i = 0; i < len; ++i) {
    if (static_cast<uint8_t>(p[i]) >= 0x80) return false;
  }
  return true;
}

}  // namespace

bool EventBatchReader::ParseLengthDelimited(uint32_t field, const char* p, size_t len) {
  events::RoutingEventHeader& h = view_.header;
  const char* end = p + len;
  switch (field) {
    case kRunId:
    case kWriterId:
    case kSplit: {
      if (!IsAscii(p, len)) return false;
      std::string& s = field == kRunId ? h.run_id : field == kWriterId ? h.writer_id : h.split;
      s.assign(p, len);  // a repeated string field: the last one wins
      return true;
    }
    case kSequenceId:
      return ReadPacked(p, end, &sequence_id_);
    case kPosition:
      return ReadPacked(p, end, &position_);
    case kTokenId:
      return ReadPacked(p, end, &token_id_);
    case kNextTokenId:
      return ReadPacked(p, end, &next_token_id_);
    case kPathways:
      return ReadPacked(p, end, &pathways_);
    case kWeights: {
      if (len % sizeof(float) != 0) return false;
      if (len == 0) return true;  // an empty packed run adds nothing
      float* out = weights_.Reserve(len / sizeof(float));
      std::memcpy(out, p, len);  // fixed32, little-endian like the host
      weights_.Commit(out + len / sizeof(float));
      return true;
    }
    default:
      return false;  // unknown or reserved field
  }
}

bool EventBatchReader::ParseCanonical(const char* p, const char* end) {
  events::RoutingEventHeader& h = view_.header;
  while (p != end) {
    uint64_t tag;
    p = ReadVarint(p, end, &tag);
    if (p == nullptr || tag > UINT32_MAX) return false;
    const uint32_t field = static_cast<uint32_t>(tag >> 3);
    const uint32_t wire_type = static_cast<uint32_t>(tag & 7);
    uint64_t v;
    p = ReadVarint(p, end, &v);  // a scalar's value or a length
    if (p == nullptr) return false;
    if (wire_type == kVarint) {
      if (field == kBatchSeq) {
        h.batch_id = v;
      } else if (field == kStep) {
        h.step = v;
      } else if (field == kLayer) {
        h.layer = static_cast<uint32_t>(v);
      } else if (field == kTopK) {
        h.top_k = static_cast<uint32_t>(v);
      } else {
        return false;  // an unpacked column element or an unknown field
      }
      continue;
    }
    if (wire_type != kLengthDelimited || v > static_cast<uint64_t>(end - p)) return false;
    if (field == kBatchSeq || field == kStep || field == kLayer || field == kTopK) return false;
    if (!ParseLengthDelimited(field, p, static_cast<size_t>(v))) return false;
    p += v;
  }
  return true;
}

void EventBatchReader::ViewColumns() {
  view_.sequence_id = sequence_id_.span();
  view_.position = position_.span();
  view_.token_id = token_id_.span();
  view_.next_token_id = next_token_id_.span();
  view_.pathways = pathways_.span();
  view_.weights = weights_.span();
}

absl::Status EventBatchReader::Parse(absl::string_view bytes) {
  view_.header = events::RoutingEventHeader();
  sequence_id_.Clear();
  position_.Clear();
  token_id_.Clear();
  next_token_id_.Clear();
  pathways_.Clear();
  weights_.Clear();
  used_generic_ = false;
  if (ParseCanonical(bytes.data(), bytes.data() + bytes.size())) {
    ViewColumns();
    return absl::OkStatus();
  }
  used_generic_ = true;
  if (generic_ == nullptr) generic_ = std::make_unique<v1::EventBatch>();
  if (bytes.size() > static_cast<size_t>(INT_MAX) ||
      !generic_->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    view_ = events::RoutingEventView();
    return absl::InvalidArgumentError(
        absl::StrCat("EventBatch: malformed wire bytes (", bytes.size(), " bytes)"));
  }
  view_ = ViewOf(*generic_);
  return absl::OkStatus();
}

}  // namespace monoroute::recorder
