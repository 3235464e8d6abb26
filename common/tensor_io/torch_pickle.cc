// pytorch_model.bin reader: a strict, allow-listed pickle VM + the torch.save zip layout.
#include "common/tensor_io/torch_pickle.h"

#include <ATen/ATen.h>
#include <caffe2/serialize/inline_container.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/base/enum_names.h"
#include "common/base/file_util.h"
#include "common/base/status_macros.h"
#include "common/tensor_io/torch_status.h"

namespace monoroute {
namespace {

// A value on the pickle VM's stack. Only the kinds a state dict needs exist.
struct Value;
using ValuePtr = std::shared_ptr<Value>;
struct Value {
  enum class Kind { kNone, kBool, kInt, kStr, kTuple, kList, kDict, kGlobal, kTensor, kStorage };
  Kind kind = Kind::kNone;
  int depth = 1;           // nesting depth of this value (1 = holds no containers)
  bool contained = false;  // placed in a tuple/list/dict: no longer mutable (no cycles)
  bool b = false;
  int64_t i = 0;
  std::string s;                                    // kStr; kGlobal: "module.name"
  std::vector<ValuePtr> items;                      // kTuple, kList
  std::vector<std::pair<ValuePtr, ValuePtr>> dict;  // kDict (insertion order)
  at::Tensor tensor;                                // kTensor; kStorage: 1-D storage tensor
};

// The kinds by their Python type name, for error messages.
constexpr EnumNames<Value::Kind, 10> kKindNames = {{{Value::Kind::kNone, "None"},
                                                    {Value::Kind::kBool, "bool"},
                                                    {Value::Kind::kInt, "int"},
                                                    {Value::Kind::kStr, "str"},
                                                    {Value::Kind::kTuple, "tuple"},
                                                    {Value::Kind::kList, "list"},
                                                    {Value::Kind::kDict, "dict"},
                                                    {Value::Kind::kGlobal, "global"},
                                                    {Value::Kind::kTensor, "tensor"},
                                                    {Value::Kind::kStorage, "storage"}}};

const char* KindName(Value::Kind k) { return NameOf(kKindNames, k); }

ValuePtr Make(Value::Kind k) {
  auto v = std::make_shared<Value>();
  v->kind = k;
  return v;
}

// torch.<T>Storage global name -> element type.
bool StorageDType(const std::string& global, at::ScalarType* out) {
  static const std::map<std::string, at::ScalarType> kMap = {
      {"torch.FloatStorage", at::kFloat}, {"torch.DoubleStorage", at::kDouble},
      {"torch.HalfStorage", at::kHalf},   {"torch.BFloat16Storage", at::kBFloat16},
      {"torch.LongStorage", at::kLong},   {"torch.IntStorage", at::kInt},
      {"torch.ShortStorage", at::kShort}, {"torch.CharStorage", at::kChar},
      {"torch.ByteStorage", at::kByte},   {"torch.BoolStorage", at::kBool},
  };
  auto it = kMap.find(global);
  if (it == kMap.end()) return false;
  *out = it->second;
  return true;
}

// Containers nest at most this deep (a state dict needs about 4: _metadata's dicts). Values are
// freed recursively, so an unbounded depth would overflow the stack on a crafted pickle.
constexpr int kMaxDepth = 64;

constexpr char kOrderedDict[] = "collections.OrderedDict";
constexpr char kRebuildTensorV2[] = "torch._utils._rebuild_tensor_v2";
constexpr char kRebuildParameter[] = "torch._utils._rebuild_parameter";

bool GlobalAllowed(const std::string& g) {
  at::ScalarType unused;
  return g == kOrderedDict || g == kRebuildTensorV2 || g == kRebuildParameter ||
         StorageDType(g, &unused);
}

// caffe2's zip reader over bytes in memory (a file's memory map or a fuzzer's input).
class BytesReadAdapter : public caffe2::serialize::ReadAdapterInterface {
 public:
  explicit BytesReadAdapter(absl::string_view bytes) : bytes_(bytes) {}
  size_t size() const override { return bytes_.size(); }
  size_t read(uint64_t pos, void* buf, size_t n, const char* /*what*/) const override {
    if (pos >= bytes_.size()) return 0;
    n = std::min<uint64_t>(n, bytes_.size() - pos);
    std::memcpy(buf, bytes_.data() + pos, n);
    return n;
  }

