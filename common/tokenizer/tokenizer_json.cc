// ParseTokenizerJson: tokenizer.json -> TokenizerJson, refusing what cannot be reproduced exactly.
#include "common/tokenizer/tokenizer_json.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "common/base/bounded_text.h"
#include "common/base/status_macros.h"

namespace monoroute {
namespace {

using nlohmann::json;

// Error context: the file and a JSON path.
struct Ctx {
  const std::string& file;

  absl::Status Error(const std::string& jpath, absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat(file, ": ", jpath, ": ", what));
  }
  absl::Status Unsupported(const std::string& jpath, const json& value,
                           absl::string_view supported) const {
    return Error(jpath,
                 absl::StrCat(BoundedText(value.dump()), " is not supported (", supported, ")"));
  }
  // *out = obj[key] as a bool; absent or null keeps *out.
  absl::Status Bool(const json& obj, const char* key, const std::string& jpath, bool* out) const {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return absl::OkStatus();
    if (!it->is_boolean()) return Error(absl::StrCat(jpath, ".", key), "must be a boolean");
    *out = it->get<bool>();
    return absl::OkStatus();
  }
  // obj["type"] as a string ("" when absent).
  absl::StatusOr<std::string> Type(const json& obj, const std::string& jpath) const {
    if (!obj.is_object()) return Error(jpath, "must be an object or null");
    auto it = obj.find("type");
    if (it == obj.end()) return std::string();
    if (!it->is_string()) return Error(jpath + ".type", "must be a string");
    return it->get<std::string>();
  }
};

absl::Status ParseNormalizer(const Ctx& c, const json& n, const std::string& jp, bool* nfc) {
  if (n.is_null()) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::string type, c.Type(n, jp));
  if (type == "NFC") {
    *nfc = true;
    return absl::OkStatus();
  }
  if (type != "Sequence")
    return c.Unsupported(jp + ".type", n.value("type", json()), "supported: NFC, Sequence");
  auto it = n.find("normalizers");
  if (it == n.end() || !it->is_array()) return c.Error(jp + ".normalizers", "must be an array");
  for (size_t i = 0; i < it->size(); ++i) {
    RETURN_IF_ERROR(ParseNormalizer(c, (*it)[i], absl::StrCat(jp, ".normalizers[", i, "]"), nfc));
  }
  return absl::OkStatus();
}

// A ByteLevel component (pre-tokenizer, decoder or post-processor) at `jp`; its options go to
// `pipeline` when `pipeline` is set (the pre-tokenizer's), else they are only type-checked.
absl::Status ParseByteLevel(const Ctx& c, const json& v, const std::string& jp,
                            BpePipelineOptions* pipeline) {
  ASSIGN_OR_RETURN(std::string type, c.Type(v, jp));
  if (type != "ByteLevel")
    return c.Unsupported(jp + ".type", v.value("type", json()), "supported: ByteLevel");
  bool add_prefix_space = true, trim_offsets = true, use_regex = true;
  RETURN_IF_ERROR(c.Bool(v, "add_prefix_space", jp, &add_prefix_space));
  RETURN_IF_ERROR(c.Bool(v, "trim_offsets", jp, &trim_offsets));
  RETURN_IF_ERROR(c.Bool(v, "use_regex", jp, &use_regex));
  if (pipeline != nullptr) {
    pipeline->add_prefix_space = add_prefix_space;
    pipeline->use_regex = use_regex;
  }
  return absl::OkStatus();
}

absl::Status ParsePreTokenizer(const Ctx& c, const json& v, BpePipelineOptions* pipeline) {
  const std::string jp = "pre_tokenizer";
  if (v.is_null()) return c.Unsupported(jp, v, "a ByteLevel pre-tokenizer is required");
  ASSIGN_OR_RETURN(std::string type, c.Type(v, jp));
  if (type != "Sequence") return ParseByteLevel(c, v, jp, pipeline);
  auto it = v.find("pretokenizers");
  if (it == v.end() || !it->is_array()) return c.Error(jp + ".pretokenizers", "must be an array");
  if (it->size() != 1) {
    return c.Error(jp + ".pretokenizers",
                   absl::StrCat("holds ", it->size(),
                                " pre-tokenizers; only a Sequence of one ByteLevel is supported"));
  }
  return ParseByteLevel(c, (*it)[0], jp + ".pretokenizers[0]", pipeline);
}

