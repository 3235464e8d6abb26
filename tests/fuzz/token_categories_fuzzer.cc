// libFuzzer target: the token-categories TSV (common/corpus TokenCategories::ParseTsv, the file
// `monoroute corpus generate --categories` writes and the analysis reads) for a 4096-id
// vocabulary. Properties: no crash or sanitizer report; an accepted table has one entry per id,
// every label is a valid index or a sentinel, every name passes LabelSet::ValidateName, and the
// table written back as TSV parses to the same table.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/corpus/label_set.h"
#include "common/corpus/token_categories.h"
#include "tests/fuzz/fuzz_check.h"

namespace {
constexpr int32_t kVocab = 4096;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  auto tc = monoroute::TokenCategories::ParseTsv(text, "fuzz.tsv", kVocab);
  if (!tc.ok()) return 0;
  FUZZ_CHECK(tc->label_by_id.size() == kVocab && tc->count_by_id.size() == kVocab,
             "table sizes %zu / %zu", tc->label_by_id.size(), tc->count_by_id.size());
  for (const std::string& name : tc->labels.names()) {
    FUZZ_CHECK(monoroute::LabelSet::ValidateName(name).ok(), "invalid label name accepted");
  }
  // The TSV TokenCategories::WriteTsv writes (token column left empty: it is ignored on read).
  std::string out = "token_id\ttoken\tcategory\tcount\n";
  for (int32_t id = 0; id < kVocab; ++id) {
    const int32_t label = tc->label_by_id[id];
    FUZZ_CHECK(label == monoroute::kLabelNone || label == monoroute::kLabelMixed ||
                   tc->labels.Contains(label),
               "id %d has label %d", id, label);
    if (label == monoroute::kLabelNone) continue;
    absl::StrAppend(&out, id, "\t\t", tc->labels.NameOf(label), "\t", tc->count_by_id[id], "\n");
  }
  auto back = monoroute::TokenCategories::ParseTsv(out, "roundtrip.tsv", kVocab);
  FUZZ_CHECK(back.ok(), "written table is rejected: %s", back.status().ToString().c_str());
  for (int32_t id = 0; id < kVocab; ++id) {
    FUZZ_CHECK(back->NameOf(id) == tc->NameOf(id) && back->count_by_id[id] == tc->count_by_id[id],
               "id %d changed in the round trip", id);
  }
  return 0;
}
