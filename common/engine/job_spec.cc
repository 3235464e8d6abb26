// Job spec YAML parsing (strict: unknown keys and bad values name their key path), overrides,
// serialisation and file-system checks.
#include "common/engine/job_spec.h"

#include <unistd.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/base/data_dirs.h"
#include "common/base/file_util.h"
#include "common/base/status_macros.h"
#include "common/base/utf8.h"
#include "common/engine/data_file.h"
#include "common/engine/job_spec_fields.h"
#include "common/tokenizer/gpt2_tokenizer.h"

namespace monoroute::engine {
namespace {

namespace fs = std::filesystem;

// `s` for an error message: at most 64 bytes of it, then "... (N bytes)", so a hostile value or
// key is never echoed whole; bytes other than printable ASCII show as '?'.
std::string Cut(const std::string& s) {
  constexpr size_t kShown = 64;
  std::string out = s.substr(0, kShown);
  for (char& c : out) {
    if (c < 0x20 || c > 0x7e) c = '?';
  }
  if (s.size() <= kShown) return out;
  return absl::StrCat(out, "... (", s.size(), " bytes)");
}

// Thrown by YamlLimits to stop yaml-cpp's event parser.
struct YamlLimitError {
  std::string message;
};

// Event handler that enforces the spec limits before any node tree is built: refuses aliases
// (yaml-cpp's loader expands them, the "billion laughs" bomb) and bounds node count and depth.
class YamlLimits : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& m, YAML::anchor_t) override { Node(m); }
  void OnAlias(const YAML::Mark& m, YAML::anchor_t) override {
    throw YamlLimitError{absl::StrCat("aliases are not allowed in job specs (line ", m.line + 1,
                                      ", column ", m.column + 1, ")")};
  }
  void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                const std::string&) override {
    Node(m);
  }
  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    Open(m);
  }
  void OnSequenceEnd() override { --depth_; }
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    Open(m);
  }
  void OnMapEnd() override { --depth_; }

 private:
  void Node(const YAML::Mark& m) {
    if (++nodes_ > kMaxJobSpecNodes) {
      throw YamlLimitError{
          absl::StrCat("more than ", kMaxJobSpecNodes, " YAML nodes (line ", m.line + 1, ")")};
    }
  }
  void Open(const YAML::Mark& m) {
    Node(m);
    if (++depth_ > kMaxJobSpecDepth) {
      throw YamlLimitError{
          absl::StrCat("nested deeper than ", kMaxJobSpecDepth, " levels (line ", m.line + 1, ")")};
    }
  }
  size_t nodes_ = 0;
  int depth_ = 0;
};

// A YAML document as a value-semantics tree: scalars stay strings (typed when read), so
// overrides and typed reads are uniform.
struct Tree {
  enum Kind { kNull, kScalar, kSeq, kMap } kind = kNull;
  std::string scalar;
  std::vector<Tree> seq;
  std::vector<std::pair<std::string, Tree>> map;  // insertion order

  Tree* Find(const std::string& key) {
    for (auto& [k, v] : map) {
      if (k == key) return &v;
    }
    return nullptr;
  }
};

absl::StatusOr<Tree> FromYaml(const YAML::Node& n, const std::string& path) {
  Tree t;
  switch (n.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      t.kind = Tree::kNull;
      return t;
    case YAML::NodeType::Scalar:
      t.kind = Tree::kScalar;
      t.scalar = n.Scalar();
      return t;
    case YAML::NodeType::Sequence:
      t.kind = Tree::kSeq;
      for (size_t i = 0; i < n.size(); ++i) {
        ASSIGN_OR_RETURN(Tree c, FromYaml(n[i], absl::StrCat(path, "[", i, "]")));
        t.seq.push_back(std::move(c));
      }
      return t;
    case YAML::NodeType::Map:
      t.kind = Tree::kMap;
      for (auto it = n.begin(); it != n.end(); ++it) {
        if (!it->first.IsScalar()) {
          return absl::InvalidArgumentError(
              absl::StrCat(path.empty() ? "job spec" : path, ": map keys must be scalars"));
        }
        std::string key = it->first.Scalar();
        std::string sub = path.empty() ? Cut(key) : absl::StrCat(path, ".", Cut(key));
        for (const auto& [k, v] : t.map) {
          if (k == key) return absl::InvalidArgumentError(absl::StrCat(sub, ": duplicate key"));
        }
        ASSIGN_OR_RETURN(Tree c, FromYaml(it->second, sub));
        t.map.emplace_back(key, std::move(c));
      }
      return t;
  }
  return t;
}

