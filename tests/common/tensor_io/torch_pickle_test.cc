// Tests of the pytorch_model.bin reader: the HF-style fixture against the safetensors one bit for
// bit, tied storage, every dtype torch.save writes, and crafted hostile pickles.
#include "common/tensor_io/torch_pickle.h"

#include <ATen/ATen.h>
#include <caffe2/serialize/inline_container.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>

#include "common/tensor_io/safetensors.h"
#include "tests/common/tensor_io/test_util.h"

namespace monoroute {
namespace {

using ::monoroute::testing::BitEqual;
using ::monoroute::testing::FixtureDir;
using ::monoroute::testing::ReadText;
using ::monoroute::testing::TempDir;
using ::monoroute::testing::WriteText;
using ::testing::HasSubstr;
using namespace std::string_literals;  // "...\x00..."s keeps its NUL bytes

TEST(TorchPickleTest, BinFixtureMatchesSafetensorsBitForBit) {
  auto bin = ReadTorchCheckpoint(FixtureDir("gptneo_tiny_bin") + "/pytorch_model.bin");
  ASSERT_TRUE(bin.ok()) << bin.status();
  auto st = ReadSafetensors(FixtureDir("gptneo_tiny") + "/model.safetensors");
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_EQ(bin->size(), st->tensors.size() + 1);  // + lm_head.weight
  for (const auto& [name, t] : st->tensors) {
    ASSERT_TRUE(bin->count(name)) << name;
    EXPECT_TRUE(BitEqual(bin->at(name), t)) << name;
  }
  EXPECT_TRUE(BitEqual(bin->at("lm_head.weight"), st->tensors.at("transformer.wte.weight")));
}

TEST(TorchPickleTest, TiedEmbeddingsShareStorage) {
  auto bin = ReadTorchCheckpoint(FixtureDir("gptneo_tiny_bin") + "/pytorch_model.bin");
  ASSERT_TRUE(bin.ok()) << bin.status();
  const at::Tensor& lm = bin->at("lm_head.weight");
  const at::Tensor& wte = bin->at("transformer.wte.weight");
  EXPECT_TRUE(SharesMemory(lm, wte));
  EXPECT_EQ(lm.data_ptr(), wte.data_ptr());
  EXPECT_FALSE(SharesMemory(wte, bin->at("transformer.wpe.weight")));
  // Writing through one is visible through the other: one storage, not a copy.
  at::Tensor lm_mut = lm;
  lm_mut.index_put_({0, 0}, 123.0f);
  EXPECT_EQ(wte[0][0].item<float>(), 123.0f);
  TensorMap copy = *bin;
  EXPECT_EQ(DropSharedDuplicates(copy), std::vector<std::string>{"lm_head.weight"});
}

TEST(TorchPickleTest, EveryDtypeViewsParameterAndMetadata) {
  // tests/fixtures/gptneo_tiny_extra/make_extra.py wrote this with torch.save (PyTorch 1.13).
  auto m = ReadTorchCheckpoint(FixtureDir("gptneo_tiny_extra") + "/mixed_dtypes.bin");
  ASSERT_TRUE(m.ok()) << m.status();
  at::Tensor base = at::arange(12, at::kFloat).view({3, 4}) / 4;
  EXPECT_EQ(m->size(), 13u);
  EXPECT_TRUE(BitEqual(m->at("f32"), base));
  const at::Tensor& view = m->at("f32_view");
  EXPECT_TRUE(BitEqual(view, base.slice(0, 1).slice(1, 1, 3)));
  EXPECT_EQ(view.storage_offset(), 5);
  EXPECT_EQ(view.strides(), at::IntArrayRef({4, 1}));
  EXPECT_TRUE(SharesMemory(view, m->at("f32")));
  EXPECT_TRUE(BitEqual(m->at("f32_t"), base.t()));
  EXPECT_EQ(m->at("f32_t").strides(), at::IntArrayRef({1, 4}));
  EXPECT_TRUE(BitEqual(m->at("f64"), at::arange(4, at::kDouble) * 0.1));
  EXPECT_TRUE(BitEqual(m->at("f16"), at::arange(6, at::kHalf).view({2, 3}) * 0.5));
  EXPECT_TRUE(BitEqual(m->at("bf16"), at::arange(6, at::kBFloat16) * -0.25));
  EXPECT_TRUE(
      BitEqual(m->at("i64"), at::tensor(std::vector<int64_t>{-2, -1, 0, 1, int64_t{1} << 40})));
  EXPECT_TRUE(BitEqual(m->at("i32"), at::tensor(std::vector<int32_t>{-7, 7})));
  EXPECT_TRUE(BitEqual(m->at("u8"), at::tensor(std::vector<uint8_t>{0, 1, 255})));
  EXPECT_TRUE(BitEqual(m->at("bool"), at::tensor(std::vector<int>{1, 0, 1}).to(at::kBool)));
  EXPECT_TRUE(BitEqual(m->at("scalar"), at::scalar_tensor(3.5, at::kFloat)));
  EXPECT_EQ(m->at("empty").sizes(), at::IntArrayRef({0, 4}));
  EXPECT_TRUE(BitEqual(m->at("param"), at::full({2, 2}, 2.0f)));
}

TEST(TorchPickleTest, MissingFileNotFoundAndBadArchives) {
  EXPECT_EQ(ReadTorchCheckpoint("/nonexistent/pytorch_model.bin").status().code(),
            absl::StatusCode::kNotFound);
  TempDir tmp;
  const std::string path = tmp.Sub("bad.bin");
  WriteText(path, "hello, this is not a zip file at all");
  auto r = ReadTorchCheckpoint(path);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr(path));
  WriteText(path, std::string("\x80\x02\x8a\x0a", 4));  // legacy torch.save magic number
  r = ReadTorchCheckpoint(path);
  EXPECT_THAT(r.status().message(), HasSubstr("legacy"));
  // A truncated archive: an error naming the file, never a crash.
  std::string bin = ReadText(FixtureDir("gptneo_tiny_bin") + "/pytorch_model.bin");
  for (size_t keep : {bin.size() / 2, bin.size() - 30, size_t{4}}) {
    WriteText(path, bin.substr(0, keep));
    r = ReadTorchCheckpoint(path);
    ASSERT_FALSE(r.ok()) << keep;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
    EXPECT_THAT(r.status().message(), HasSubstr(path));
  }
}

// --- The VM on crafted pickles (protocol 2 byte strings).

// A loader over in-memory storages: key -> arange(numel) of the dtype.
StorageLoader ArangeLoader(int* calls) {
  return [calls](const std::string& key, at::ScalarType dtype,
                 int64_t numel) -> absl::StatusOr<at::Tensor> {
    ++*calls;
    return at::arange(numel, at::TensorOptions().dtype(dtype));
  };
}

std::string Str(const std::string& s) {  // BINUNICODE
  uint32_t n = s.size();
  return "X" + std::string(reinterpret_cast<const char*>(&n), 4) + s;
}

// Pickle of {name: tensor view (offset, size, stride) of storage `key` of `numel` floats}.
std::string TensorPickle(const std::string& key, int numel, int offset, int rows, int cols, int s0,
                         int s1) {
  auto k = [](int v) { return std::string("K") + static_cast<char>(v); };
  return "ctorch._utils\n_rebuild_tensor_v2\n((" + Str("storage") + "ctorch\nFloatStorage\n" +
         Str(key) + Str("cpu") + k(numel) + "tQ" + k(offset) + k(rows) + k(cols) + "\x86" + k(s0) +
         k(s1) + "\x86\x89" + "ccollections\nOrderedDict\n)R" + "tR";
}

// _rebuild_tensor_v2 of a 4-float storage with size (2^62, 2), stride (4, 1): in range only if
// (2^62 - 1) * 4 wraps around.
std::string HugeViewPickle() {
  const int64_t huge = int64_t{1} << 62;
  return "ctorch._utils\n_rebuild_tensor_v2\n((" + Str("storage") + "ctorch\nFloatStorage\n" +
         Str("0") + Str("cpu") + "K\x04tQK\x00\x8a\x08"s +
         std::string(reinterpret_cast<const char*>(&huge), 8) + "K\x02\x86K\x04K\x01\x86\x89" +
         "ccollections\nOrderedDict\n)R" + "tR";
}

TEST(UnpickleTest, CraftedStateDictWithSharedStorage) {
  std::string p =
      "\x80\x02"
      "ccollections\nOrderedDict\n)R(" +
      Str("a") + TensorPickle("0", 12, 0, 3, 4, 4, 1) + Str("b") +
      TensorPickle("0", 12, 1, 2, 2, 1, 4) + "u.";
  int calls = 0;
  auto r = UnpickleStateDict(p, ArangeLoader(&calls), "crafted");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(calls, 1);  // one storage, loaded once
  EXPECT_TRUE(r->at("a").equal(at::arange(12, at::kFloat).view({3, 4})));
  EXPECT_TRUE(
      r->at("b").equal(at::arange(12, at::kFloat).view({3, 4}).t().slice(0, 1, 3).slice(1, 0, 2)));
  EXPECT_TRUE(SharesMemory(r->at("a"), r->at("b")));
}

struct BadPickle {
  const char* label;
  std::string bytes;
  std::string expect;
};

// Prints the label only (gtest would dump the bytes).
void PrintTo(const BadPickle& c, std::ostream* os) { *os << c.label; }

class UnpickleBadInputTest : public ::testing::TestWithParam<BadPickle> {};

TEST_P(UnpickleBadInputTest, RejectedByName) {
  int calls = 0;
  auto r = UnpickleStateDict(GetParam().bytes, ArangeLoader(&calls), "evil.bin");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("evil.bin"));
  EXPECT_THAT(r.status().message(), HasSubstr(GetParam().expect));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, UnpickleBadInputTest,
    ::testing::Values(BadPickle{"unknown_opcode", "\x80\x02}G\x3f\xf0\0\0\0\0\0\0.",
                                "unsupported pickle opcode 0x47 at byte 3"},
                      BadPickle{"disallowed_global",
                                "\x80\x02"
                                "cos\nsystem\n" +
                                    Str("ls") + "\x85R.",
                                "global 'os.system' not allowed at byte 2"},
                      BadPickle{"disallowed_stack_global",
                                "\x80\x04\x8c\x08"
                                "builtins\x8c\x04"
                                "eval\x93.",
                                "global 'builtins.eval' not allowed"},
                      BadPickle{"calling_a_storage",
                                "\x80\x02"
                                "ctorch\nFloatStorage\n)R.",
                                "global 'torch.FloatStorage' cannot be called"},
                      BadPickle{"no_stop", "\x80\x02}", "without STOP"},
                      BadPickle{"truncated_string", "\x80\x02X\xff\0\0\0abc", "truncated"},
                      BadPickle{"not_a_dict", "\x80\x02].", "not a state dict"},
                      BadPickle{"non_tensor_value", "\x80\x02}" + Str("k") + "K\x01s.",
                                "entry 'k' is a int, not a tensor"},
                      BadPickle{"bad_protocol", "\x80\x09}.", "unsupported pickle protocol 9"},
                      BadPickle{"memo_miss", "\x80\x02h\x05.", "unknown memo key 5"},
                      BadPickle{"underflow", "\x80\x02s.", "SETITEM with too few"},
                      BadPickle{"view_beyond_storage",
                                "\x80\x02}" + Str("w") + TensorPickle("0", 6, 2, 2, 3, 3, 1) + "s.",
                                "exceeds its storage of 6 elements"},
                      // Found while writing tests/fuzz/torch_pickle_fuzzer.cc: (size - 1) *
                      // stride overflowed int64 (undefined behaviour; UBSan reported it).
                      BadPickle{"view_extent_overflows_int64",
                                "\x80\x02}" + Str("w") + HugeViewPickle() + "s.",
                                "exceeds its storage of 4 elements"},
                      // A list containing itself: a reference cycle, leaked (LeakSanitizer).
                      BadPickle{"self_containing_list",
                                "\x80\x02]q\x00h\x00"
                                "a."s,
                                "a container cannot contain itself"},
                      // Mutating a list already inside another one could build cycles and
                      // nesting the depth limit never saw.
                      BadPickle{"mutated_after_nesting",
                                "\x80\x02]]q\x00"
                                "ah\x00K\x01"
                                "a."s,
                                "a list is modified after being placed in another container"},
                      BadPickle{"nested_too_deep",
                                "\x80\x02" + std::string(70, ']') + std::string(69, 'a') + ".",
                                "containers nested deeper than 64"}),
    [](const ::testing::TestParamInfo<BadPickle>& info) { return std::string(info.param.label); });

