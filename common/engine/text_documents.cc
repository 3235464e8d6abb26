// Document splitting of plain text and JSONL training files.
#include "common/engine/text_documents.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/base/enum_names.h"
#include "common/base/file_util.h"
#include "common/base/status_macros.h"
#include "common/engine/data_file.h"

namespace monoroute::engine {
namespace {

constexpr absl::string_view kEot = "<|endoftext|>";

// The layouts by their `format` name ("auto" is resolved by ResolveTextFormat).
constexpr EnumNames<TextFormat, 2> kTextFormatNames = {
    {{TextFormat::kText, "text"}, {TextFormat::kJsonl, "jsonl"}}};

// Calls fn(line) for each line (without '\n') of `text`, with its start offset.
template <typename Fn>
void ForEachLine(absl::string_view text, Fn fn) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    size_t end = nl == absl::string_view::npos ? text.size() : nl;
    fn(text.substr(pos, end - pos), pos, end);
    pos = end + 1;
  }
}

}  // namespace

const char* TextFormatName(TextFormat f) { return NameOf(kTextFormatNames, f, "text"); }

absl::StatusOr<TextFormat> ResolveTextFormat(const std::string& format, const std::string& path) {
  if (std::optional<TextFormat> f = FindEnum(kTextFormatNames, format)) return *f;
  if (format == "auto" || format.empty()) {
    std::string lower = absl::AsciiStrToLower(path);
    if (absl::EndsWith(lower, ".jsonl") || absl::EndsWith(lower, ".json")) {
      return TextFormat::kJsonl;
    }
    return TextFormat::kText;
  }
  return UnsupportedNameError("format", format, AcceptedNames(kTextFormatNames, {"auto"}));
}

bool HasEndOfTextLines(absl::string_view text) {
  bool has_eot = false;
  ForEachLine(text, [&](absl::string_view line, size_t, size_t) {
    if (!has_eot && absl::StripAsciiWhitespace(line) == kEot) has_eot = true;
  });
  return has_eot;
}

std::vector<absl::string_view> SplitTextDocuments(absl::string_view text) {
  const bool has_eot = HasEndOfTextLines(text);
  std::vector<absl::string_view> docs;
  size_t doc_start = 0;
  auto flush = [&](size_t end) {
    absl::string_view d = absl::StripAsciiWhitespace(text.substr(doc_start, end - doc_start));
    if (!d.empty()) docs.push_back(d);
  };
  ForEachLine(text, [&](absl::string_view line, size_t begin, size_t end) {
    absl::string_view stripped = absl::StripAsciiWhitespace(line);
    bool sep = has_eot ? stripped == kEot : stripped.empty();
    if (sep) {
      flush(begin);
      doc_start = std::min(end + 1, text.size());
    }
  });
  if (doc_start < text.size()) flush(text.size());
  return docs;
}

absl::StatusOr<std::vector<std::string>> ParseJsonlDocuments(absl::string_view text,
                                                             const std::string& source) {
  std::vector<std::string> docs;
  int64_t line_no = 0;
  absl::Status status;
  ForEachLine(text, [&](absl::string_view line, size_t, size_t) {
    ++line_no;
    if (!status.ok() || absl::StripAsciiWhitespace(line).empty()) return;
    nlohmann::json j = nlohmann::json::parse(line.begin(), line.end(), nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      status =
          absl::InvalidArgumentError(absl::StrCat(source, ":", line_no, ": not a JSON object"));
      return;
    }
    auto it = j.find("text");
    if (it == j.end() || !it->is_string()) {
      status = absl::InvalidArgumentError(
          absl::StrCat(source, ":", line_no, ": missing string field \"text\""));
      return;
    }
    std::string s = it->get<std::string>();
    if (!absl::StripAsciiWhitespace(s).empty()) docs.push_back(std::move(s));
  });
  RETURN_IF_ERROR(status);
  return docs;
}

absl::StatusOr<DocumentSet> ReadDocuments(const std::string& path, TextFormat format) {
  RETURN_IF_ERROR(CheckDataFile("text file", path).status());  // never opens a FIFO
  ASSIGN_OR_RETURN(MappedFile f, MappedFile::Open(path));
  absl::string_view text(f.data(), f.size());
  DocumentSet out;
  if (format == TextFormat::kJsonl) {
    ASSIGN_OR_RETURN(out.docs, ParseJsonlDocuments(text, path));
    return out;
  }
  out.paragraphs = !HasEndOfTextLines(text);
  for (absl::string_view d : SplitTextDocuments(text)) out.docs.emplace_back(d);
  return out;
}

}  // namespace monoroute::engine