// Events only (no tree), limits enforced, so a loader run afterwards cannot expand anything.
// Like YAML::Load, only the first document counts.
absl::Status ScanYamlLimits(const std::string& text, const std::string& what) {
  try {
    std::istringstream in(text);
    YAML::Parser parser(in);
    YamlLimits limits;
    parser.HandleNextDocument(limits);
  } catch (const YamlLimitError& e) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", e.message));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": invalid YAML: ", e.what()));
  }
  return absl::OkStatus();
}

absl::StatusOr<Tree> ParseYamlText(const std::string& text, const std::string& what) {
  RETURN_IF_ERROR(ScanYamlLimits(text, what));
  YAML::Node node;
  try {
    node = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": invalid YAML: ", e.what()));
  }
  return FromYaml(node, "");
}

// A key path for messages; the key is cut (a hostile key is never echoed whole).
std::string Join(const std::string& path, const std::string& key) {
  return path.empty() ? Cut(key) : absl::StrCat(path, ".", Cut(key));
}

// Typed, strict reader of one YAML map: every key must be consumed, or Finish() names the first
// unknown one.
class MapReader {
 public:
  MapReader(const Tree* t, std::string path) : t_(t), path_(std::move(path)) {}

  absl::Status CheckIsMap() const {
    if (t_ == nullptr || t_->kind == Tree::kNull || t_->kind == Tree::kMap) {
      return absl::OkStatus();
    }
    return absl::InvalidArgumentError(
        absl::StrCat(path_.empty() ? "job spec" : path_, ": expected a map"));
  }

  // Returns the child `key` (nullptr when absent or null) and marks it consumed.
  const Tree* Get(const std::string& key) {
    seen_.insert(key);
    if (t_ == nullptr || t_->kind != Tree::kMap) return nullptr;
    for (const auto& [k, v] : t_->map) {
      if (k == key) return v.kind == Tree::kNull ? nullptr : &v;
    }
    return nullptr;
  }

  absl::StatusOr<const Tree*> Scalar(const std::string& key) {
    const Tree* v = Get(key);
    if (v != nullptr && v->kind != Tree::kScalar) {
      return absl::InvalidArgumentError(absl::StrCat(Join(path_, key), ": expected a scalar"));
    }
    return v;
  }

  absl::Status Str(const std::string& key, std::string* out) {
    ASSIGN_OR_RETURN(const Tree* v, Scalar(key));
    if (v != nullptr) *out = v->scalar;
    return absl::OkStatus();
  }

  template <typename T>
  absl::Status Int(const std::string& key, T* out) {
    ASSIGN_OR_RETURN(const Tree* v, Scalar(key));
    if (v == nullptr) return absl::OkStatus();
    return ParseInt(v->scalar, Join(path_, key), out);
  }

  absl::Status Double(const std::string& key, double* out) {
    ASSIGN_OR_RETURN(const Tree* v, Scalar(key));
    if (v == nullptr) return absl::OkStatus();
    return ParseDouble(v->scalar, Join(path_, key), out);
  }

  absl::Status Bool(const std::string& key, bool* out) {
    ASSIGN_OR_RETURN(const Tree* v, Scalar(key));
    if (v == nullptr) return absl::OkStatus();
    std::string s = absl::AsciiStrToLower(v->scalar);
    if (s == "true" || s == "yes" || s == "on") {
      *out = true;
    } else if (s == "false" || s == "no" || s == "off") {
      *out = false;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat(Join(path_, key), ": expected true or false, got '", Cut(v->scalar), "'"));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<const Tree*>> List(const std::string& key) {
    const Tree* v = Get(key);
    std::vector<const Tree*> out;
    if (v == nullptr) return out;
    if (v->kind != Tree::kSeq) {
      return absl::InvalidArgumentError(absl::StrCat(Join(path_, key), ": expected a list"));
    }
    for (size_t i = 0; i < v->seq.size(); ++i) {
      if (v->seq[i].kind != Tree::kScalar) {
        return absl::InvalidArgumentError(
            absl::StrCat(Join(path_, key), "[", i, "]: expected a scalar"));
      }
      out.push_back(&v->seq[i]);
    }
    return out;
  }

  MapReader Sub(const std::string& key) { return MapReader(Get(key), Join(path_, key)); }

  absl::Status Finish() const {
    if (t_ == nullptr || t_->kind != Tree::kMap) return absl::OkStatus();
    for (const auto& [k, v] : t_->map) {
      if (seen_.count(k) == 0) {
        return absl::InvalidArgumentError(absl::StrCat(Join(path_, k), ": unknown key"));
      }
    }
    return absl::OkStatus();
  }

  const std::string& path() const { return path_; }

  template <typename T>
  static absl::Status ParseInt(const std::string& s, const std::string& where, T* out) {
    if constexpr (std::is_same_v<T, uint64_t>) {
      uint64_t u = 0;
      if (!absl::SimpleAtoi(s, &u)) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": expected an integer >= 0, got '", Cut(s), "'"));
      }
      *out = u;
      return absl::OkStatus();
    }
    int64_t v = 0;
    if (!absl::SimpleAtoi(s, &v)) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": expected an integer, got '", Cut(s), "'"));
    }
    if constexpr (std::is_unsigned_v<T>) {
      if (v < 0) return absl::InvalidArgumentError(absl::StrCat(where, ": must be >= 0"));
    }
    if (static_cast<int64_t>(static_cast<T>(v)) != v) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": ", Cut(s), " is out of range"));
    }
    *out = static_cast<T>(v);
    return absl::OkStatus();
  }

  static absl::Status ParseDouble(const std::string& s, const std::string& where, double* out) {
    double v = 0;
    if (!absl::SimpleAtod(s, &v) || !std::isfinite(v)) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": expected a finite number, got '", Cut(s), "'"));
    }
    *out = v;
    return absl::OkStatus();
  }

 private:
  const Tree* t_;
  std::string path_;
  std::set<std::string> seen_;
};