 private:
  absl::string_view bytes_;
};

class Unpickler {
 public:
  Unpickler(absl::string_view data, const StorageLoader& loader, const std::string& name)
      : data_(data), loader_(loader), name_(name) {}

  absl::StatusOr<ValuePtr> Run() {
    while (true) {
      if (pos_ >= data_.size()) return Err("pickle ends without STOP");
      op_pos_ = pos_;
      const uint8_t op = static_cast<uint8_t>(data_[pos_++]);
      if (op == '.') {  // STOP
        if (stack_.size() != 1 || !marks_.empty()) return Err("STOP with a malformed stack");
        return stack_.back();
      }
      RETURN_IF_ERROR(ValueOp(op));
    }
  }

 private:
  // Runs `op` when it is a framing, mark, scalar or memo opcode; else ContainerOp(op).
  absl::Status ValueOp(uint8_t op) {
    switch (op) {
      case 0x80: {  // PROTO
        ASSIGN_OR_RETURN(uint64_t p, ReadUInt(1));
        if (p < 2 || p > 5) return Err(absl::StrCat("unsupported pickle protocol ", p));
        break;
      }
      case 0x95: {  // FRAME (length is advisory)
        ASSIGN_OR_RETURN(uint64_t unused, ReadUInt(8));
        (void)unused;
        break;
      }
      case '(':  // MARK
        marks_.push_back(stack_.size());
        break;
      case '}':  // EMPTY_DICT
      case ']':  // EMPTY_LIST
      case ')':  // EMPTY_TUPLE
      case 'N':  // NONE
        Push(Make(op == '}'   ? Value::Kind::kDict
                  : op == ']' ? Value::Kind::kList
                  : op == ')' ? Value::Kind::kTuple
                              : Value::Kind::kNone));
        break;
      case 0x88:    // NEWTRUE
      case 0x89: {  // NEWFALSE
        auto v = Make(Value::Kind::kBool);
        v->b = op == 0x88;
        Push(v);
        break;
      }
      case 'K':
      case 'M': {  // BININT1, BININT2
        ASSIGN_OR_RETURN(uint64_t n, ReadUInt(op == 'K' ? 1 : 2));
        PushInt(static_cast<int64_t>(n));
        break;
      }
      case 'J': {  // BININT (signed 32-bit)
        ASSIGN_OR_RETURN(uint64_t n, ReadUInt(4));
        PushInt(static_cast<int32_t>(static_cast<uint32_t>(n)));
        break;
      }
      case 0x8a: {  // LONG1: n-byte little-endian two's complement
        ASSIGN_OR_RETURN(uint64_t n, ReadUInt(1));
        if (n > 8) return Err("LONG1 integer wider than 64 bits");
        ASSIGN_OR_RETURN(uint64_t raw, ReadUInt(n));
        int64_t value = static_cast<int64_t>(raw);
        if (n > 0 && n < 8 && (raw >> (8 * n - 1)) & 1) value -= int64_t{1} << (8 * n);
        PushInt(value);
        break;
      }
      case 'X':
      case 0x8c:
      case 0x8d: {  // BINUNICODE, SHORT_BINUNICODE, BINUNICODE8
        ASSIGN_OR_RETURN(uint64_t n, ReadUInt(op == 'X' ? 4 : op == 0x8c ? 1 : 8));
        ASSIGN_OR_RETURN(absl::string_view s, ReadBytes(n));
        auto v = Make(Value::Kind::kStr);
        v->s = std::string(s);
        Push(v);
        break;
      }
      case 'q':
      case 'r': {  // BINPUT, LONG_BINPUT
        ASSIGN_OR_RETURN(uint64_t idx, ReadUInt(op == 'q' ? 1 : 4));
        if (stack_.empty()) return Err("PUT on an empty stack");
        memo_[idx] = stack_.back();
        break;
      }
      case 0x94: {  // MEMOIZE
        if (stack_.empty()) return Err("MEMOIZE on an empty stack");
        memo_[memo_.size()] = stack_.back();
        break;
      }
      case 'h':
      case 'j': {  // BINGET, LONG_BINGET
        ASSIGN_OR_RETURN(uint64_t idx, ReadUInt(op == 'h' ? 1 : 4));
        auto it = memo_.find(idx);
        if (it == memo_.end()) return Err(absl::StrCat("GET of unknown memo key ", idx));
        Push(it->second);
        break;
      }
      default:
        return ContainerOp(op);
    }
    return absl::OkStatus();
  }

