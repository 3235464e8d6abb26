// libFuzzer target: the recorder's own parser of recorder.v1.EventBatch wire bytes
// (services/recorder/event_batch_reader: EventBatchReader::Parse, what every Record batch goes
// through). The input is the wire bytes of one batch. Properties: no crash or sanitizer report;
// the reader accepts exactly the inputs the generated parser (v1::EventBatch::ParseFromArray)
// accepts, with the same header and columns (weights bit for bit, through ViewOf), and rejects
// the others with INVALID_ARGUMENT; parsing the same bytes again with the same reader (its
// columns reused) gives the same batch.
#include <cstddef>
#include <cstdint>
#include <string>

#include "monoroute/recorder/v1/recorder.pb.h"
#include "services/recorder/event_batch_reader.h"
#include "services/recorder/proto_convert.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/services/recorder/event_batch_test_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using monoroute::recorder::EventBatchReader;
  using monoroute::recorder::testing::DiffViews;
  static EventBatchReader* reused = new EventBatchReader();  // keeps columns across inputs
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  EventBatchReader fresh;
  const absl::Status s = fresh.Parse(bytes);
  monoroute::recorder::v1::EventBatch m;
  const bool ok = m.ParseFromArray(data, static_cast<int>(size));
  FUZZ_CHECK(s.ok() == ok, "reader says %s, generated parser says %s", s.ToString().c_str(),
             ok ? "ok" : "malformed");
  if (!ok) {
    FUZZ_CHECK(s.code() == absl::StatusCode::kInvalidArgument, "status %s", s.ToString().c_str());
    return 0;
  }
  const std::string diff = DiffViews(fresh.view(), monoroute::recorder::ViewOf(m));
  FUZZ_CHECK(diff.empty(), "field %s differs from the generated parser's", diff.c_str());
  FUZZ_CHECK(reused->Parse(bytes).ok(), "a reused reader rejected accepted bytes");
  const std::string again = DiffViews(reused->view(), fresh.view());
  FUZZ_CHECK(again.empty(), "field %s differs after reuse", again.c_str());
  return 0;
}