// Reads the fields a field list (job_spec_fields.h, model/config_fields.h) visits from one YAML
// map (through MapReader: types checked, errors name the key path); sections become sub-maps.
class YamlFieldReader {
 public:
  explicit YamlFieldReader(MapReader* r) : r_(r) {}

  template <typename T>
  std::enable_if_t<std::is_integral_v<T>> operator()(const char* key, T& out) {
    Do([&] { return r_->Int(key, &out); });
  }
  void operator()(const char* key, double& out) {
    Do([&] { return r_->Double(key, &out); });
  }
  void operator()(const char* key, bool& out) {
    Do([&] { return r_->Bool(key, &out); });
  }
  void operator()(const char* key, std::optional<bool>& out) {
    Do([&]() -> absl::Status {
      ASSIGN_OR_RETURN(const Tree* v, r_->Scalar(key));
      if (v == nullptr) return absl::OkStatus();
      bool b = false;
      RETURN_IF_ERROR(r_->Bool(key, &b));
      out = b;
      return absl::OkStatus();
    });
  }
  void operator()(const char* key, std::string& out, JobString = JobString::kWord) {
    Do([&] { return r_->Str(key, &out); });
  }
  void operator()(const char* key, std::vector<int64_t>& out) {
    Do([&]() -> absl::Status {
      ASSIGN_OR_RETURN(auto items, r_->List(key));
      if (items.empty()) return absl::OkStatus();
      out.clear();
      for (size_t i = 0; i < items.size(); ++i) {
        int64_t v = 0;
        RETURN_IF_ERROR(MapReader::ParseInt(items[i]->scalar,
                                            absl::StrCat(Join(r_->path(), key), "[", i, "]"), &v));
        out.push_back(v);
      }
      return absl::OkStatus();
    });
  }
  void operator()(const char* key, std::vector<std::string>& out) {
    Do([&]() -> absl::Status {
      ASSIGN_OR_RETURN(auto items, r_->List(key));
      if (items.empty()) return absl::OkStatus();
      out.clear();
      for (const Tree* t : items) out.push_back(t->scalar);
      return absl::OkStatus();
    });
  }
  void operator()(const char* key, model::BalancingMethod& out) {
    Word(
        key, "'glbl', 'switch', 'aux_free' or 'none'",
        [&](const std::string& w) { return model::ParseBalancingMethod(w); }, &out);
  }
  void operator()(const char* key, model::ModelFamily& out) {
    Word(
        key, "'gpt_neo', 'gpt_neox' or 'gpt2'",
        [&](const std::string& w) { return model::ParseModelFamily(w); }, &out);
  }
  // A list of exactly two numbers, e.g. `betas: [beta1, beta2]` (the names are for messages).
  void Pair(const char* key, const char* first_name, double& first, const char* second_name,
            double& second) {
    Do([&]() -> absl::Status {
      ASSIGN_OR_RETURN(auto items, r_->List(key));
      if (items.empty()) return absl::OkStatus();
      const std::string where = Join(r_->path(), key);
      if (items.size() != 2) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": expected [", first_name, ", ", second_name, "]"));
      }
      RETURN_IF_ERROR(MapReader::ParseDouble(items[0]->scalar, where + "[0]", &first));
      return MapReader::ParseDouble(items[1]->scalar, where + "[1]", &second);
    });
  }
  template <typename T, typename F>
  void Section(const char* key, T& sub, F fn) {
    Do([&]() -> absl::Status {
      MapReader sr = r_->Sub(key);
      RETURN_IF_ERROR(sr.CheckIsMap());
      YamlFieldReader w(&sr);
      fn(sub, w);
      RETURN_IF_ERROR(w.status());
      return sr.Finish();
    });
  }
  const absl::Status& status() const { return status_; }

 private:
  template <typename F>
  void Do(F f) {
    if (status_.ok()) status_ = f();
  }
  // A string field parsed into an enum; errors list the accepted words.
  template <typename T, typename P>
  void Word(const char* key, const char* accepted, P parse, T* out) {
    Do([&]() -> absl::Status {
      ASSIGN_OR_RETURN(const Tree* v, r_->Scalar(key));
      if (v == nullptr) return absl::OkStatus();
      absl::StatusOr<T> parsed = parse(v->scalar);
      if (!parsed.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(Join(r_->path(), key), ": must be ",
                                                       accepted, ", got '", Cut(v->scalar), "'"));
      }
      *out = *parsed;
      return absl::OkStatus();
    });
  }
  MapReader* r_;
  absl::Status status_;
};