  // Runs `op` when it builds or fills a container, a global or a call's result; else an error.
  absl::Status ContainerOp(uint8_t op) {
    switch (op) {
      case 't': {  // TUPLE
        ASSIGN_OR_RETURN(std::vector<ValuePtr> items, PopMark());
        auto v = Make(Value::Kind::kTuple);
        for (const ValuePtr& item : items) RETURN_IF_ERROR(Contain(*v, item));
        v->items = std::move(items);
        Push(v);
        break;
      }
      case 0x85:
      case 0x86:
      case 0x87: {  // TUPLE1..3
        const size_t n = op - 0x84;
        if (Available() < n) return Err("TUPLE with too few stack items");
        auto v = Make(Value::Kind::kTuple);
        v->items.assign(stack_.end() - n, stack_.end());
        stack_.resize(stack_.size() - n);
        for (const ValuePtr& item : v->items) RETURN_IF_ERROR(Contain(*v, item));
        Push(v);
        break;
      }
      case 'c': {  // GLOBAL "module\nname\n"
        ASSIGN_OR_RETURN(std::string module, ReadLine());
        ASSIGN_OR_RETURN(std::string gname, ReadLine());
        RETURN_IF_ERROR(PushGlobal(absl::StrCat(module, ".", gname)));
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        ASSIGN_OR_RETURN(ValuePtr gname, Pop(Value::Kind::kStr, "STACK_GLOBAL name"));
        ASSIGN_OR_RETURN(ValuePtr module, Pop(Value::Kind::kStr, "STACK_GLOBAL module"));
        RETURN_IF_ERROR(PushGlobal(absl::StrCat(module->s, ".", gname->s)));
        break;
      }
      case 'Q': {  // BINPERSID
        ASSIGN_OR_RETURN(ValuePtr pid, Pop(Value::Kind::kTuple, "persistent id"));
        ASSIGN_OR_RETURN(ValuePtr storage, LoadStorage(*pid));
        Push(storage);
        break;
      }
      case 'R': {  // REDUCE
        ASSIGN_OR_RETURN(ValuePtr args, Pop(Value::Kind::kTuple, "REDUCE arguments"));
        ASSIGN_OR_RETURN(ValuePtr fn, Pop(Value::Kind::kGlobal, "REDUCE callable"));
        ASSIGN_OR_RETURN(ValuePtr result, Call(fn->s, args->items));
        Push(result);
        break;
      }
      case 'b': {  // BUILD: state of a dict (e.g. _metadata) or parameter is ignored
        if (Available() < 2) return Err("BUILD with too few stack items");
        stack_.pop_back();
        const Value::Kind k = stack_.back()->kind;
        if (k != Value::Kind::kDict && k != Value::Kind::kTensor) {
          return Err(absl::StrCat("BUILD on a ", KindName(k)));
        }
        break;
      }
      case 's': {  // SETITEM
        if (Available() < 3) return Err("SETITEM with too few stack items");
        ValuePtr value = stack_.back();
        stack_.pop_back();
        ValuePtr key = stack_.back();
        stack_.pop_back();
        RETURN_IF_ERROR(ExpectTop(Value::Kind::kDict, "SETITEM target"));
        RETURN_IF_ERROR(Contain(*stack_.back(), key));
        RETURN_IF_ERROR(Contain(*stack_.back(), value));
        stack_.back()->dict.emplace_back(key, value);
        break;
      }
      case 'u': {  // SETITEMS
        ASSIGN_OR_RETURN(std::vector<ValuePtr> items, PopMark());
        if (items.size() % 2 != 0) return Err("SETITEMS with an odd number of items");
        RETURN_IF_ERROR(ExpectTop(Value::Kind::kDict, "SETITEMS target"));
        for (const ValuePtr& item : items) RETURN_IF_ERROR(Contain(*stack_.back(), item));
        for (size_t k = 0; k < items.size(); k += 2) {
          stack_.back()->dict.emplace_back(items[k], items[k + 1]);
        }
        break;
      }
      case 'a': {  // APPEND
        if (Available() < 2) return Err("APPEND with too few stack items");
        ValuePtr v = stack_.back();
        stack_.pop_back();
        RETURN_IF_ERROR(ExpectTop(Value::Kind::kList, "APPEND target"));
        RETURN_IF_ERROR(Contain(*stack_.back(), v));
        stack_.back()->items.push_back(v);
        break;
      }
      case 'e': {  // APPENDS
        ASSIGN_OR_RETURN(std::vector<ValuePtr> items, PopMark());
        RETURN_IF_ERROR(ExpectTop(Value::Kind::kList, "APPENDS target"));
        for (const ValuePtr& item : items) RETURN_IF_ERROR(Contain(*stack_.back(), item));
        auto& dst = stack_.back()->items;
        dst.insert(dst.end(), items.begin(), items.end());
        break;
      }
      default:
        return Err(absl::StrFormat("unsupported pickle opcode 0x%02x", op));
    }
    return absl::OkStatus();
  }