absl::Status ParseAddedTokens(const Ctx& c, const json& v, std::vector<AddedToken>* out) {
  if (v.is_null()) return absl::OkStatus();
  if (!v.is_array()) return c.Error("added_tokens", "must be an array");
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string jp = absl::StrCat("added_tokens[", i, "]");
    const json& t = v[i];
    if (!t.is_object()) return c.Error(jp, "must be an object");
    AddedToken a;
    auto id = t.find("id");
    if (id == t.end() || !id->is_number_integer() || id->get<int64_t>() < 0 ||
        id->get<int64_t>() >= (int64_t{1} << 30)) {
      return c.Error(jp + ".id", "must be an integer in [0, 2^30)");
    }
    a.id = static_cast<int32_t>(id->get<int64_t>());
    auto content = t.find("content");
    if (content == t.end() || !content->is_string() || content->get<std::string>().empty()) {
      return c.Error(jp + ".content", "must be a non-empty string");
    }
    a.content = content->get<std::string>();
    RETURN_IF_ERROR(c.Bool(t, "special", jp, &a.special));
    a.normalized = !a.special;  // HF's default, overridden when present
    RETURN_IF_ERROR(c.Bool(t, "normalized", jp, &a.normalized));
    RETURN_IF_ERROR(c.Bool(t, "single_word", jp, &a.single_word));
    RETURN_IF_ERROR(c.Bool(t, "lstrip", jp, &a.lstrip));
    RETURN_IF_ERROR(c.Bool(t, "rstrip", jp, &a.rstrip));
    out->push_back(std::move(a));
  }
  return absl::OkStatus();
}

absl::Status ParseMerges(const Ctx& c, const json& v,
                         std::vector<std::pair<std::string, std::string>>* out) {
  if (!v.is_array()) return c.Error("model.merges", "must be an array");
  out->reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    const json& m = v[i];
    if (m.is_string()) {
      const std::string& s = m.get_ref<const std::string&>();
      const size_t sp = s.find(' ');
      if (sp != std::string::npos && sp > 0 && sp + 1 < s.size() &&
          s.find(' ', sp + 1) == std::string::npos) {
        out->emplace_back(s.substr(0, sp), s.substr(sp + 1));
        continue;
      }
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string() &&
               !m[0].get_ref<const std::string&>().empty() &&
               !m[1].get_ref<const std::string&>().empty()) {
      out->emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
      continue;
    }
    return c.Error(absl::StrCat("model.merges[", i, "]"),
                   absl::StrCat("expected \"left right\" or [\"left\", \"right\"], got ",
                                BoundedText(m.dump())));
  }
  return absl::OkStatus();
}

// `model`: a byte-level BPE without dropout or subword affixes.
absl::Status ParseModel(const Ctx& c, json& model, TokenizerJson* out) {
  if (!model.is_object()) return c.Error("model", "must be an object");
  ASSIGN_OR_RETURN(std::string type, c.Type(model, "model"));
  if (!type.empty() && type != "BPE")
    return c.Unsupported("model.type", model["type"], "supported: BPE");
  auto dropout = model.find("dropout");
  if (dropout != model.end() && !dropout->is_null() &&
      !(dropout->is_number() && dropout->get<double>() == 0.0)) {
    return c.Unsupported("model.dropout", *dropout, "supported: null");
  }
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    auto it = model.find(key);
    if (it != model.end() && !it->is_null() &&
        !(it->is_string() && it->get<std::string>().empty())) {
      return c.Unsupported(absl::StrCat("model.", key), *it, "supported: null or \"\"");
    }
  }
  RETURN_IF_ERROR(c.Bool(model, "ignore_merges", "model", &out->pipeline.ignore_merges));
  bool ignored = false;
  RETURN_IF_ERROR(c.Bool(model, "byte_fallback", "model", &ignored));
  RETURN_IF_ERROR(c.Bool(model, "fuse_unk", "model", &ignored));
  auto vocab = model.find("vocab");
  if (vocab == model.end() || !vocab->is_object() || vocab->empty()) {
    return c.Error("model.vocab", "must be a non-empty object of token -> id");
  }
  out->vocab = std::move(*vocab);
  auto merges = model.find("merges");
  if (merges == model.end()) return c.Error("model.merges", "is missing");
  return ParseMerges(c, *merges, &out->merges);
}

}  // namespace

absl::StatusOr<TokenizerJson> ParseTokenizerJson(absl::string_view text, const std::string& path) {
  const Ctx c{path};
  json root = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded())
    return absl::InvalidArgumentError(absl::StrCat(path, ": not valid JSON"));
  if (!root.is_object()) return c.Error("(root)", "must be a JSON object");
  TokenizerJson out;
  for (const char* key : {"truncation", "padding"}) {
    auto it = root.find(key);
    if (it != root.end() && !it->is_null()) return c.Unsupported(key, *it, "supported: null");
  }
  RETURN_IF_ERROR(
      ParseNormalizer(c, root.value("normalizer", json()), "normalizer", &out.pipeline.nfc));
  RETURN_IF_ERROR(ParsePreTokenizer(c, root.value("pre_tokenizer", json()), &out.pipeline));
  json decoder = root.value("decoder", json());
  if (decoder.is_null()) return c.Unsupported("decoder", decoder, "supported: ByteLevel");
  RETURN_IF_ERROR(ParseByteLevel(c, decoder, "decoder", nullptr));
  json post = root.value("post_processor", json());
  if (!post.is_null()) RETURN_IF_ERROR(ParseByteLevel(c, post, "post_processor", nullptr));
  RETURN_IF_ERROR(ParseAddedTokens(c, root.value("added_tokens", json()), &out.added_tokens));
  auto model = root.find("model");
  if (model == root.end()) return c.Error("model", "is missing");
  RETURN_IF_ERROR(ParseModel(c, *model, &out));
  return out;
}

}  // namespace monoroute