// Reads the whole spec (VisitJobFields), rejecting unknown keys at every level.
absl::Status ReadJob(const Tree& root, JobSpec* s) {
  MapReader r(&root, "");
  RETURN_IF_ERROR(r.CheckIsMap());
  YamlFieldReader fields(&r);
  VisitJobFields(*s, fields);
  RETURN_IF_ERROR(fields.status());
  return r.Finish();
}

absl::Status Bad(const std::string& key, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(key, ": ", what));
}

bool IsDevice(const std::string& d) {
  if (d == "cpu" || d == "cuda") return true;
  if (d.rfind("cuda:", 0) != 0) return false;
  int n = 0;
  return absl::SimpleAtoi(d.substr(5), &n) && n >= 0;
}

// True when `s` is well-formed UTF-8 (no overlong forms, surrogates or code points > U+10FFFF).
bool IsUtf8(const std::string& s) { return !FirstInvalidUtf8(s).has_value(); }

// Bounds the length of a string field (the value is never echoed whole) and requires UTF-8
// (job records and the gRPC API carry these strings).
absl::Status CheckLength(const std::string& key, const std::string& value, size_t max) {
  if (value.size() > max) {
    return Bad(key, absl::StrCat(value.size(), " bytes, more than the limit of ", max, " ('",
                                 Cut(value), "')"));
  }
  if (!IsUtf8(value)) return Bad(key, "not valid UTF-8");
  return absl::OkStatus();
}

// Bounds every string of the spec by its JobString class (plain strings: words), and every list
// by kMaxJobLayers entries (a list of strings: each entry a word), walking VisitJobFields.
class StringBounds {
 public:
  explicit StringBounds(std::string path) : path_(std::move(path)) {}

  void operator()(const char* key, const std::string& value, JobString bound = JobString::kWord) {
    const size_t max = bound == JobString::kName   ? kMaxJobNameBytes
                       : bound == JobString::kPath ? kMaxJobPathBytes
                                                   : kMaxJobWordBytes;
    Do([&] { return CheckLength(Join(path_, key), value, max); });
  }
  template <typename T>
  void operator()(const char* key, const std::vector<T>& list) {
    Do([&]() -> absl::Status {
      const std::string where = Join(path_, key);
      if (list.size() > static_cast<size_t>(kMaxJobLayers)) {
        return Bad(where, absl::StrCat("more than ", kMaxJobLayers, " entries"));
      }
      if constexpr (std::is_same_v<T, std::string>) {
        for (size_t i = 0; i < list.size(); ++i) {
          RETURN_IF_ERROR(CheckLength(absl::StrCat(where, "[", i, "]"), list[i], kMaxJobWordBytes));
        }
      }
      return absl::OkStatus();
    });
  }
  // Numbers, booleans and enums are not strings.
  template <typename T>
  void operator()(const char*, const T&) {}
  void Pair(const char*, const char*, double, const char*, double) {}
  template <typename T, typename F>
  void Section(const char* key, const T& sub, F fn) {
    StringBounds sb(Join(path_, key));
    fn(sub, sb);
    Do([&] { return sb.status_; });
  }
  const absl::Status& status() const { return status_; }