  absl::Status Err(absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat(name_, ": ", what, " at byte ", op_pos_));
  }

  size_t Available() const { return stack_.size() - (marks_.empty() ? 0 : marks_.back()); }
  void Push(ValuePtr v) { stack_.push_back(std::move(v)); }
  void PushInt(int64_t n) {
    auto v = Make(Value::Kind::kInt);
    v->i = n;
    Push(v);
  }

  absl::StatusOr<uint64_t> ReadUInt(size_t n) {
    if (data_.size() - pos_ < n) return Err("pickle truncated");
    uint64_t v = 0;
    for (size_t k = 0; k < n; ++k)
      v |= static_cast<uint64_t>(static_cast<uint8_t>(data_[pos_ + k])) << (8 * k);
    pos_ += n;
    return v;
  }

  absl::StatusOr<absl::string_view> ReadBytes(uint64_t n) {
    if (data_.size() - pos_ < n) return Err("pickle truncated");
    absl::string_view s = data_.substr(pos_, n);
    pos_ += n;
    return s;
  }

  absl::StatusOr<std::string> ReadLine() {
    size_t nl = data_.find('\n', pos_);
    if (nl == absl::string_view::npos || nl - pos_ > 256) return Err("bad GLOBAL name");
    std::string s(data_.substr(pos_, nl - pos_));
    pos_ = nl + 1;
    return s;
  }