TEST(UnpickleTest, MillionNestedListsAreRejectedWithoutStackOverflow) {
  // Values are freed recursively: a million nested lists (2 MB of pickle) used to overflow the
  // stack when the VM dropped them (AddressSanitizer: stack-overflow, found with
  // tests/fuzz/torch_pickle_fuzzer.cc on a crafted input). Now nesting stops at depth 64.
  const size_t n = 1000000;
  std::string p = "\x80\x02" + std::string(n, ']') + std::string(n - 1, 'a') + ".";
  int calls = 0;
  auto r = UnpickleStateDict(p, ArangeLoader(&calls), "deep.bin");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("containers nested deeper than 64"));
}

TEST(TorchPickleTest, InMemoryArchiveAndRecordSizeOverflow) {
  // ParseTorchCheckpoint reads the same archive as ReadTorchCheckpoint, from memory.
  const std::string fixture = FixtureDir("gptneo_tiny_extra") + "/mixed_dtypes.bin";
  auto from_file = ReadTorchCheckpoint(fixture);
  auto from_memory = ParseTorchCheckpoint(ReadText(fixture), "mem.bin");
  ASSERT_TRUE(from_file.ok() && from_memory.ok()) << from_memory.status();
  ASSERT_EQ(from_file->size(), from_memory->size());
  for (const auto& [name, t] : *from_file) EXPECT_TRUE(BitEqual(t, from_memory->at(name))) << name;
  EXPECT_THAT(ParseTorchCheckpoint("", "e.bin").status().message(), HasSubstr("bad magic"));

  // A storage of 2^62 + 1 floats backed by a 4-byte record: numel * 4 wrapped to 4 and matched.
  const int64_t numel = (int64_t{1} << 62) + 1;
  std::string pkl = "\x80\x02}" + Str("w") + "ctorch._utils\n_rebuild_tensor_v2\n((" +
                    Str("storage") + "ctorch\nFloatStorage\n" + Str("0") + Str("cpu") + "\x8a\x08" +
                    std::string(reinterpret_cast<const char*>(&numel), 8) +
                    "tQK\x00K\x01\x85K\x01\x85\x89"s
                    "ccollections\nOrderedDict\n)RtRs.";
  std::string zip;
  {
    caffe2::serialize::PyTorchStreamWriter w([&zip](const void* buf, size_t n) {
      zip.append(static_cast<const char*>(buf), n);
      return n;
    });
    w.writeRecord("data.pkl", pkl.data(), pkl.size());
    const float four_bytes = 1.0f;
    w.writeRecord("data/0", &four_bytes, sizeof(four_bytes));
    w.writeEndOfFile();
  }
  auto r = ParseTorchCheckpoint(zip, "wrap.bin");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
  EXPECT_THAT(r.status().message(),
              HasSubstr("record data/0 has 4 bytes, expected 4611686018427387905 x 4"));
}

TEST(UnpickleTest, LoaderErrorsPropagateWithStorageKey) {
  std::string p = "\x80\x02}" + Str("w") + TensorPickle("7", 12, 0, 3, 4, 4, 1) + "s.";
  StorageLoader failing = [](const std::string&, at::ScalarType,
                             int64_t) -> absl::StatusOr<at::Tensor> {
    return absl::InvalidArgumentError("record data/7 has 3 bytes, expected 48");
  };
  auto r = UnpickleStateDict(p, failing, "f.bin");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("storage '7'"));
  EXPECT_THAT(r.status().message(), HasSubstr("expected 48"));
}

}  // namespace
}  // namespace monoroute