 private:
  template <typename F>
  void Do(F f) {
    if (status_.ok()) status_ = f();
  }
  std::string path_;
  absl::Status status_;
};

absl::Status CheckStringBounds(const JobSpec& s) {
  StringBounds bounds("");
  VisitJobFields(s, bounds);
  return bounds.status();
}

// The `optim` section's values (ValidateValues).
absl::Status ValidateOptim(const OptimSpec& o) {
  if (!(o.lr > 0)) return Bad("optim.lr", "must be > 0");
  if (o.weight_decay < 0) return Bad("optim.weight_decay", "must be >= 0");
  if (o.beta1 < 0 || o.beta1 >= 1) return Bad("optim.betas[0]", "must be in [0, 1)");
  if (o.beta2 < 0 || o.beta2 >= 1) return Bad("optim.betas[1]", "must be in [0, 1)");
  if (!(o.eps > 0)) return Bad("optim.eps", "must be > 0");
  if (o.warmup_steps < 0) return Bad("optim.warmup_steps", "must be >= 0");
  if (o.max_steps <= 0) return Bad("optim.max_steps", "must be > 0");
  if (o.max_steps > kMaxJobSteps) {
    return Bad("optim.max_steps",
               absl::StrCat(o.max_steps, " is more than the limit of ", kMaxJobSteps, " steps"));
  }
  if (o.min_lr_ratio < 0 || o.min_lr_ratio > 1)
    return Bad("optim.min_lr_ratio", "must be in [0, 1]");
  if (o.grad_clip < 0) return Bad("optim.grad_clip", "must be >= 0");
  if (o.batch_size <= 0) return Bad("optim.batch_size", "must be > 0");
  if (o.grad_accum <= 0) return Bad("optim.grad_accum", "must be > 0");
  return absl::OkStatus();
}

absl::Status ValidateValues(const JobSpec& s) {
  RETURN_IF_ERROR(CheckStringBounds(s));
  if (s.kind != "pretrain" && s.kind != "finetune") {
    return Bad("kind", absl::StrCat("must be 'pretrain' or 'finetune', got '", s.kind, "'"));
  }
  if (s.kind == "finetune" && s.model_dir.empty()) {
    return Bad("model_dir", "required for kind 'finetune'");
  }
  const ModelSection& m = s.model;
  // Bounded before the defaults are resolved (attention_layers gets num_layers entries).
  if (m.num_layers > kMaxJobLayers) {
    return Bad("model.num_layers", absl::StrCat("must be <= ", kMaxJobLayers));
  }
  if (m.intermediate_size < 0) return Bad("model.intermediate_size", "must be >= 0");
  if (!(m.initializer_range > 0)) return Bad("model.initializer_range", "must be > 0");
  RETURN_IF_ERROR(ResolveModelSection(m).Validate("model", /*hf_names=*/false));

  const RoutingSection& r = s.routing;
  RETURN_IF_ERROR(r.ValidateValues("routing"));
  for (size_t i = 0; i < r.layers.size(); ++i) {
    // A pretrain job's architecture is known here; a finetune's comes from model_dir
    // (job_resources.h: ValidateJobSpecForModel).
    if (s.kind == "pretrain" && m.config_path.empty() && r.layers[i] >= m.num_layers) {
      return Bad(absl::StrCat("routing.layers[", i, "]"),
                 absl::StrCat(r.layers[i], " is not a layer of the model (model.num_layers ",
                              m.num_layers, ")"));
    }
  }

  const DataSpec& d = s.data;
  if (d.train_path.empty()) return Bad("data.train_path", "required");
  if (d.valid_fraction < 0 || d.valid_fraction >= 1) {
    return Bad("data.valid_fraction", "must be in [0, 1)");
  }
  if (d.valid_path.empty() && d.valid_fraction <= 0) {
    return Bad("data.valid_fraction", "must be > 0 when data.valid_path is not set");
  }
  if (d.format != "auto" && d.format != "text" && d.format != "jsonl") {
    return Bad("data.format", "must be 'auto', 'text' or 'jsonl'");
  }
  if (d.seq_len <= 0) return Bad("data.seq_len", "must be > 0");
  if (s.kind == "pretrain" && m.config_path.empty() && d.seq_len > m.max_position_embeddings) {
    return Bad("data.seq_len", absl::StrCat(d.seq_len, " must be <= model.max_position_embeddings ",
                                            m.max_position_embeddings));
  }
  if (d.tokenize_threads < 0) return Bad("data.tokenize_threads", "must be >= 0");
  if (d.tokenize_threads > kMaxJobThreads) {
    return Bad("data.tokenize_threads", absl::StrCat("must be <= ", kMaxJobThreads));
  }

  RETURN_IF_ERROR(ValidateOptim(s.optim));

  if (s.eval_every < 0) return Bad("eval_every", "must be >= 0");
  if (s.eval_batches < 0) return Bad("eval_batches", "must be >= 0");
  if (s.checkpoint_every < 0) return Bad("checkpoint_every", "must be >= 0");
  if (s.keep_checkpoints < 1) return Bad("keep_checkpoints", "must be >= 1");
  if (s.resume != "auto" && s.resume != "must" && s.resume != "never") {
    return Bad("resume", "must be 'auto', 'must' or 'never'");
  }
  if (s.eval.max_sequences < 0)
    return Bad("eval.max_sequences", "must be >= 0 (0: the whole split)");
  if (s.output_dir.empty()) return Bad("output_dir", "required");
  if (!IsDevice(s.device)) {
    return Bad("device", absl::StrCat("must be 'cpu', 'cuda' or 'cuda:N', got '", s.device, "'"));
  }
  if (s.precision != "auto" && s.precision != "fp32" && s.precision != "bf16") {
    return Bad("precision", "must be 'auto', 'fp32' or 'bf16'");
  }
  if (s.freeze_base && !IsRouted(s)) {
    return Bad("freeze_base", "needs a routed model (routing.enabled)");
  }
  if (s.threads < 0) return Bad("threads", "must be >= 0");
  if (s.threads > kMaxJobThreads) {
    return Bad("threads", absl::StrCat("must be <= ", kMaxJobThreads));
  }
  if (s.memory_limit_mb < 0) return Bad("memory_limit_mb", "must be >= 0 (0: the default)");
  if (s.log_every < 1) return Bad("log_every", "must be >= 1");
  if (s.record.sample_rate < 0 || s.record.sample_rate > 1) {
    return Bad("record.sample_rate", "must be in [0, 1]");
  }
  if (s.distributed.nproc_per_node < 1 || s.distributed.nproc_per_node > kMaxJobThreads) {
    return Bad("distributed.nproc_per_node", absl::StrCat("must be in [1, ", kMaxJobThreads, "]"));
  }
  if (s.distributed.timeout_s < 1) return Bad("distributed.timeout_s", "must be >= 1");
  return absl::OkStatus();
}