  absl::Status ExpectTop(Value::Kind kind, absl::string_view what) {
    if (Available() < 1) return Err(absl::StrCat("stack underflow reading ", what));
    if (stack_.back()->kind != kind) {
      return Err(absl::StrCat(what, " is a ", KindName(stack_.back()->kind), ", expected ",
                              KindName(kind)));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<ValuePtr> Pop(Value::Kind kind, absl::string_view what) {
    RETURN_IF_ERROR(ExpectTop(kind, what));
    ValuePtr v = stack_.back();
    stack_.pop_back();
    return v;
  }

  // Records that `child` goes into container `parent`: the parent must still be mutable (not
  // inside another container, which also rules out cycles) and not be the child, and the
  // nesting stays within kMaxDepth. The child becomes immutable.
  absl::Status Contain(Value& parent, const ValuePtr& child) {
    if (child.get() == &parent) return Err("a container cannot contain itself");
    if (parent.contained) {
      return Err(absl::StrCat("a ", KindName(parent.kind),
                              " is modified after being placed in another container"));
    }
    if (child->depth + 1 > kMaxDepth) {
      return Err(absl::StrCat("containers nested deeper than ", kMaxDepth));
    }
    parent.depth = std::max(parent.depth, child->depth + 1);
    child->contained = true;
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<ValuePtr>> PopMark() {
    if (marks_.empty()) return Err("no MARK on the stack");
    size_t m = marks_.back();
    marks_.pop_back();
    std::vector<ValuePtr> items(stack_.begin() + m, stack_.end());
    stack_.resize(m);
    return items;
  }

  absl::Status PushGlobal(const std::string& g) {
    if (!GlobalAllowed(g)) return Err(absl::StrCat("global '", g, "' not allowed"));
    auto v = Make(Value::Kind::kGlobal);
    v->s = g;
    Push(v);
    return absl::OkStatus();
  }

  // ('storage', torch.<T>Storage, key, location, numel)
  absl::StatusOr<ValuePtr> LoadStorage(const Value& pid) {
    const auto& it = pid.items;
    if (it.size() != 5 || it[0]->kind != Value::Kind::kStr || it[0]->s != "storage" ||
        it[1]->kind != Value::Kind::kGlobal || it[2]->kind != Value::Kind::kStr ||
        it[3]->kind != Value::Kind::kStr || it[4]->kind != Value::Kind::kInt) {
      return Err("persistent id is not ('storage', type, key, location, numel)");
    }
    at::ScalarType dtype;
    if (!StorageDType(it[1]->s, &dtype)) {
      return Err(absl::StrCat("'", it[1]->s, "' is not a storage type"));
    }
    const std::string& key = it[2]->s;
    const int64_t numel = it[4]->i;
    if (numel < 0) return Err(absl::StrCat("storage '", key, "' has negative size"));
    auto cached = storages_.find(key);
    if (cached != storages_.end()) {
      const at::Tensor& t = cached->second->tensor;
      if (t.scalar_type() != dtype || t.numel() != numel) {
        return Err(absl::StrCat("storage '", key, "' referenced with different type or size"));
      }
      return cached->second;
    }
    auto loaded = loader_(key, dtype, numel);
    if (!loaded.ok()) {
      return absl::Status(loaded.status().code(), absl::StrCat(name_, ": storage '", key,
                                                               "': ", loaded.status().message()));
    }
    if (!loaded->defined() || loaded->dim() != 1 || loaded->numel() != numel ||
        loaded->scalar_type() != dtype) {
      return Err(absl::StrCat("storage '", key, "' loaded with the wrong size or type"));
    }
    auto v = Make(Value::Kind::kStorage);
    v->tensor = *loaded;
    storages_[key] = v;
    return v;
  }

  absl::StatusOr<std::vector<int64_t>> IntTuple(const ValuePtr& v, absl::string_view what) {
    if (v->kind != Value::Kind::kTuple) return Err(absl::StrCat(what, " is not a tuple"));
    std::vector<int64_t> out;
    for (const ValuePtr& x : v->items) {
      if (x->kind != Value::Kind::kInt || x->i < 0) {
        return Err(absl::StrCat(what, " holds a non-integer or negative value"));
      }
      out.push_back(x->i);
    }
    return out;
  }

  absl::StatusOr<ValuePtr> Call(const std::string& fn, const std::vector<ValuePtr>& args) {
    if (fn == kOrderedDict) {
      if (!args.empty()) return Err("OrderedDict called with arguments");
      return Make(Value::Kind::kDict);
    }
    if (fn == kRebuildTensorV2) {
      // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
      if (args.size() < 6 || args.size() > 7 || args[0]->kind != Value::Kind::kStorage ||
          args[1]->kind != Value::Kind::kInt) {
        return Err("bad arguments to _rebuild_tensor_v2");
      }
      ASSIGN_OR_RETURN(std::vector<int64_t> size, IntTuple(args[2], "tensor size"));
      ASSIGN_OR_RETURN(std::vector<int64_t> stride, IntTuple(args[3], "tensor stride"));
      const int64_t offset = args[1]->i;
      const int64_t storage_numel = args[0]->tensor.numel();
      if (size.size() != stride.size()) return Err("tensor size and stride differ in rank");
      // Last element's index: offset + sum((size - 1) * stride), overflow-checked (sizes and
      // strides are non-negative here).
      int64_t last = offset;
      bool empty = false, overflow = false;
      for (size_t d = 0; d < size.size(); ++d) {
        int64_t span = 0;
        if (size[d] == 0) {
          empty = true;
        } else if (__builtin_mul_overflow(size[d] - 1, stride[d], &span) ||
                   __builtin_add_overflow(last, span, &last)) {
          overflow = true;
        }
      }
      if (offset < 0 || (!empty && (overflow || last >= storage_numel))) {
        return Err(absl::StrCat("tensor view (offset ", offset, ", size ", ShapeString(size),
                                ", stride ", ShapeString(stride), ") exceeds its storage of ",
                                storage_numel, " elements"));
      }
      auto v = Make(Value::Kind::kTensor);
      RETURN_IF_ERROR(TorchCall(
          name_, [&]() { v->tensor = args[0]->tensor.as_strided(size, stride, offset); }));
      return v;
    }
    if (fn == kRebuildParameter) {  // (data, requires_grad, backward_hooks)
      if (args.size() != 3 || args[0]->kind != Value::Kind::kTensor) {
        return Err("bad arguments to _rebuild_parameter");
      }
      return args[0];
    }
    return Err(absl::StrCat("global '", fn, "' cannot be called"));
  }

  absl::string_view data_;
  const StorageLoader& loader_;
  const std::string& name_;
  size_t pos_ = 0;
  size_t op_pos_ = 0;
  std::vector<ValuePtr> stack_;
  std::vector<size_t> marks_;
  std::map<uint64_t, ValuePtr> memo_;
  std::map<std::string, ValuePtr> storages_;
};

}  // namespace

absl::StatusOr<TensorMap> UnpickleStateDict(absl::string_view pickle, const StorageLoader& loader,
                                            const std::string& name) {
  Unpickler vm(pickle, loader, name);
  ASSIGN_OR_RETURN(ValuePtr root, vm.Run());
  if (root->kind != Value::Kind::kDict) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": pickle holds a ", KindName(root->kind), ", not a state dict"));
  }
  TensorMap out;
  for (const auto& [k, v] : root->dict) {
    if (k->kind != Value::Kind::kStr) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": state dict key is a ", KindName(k->kind), ", not a str"));
    }
    if (v->kind != Value::Kind::kTensor) {
      return absl::InvalidArgumentError(absl::StrCat(name, ": state dict entry '", k->s, "' is a ",
                                                     KindName(v->kind), ", not a tensor"));
    }
    if (!out.emplace(k->s, v->tensor).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": duplicate state dict key '", k->s, "'"));
    }
  }
  return out;
}

absl::StatusOr<TensorMap> ReadTorchCheckpoint(const std::string& path) {
  ASSIGN_OR_RETURN(MappedFile map, MappedFile::Open(path));
  return ParseTorchCheckpoint(absl::string_view(map.data(), map.size()), path);
}

absl::StatusOr<TensorMap> ParseTorchCheckpoint(absl::string_view archive, const std::string& path) {
  if (!archive.empty() && static_cast<uint8_t>(archive[0]) == 0x80) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": legacy (pre-1.6, non-zip) torch.save format is not supported; re-save it"));
  }
  if (!absl::StartsWith(archive, absl::string_view("PK\x03\x04", 4))) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a torch.save zip archive (bad magic)"));
  }
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
  std::string pickle;
  RETURN_IF_ERROR(TorchCall(path, [&]() -> absl::Status {
    reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(
        std::make_shared<BytesReadAdapter>(archive));
    if (!reader->hasRecord("data.pkl")) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": archive has no data.pkl"));
    }
    if (reader->hasRecord("byteorder")) {
      auto [ptr, n] = reader->getRecord("byteorder");
      std::string order(static_cast<const char*>(ptr.get()), n);
      if (order != "little") {
        return absl::InvalidArgumentError(
            absl::StrCat(path, ": byteorder '", order, "' is not supported (little only)"));
      }
    }
    auto [ptr, n] = reader->getRecord("data.pkl");
    pickle.assign(static_cast<const char*>(ptr.get()), n);
    return absl::OkStatus();
  }));
  StorageLoader loader = [&](const std::string& key, at::ScalarType dtype,
                             int64_t numel) -> absl::StatusOr<at::Tensor> {
    return TorchCall(path, [&]() -> absl::StatusOr<at::Tensor> {
      const std::string record = "data/" + key;
      if (!reader->hasRecord(record)) {
        return absl::InvalidArgumentError(absl::StrCat("archive has no record ", record));
      }
      auto [ptr, n] = reader->getRecord(record);
      const size_t item = c10::elementSize(dtype);
      if (static_cast<uint64_t>(numel) > n / item || static_cast<size_t>(numel) * item != n) {
        return absl::InvalidArgumentError(
            absl::StrCat("record ", record, " has ", n, " bytes, expected ", numel, " x ", item));
      }
      at::Tensor t = at::empty({numel}, at::TensorOptions().dtype(dtype));
      if (n > 0) std::memcpy(t.data_ptr(), ptr.get(), n);
      return t;
    });
  };
  return UnpickleStateDict(pickle, loader, path);
}

}  // namespace monoroute