absl::Status ApplyOverride(Tree* root, const std::string& assignment) {
  size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--set '", Cut(assignment), "': expected key.path=value"));
  }
  std::string key = assignment.substr(0, eq);
  std::vector<std::string> parts = absl::StrSplit(key, '.');
  if (parts.size() > static_cast<size_t>(kMaxJobSpecDepth)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--set '", Cut(key), "': key nested deeper than ", kMaxJobSpecDepth, " levels"));
  }
  for (const auto& p : parts) {
    if (p.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--set '", Cut(assignment), "': empty key part"));
    }
  }
  ASSIGN_OR_RETURN(Tree value, ParseYamlText(assignment.substr(eq + 1), Cut(key)));
  Tree* node = root;
  std::string path;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (node->kind == Tree::kNull) node->kind = Tree::kMap;
    if (node->kind != Tree::kMap) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": is not a map (in --set ", Cut(key), ")"));
    }
    path = Join(path, parts[i]);
    Tree* child = node->Find(parts[i]);
    if (child == nullptr) {
      node->map.emplace_back(parts[i], Tree{});
      child = &node->map.back().second;
    }
    node = child;
  }
  *node = std::move(value);
  return absl::OkStatus();
}

// The shortest decimal that reads back as `v` (1e-05, not 1.0000000000000001e-05).
std::string Num(double v) {
  char buf[64];
  for (int precision = 15; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  std::string s = buf;
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

// Plain when YAML reads it back as the same string; quoted when empty or when it would read as
// a number, a boolean or null.
void EmitStr(YAML::Emitter& e, const char* key, const std::string& v) {
  const std::string lower = absl::AsciiStrToLower(v);
  double unused = 0;
  const bool ambiguous = v.empty() || absl::SimpleAtod(v, &unused) || lower == "true" ||
                         lower == "false" || lower == "yes" || lower == "no" || lower == "on" ||
                         lower == "off" || lower == "null" || lower == "~" || lower == "y" ||
                         lower == "n";
  e << YAML::Key << key << YAML::Value;
  if (ambiguous) e << YAML::DoubleQuoted;
  e << v;
}

// Writes the fields a field list (job_spec_fields.h, model/config_fields.h) visits as YAML, values
// read back identically: shortest round-trip numbers, ambiguous strings quoted, empty lists and an
// unset optional omitted.
struct YamlFieldWriter {
  YAML::Emitter& e;
  template <typename T>
  std::enable_if_t<std::is_integral_v<T>> operator()(const char* key, T v) {
    e << YAML::Key << key << YAML::Value << v;
  }
  void operator()(const char* key, double v) { e << YAML::Key << key << YAML::Value << Num(v); }
  void operator()(const char* key, bool v) {
    e << YAML::Key << key << YAML::Value << (v ? "true" : "false");
  }
  // Unset: no key.
  void operator()(const char* key, const std::optional<bool>& v) {
    if (v.has_value()) (*this)(key, *v);
  }
  void operator()(const char* key, const std::string& v, JobString = JobString::kWord) {
    EmitStr(e, key, v);
  }
  template <typename T>
  void operator()(const char* key, const std::vector<T>& v) {
    if (!v.empty()) e << YAML::Key << key << YAML::Value << YAML::Flow << v;
  }
  void operator()(const char* key, model::BalancingMethod m) {
    EmitStr(e, key, model::BalancingMethodName(m));
  }
  void operator()(const char* key, model::ModelFamily f) {
    EmitStr(e, key, model::ModelFamilyName(f));
  }
  void Pair(const char* key, const char*, double first, const char*, double second) {
    e << YAML::Key << key << YAML::Value << YAML::Flow << YAML::BeginSeq << Num(first)
      << Num(second) << YAML::EndSeq;
  }
  template <typename T, typename F>
  void Section(const char* key, const T& sub, F fn) {
    e << YAML::Key << key << YAML::Value << YAML::BeginMap;
    fn(sub, *this);
    e << YAML::EndMap;
  }
};

}  // namespace

ModelSection::ModelSection() {
  intermediate_size = 0;
  activation_function.clear();
}

model::ModelConfig ResolveModelSection(const ModelSection& m) {
  model::ModelConfig c = m;
  const bool neo = c.family == model::ModelFamily::kGPTNeo;
  if (c.intermediate_size == 0) c.intermediate_size = 4 * c.hidden_size;
  if (c.activation_function.empty()) {
    c.activation_function = c.family == model::ModelFamily::kGPTNeoX ? "gelu" : "gelu_new";
  }
  if (c.attention_layers.empty() && c.num_layers > 0 && c.num_layers <= kMaxJobLayers) {
    for (int64_t i = 0; i < c.num_layers; ++i) {
      c.attention_layers.push_back(neo && i % 2 == 1 ? "local" : "global");
    }
  }
  c.tie_word_embeddings = c.family != model::ModelFamily::kGPTNeoX;
  if (!neo) c.window_size = c.max_position_embeddings;
  const int64_t eos = c.family == model::ModelFamily::kGPTNeoX ? 0 : 50256;
  c.bos_token_id = c.eos_token_id = std::max<int64_t>(0, std::min<int64_t>(eos, c.vocab_size - 1));
  return c;
}

bool IsRouted(const JobSpec& spec) {
  return spec.routing.enabled.value_or(spec.kind == "finetune");
}

namespace {

// The size limits of a spec: text + overrides in bytes, and the override count.
absl::Status CheckJobSpecSize(const std::string& yaml_text,
                              const std::vector<std::string>& set_overrides) {
  size_t bytes = yaml_text.size();
  for (const std::string& o : set_overrides) bytes += o.size();
  if (bytes > kMaxJobSpecBytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("job spec: ", bytes, " bytes (text and overrides), more than the limit of ",
                     kMaxJobSpecBytes, " bytes"));
  }
  if (set_overrides.size() > kMaxJobSpecOverrides) {
    return absl::InvalidArgumentError(absl::StrCat("job spec: ", set_overrides.size(),
                                                   " overrides, more than the limit of ",
                                                   kMaxJobSpecOverrides));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckJobSpecLimits(const std::string& yaml_text,
                                const std::vector<std::string>& set_overrides) {
  RETURN_IF_ERROR(CheckJobSpecSize(yaml_text, set_overrides));
  RETURN_IF_ERROR(ScanYamlLimits(yaml_text, "job spec"));
  for (const std::string& o : set_overrides) {
    const size_t eq = o.find('=');
    if (eq == std::string::npos) continue;  // ApplyOverride names the malformed override
    RETURN_IF_ERROR(ScanYamlLimits(o.substr(eq + 1), Cut(o.substr(0, eq))));
  }
  return absl::OkStatus();
}

absl::StatusOr<JobSpec> ParseJobSpecYaml(const std::string& yaml_text,
                                         const std::vector<std::string>& set_overrides) {
  RETURN_IF_ERROR(CheckJobSpecSize(yaml_text, set_overrides));
  // ParseYamlText scans the text and each override value for aliases, nodes and depth.
  ASSIGN_OR_RETURN(Tree root, ParseYamlText(yaml_text, "job spec"));
  if (root.kind != Tree::kNull && root.kind != Tree::kMap) {
    return absl::InvalidArgumentError("job spec: expected a YAML map at the top level");
  }
  for (const std::string& o : set_overrides) RETURN_IF_ERROR(ApplyOverride(&root, o));
  JobSpec spec;
  RETURN_IF_ERROR(ReadJob(root, &spec));
  RETURN_IF_ERROR(ValidateValues(spec));
  return spec;
}

absl::StatusOr<JobSpec> LoadJobSpecFile(const std::string& path,
                                        const std::vector<std::string>& set_overrides) {
  std::error_code ec;
  const uintmax_t size = fs::file_size(path, ec);
  if (!ec && size > kMaxJobSpecBytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        path, ": ", size, " bytes, more than the job spec limit of ", kMaxJobSpecBytes, " bytes"));
  }
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  absl::StatusOr<JobSpec> spec = ParseJobSpecYaml(text, set_overrides);
  if (!spec.ok()) {
    return absl::Status(spec.status().code(), absl::StrCat(path, ": ", spec.status().message()));
  }
  return spec;
}

std::string JobSpecToYaml(const JobSpec& s) {
  YAML::Emitter e;
  e << YAML::BeginMap;
  YamlFieldWriter fields{e};
  VisitJobFields(s, fields);
  e << YAML::EndMap;
  return std::string(e.c_str()) + "\n";
}

absl::Status ValidateJobSpecPaths(const JobSpec& spec) {
  std::error_code ec;
  auto need_file = [&](const std::string& key, const std::string& path) -> absl::Status {
    return CheckDataFile(key, path).status();  // a FIFO or directory: INVALID_ARGUMENT
  };
  RETURN_IF_ERROR(need_file("data.train_path", spec.data.train_path));
  if (!spec.data.valid_path.empty()) {
    RETURN_IF_ERROR(need_file("data.valid_path", spec.data.valid_path));
  }
  if (spec.kind == "finetune") {
    if (!fs::is_directory(spec.model_dir, ec)) {
      return absl::NotFoundError(absl::StrCat("model_dir: directory not found: ", spec.model_dir));
    }
    RETURN_IF_ERROR(need_file("model_dir", (fs::path(spec.model_dir) / "config.json").string()));
    RETURN_IF_ERROR(
        need_file("model_dir", (fs::path(spec.model_dir) / "model.safetensors").string()));
  } else if (!spec.model.config_path.empty()) {
    RETURN_IF_ERROR(need_file("model.config_path", spec.model.config_path));
  }
  std::string tok = ResolveTokenizerDir(spec.data.tokenizer_dir,
                                        spec.kind == "finetune" ? spec.model_dir : std::string());
  const char* tok_key =
      spec.data.tokenizer_dir.empty() ? "data.tokenizer_dir (default)" : "data.tokenizer_dir";
  absl::StatusOr<std::vector<std::string>> tok_files = TokenizerFiles(tok);
  if (!tok_files.ok()) {
    return absl::NotFoundError(absl::StrCat(tok_key, ": ", tok_files.status().message()));
  }
  for (const std::string& f : *tok_files) {
    RETURN_IF_ERROR(need_file(tok_key, (fs::path(tok) / f).string()));
  }
  fs::create_directories(spec.output_dir, ec);
  if (ec || !fs::is_directory(spec.output_dir)) {
    return absl::InvalidArgumentError(absl::StrCat("output_dir: cannot create ", spec.output_dir,
                                                   ec ? ": " + ec.message() : std::string()));
  }
  if (::access(spec.output_dir.c_str(), W_OK) != 0) {
    return absl::PermissionDeniedError(absl::StrCat("output_dir: not writable: ", spec.output_dir));
  }
  return absl::OkStatus();
}

std::string ResolveTokenizerDir(const std::string& tokenizer_dir, const std::string& model_dir) {
  if (!tokenizer_dir.empty()) return tokenizer_dir;
  std::error_code ec;
  if (!model_dir.empty() && fs::is_directory(model_dir, ec) && TokenizerFiles(model_dir).ok()) {
    return model_dir;
  }
  return DataDirPath(DataResource::kGpt2);
}

}  // namespace monoroute::engine
