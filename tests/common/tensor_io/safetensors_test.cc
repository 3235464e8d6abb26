// Tests of the safetensors reader/writer: the HF fixture, round trips, and lying/truncated files.
#include "common/tensor_io/safetensors.h"

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>

#include "tests/common/tensor_io/test_util.h"

namespace monoroute {
namespace {

using ::monoroute::testing::BitEqual;
using ::monoroute::testing::FixtureDir;
using ::monoroute::testing::ReadText;
using ::monoroute::testing::TempDir;
using ::monoroute::testing::WriteText;
using ::testing::HasSubstr;

// A safetensors file with the given JSON header and data bytes (header not padded).
std::string Make(const std::string& header, const std::string& data) {
  uint64_t n = header.size();
  std::string out(reinterpret_cast<const char*>(&n), 8);
  return out + header + data;
}

TEST(SafetensorsTest, ReadsHuggingFaceFixture) {
  auto data = ReadSafetensors(FixtureDir("gptneo_tiny") + "/model.safetensors");
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->metadata.at("format"), "pt");
  EXPECT_EQ(data->tensors.count("lm_head.weight"), 0u);  // tied: save_pretrained drops it
  EXPECT_TRUE(CheckShape(data->tensors, "transformer.wte.weight", {1000, 64}).ok());
  EXPECT_TRUE(CheckShape(data->tensors, "transformer.wpe.weight", {64, 64}).ok());
  EXPECT_TRUE(CheckShape(data->tensors, "transformer.h.3.mlp.c_fc.weight", {256, 64}).ok());
  for (const auto& [name, t] : data->tensors) {
    EXPECT_EQ(t.scalar_type(), at::kFloat) << name;
    EXPECT_TRUE(t.is_contiguous()) << name;
    EXPECT_TRUE(at::isfinite(t).all().item<bool>()) << name;
  }
  // 4 layers x 13 tensors + wte, wpe, ln_f.{weight,bias}.
  EXPECT_EQ(data->tensors.size(), 4u * 13u + 4u);
}

TEST(SafetensorsTest, ReadsExpectedOutputsWithInt64) {
  auto data = ReadSafetensors(FixtureDir("gptneo_tiny") + "/expected.safetensors");
  ASSERT_TRUE(data.ok()) << data.status();
  const at::Tensor& ids = data->tensors.at("input_ids");
  EXPECT_EQ(ids.scalar_type(), at::kLong);
  EXPECT_EQ(ids.sizes(), at::IntArrayRef({2, 24}));
  EXPECT_GE(ids.min().item<int64_t>(), 0);
  EXPECT_LT(ids.max().item<int64_t>(), 1000);
}

TEST(SafetensorsTest, FixtureReserialisesByteIdentical) {
  // Our writer follows HF's layout (sorted keys, 8-byte aligned header), so re-writing the file
  // HF wrote gives the same data section; the tensors read back are bit-identical.
  const std::string path = FixtureDir("gptneo_tiny") + "/model.safetensors";
  auto data = ReadSafetensors(path);
  ASSERT_TRUE(data.ok()) << data.status();
  auto bytes = SerializeSafetensors(data->tensors, data->metadata);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  auto back = ParseSafetensors(*bytes, "reserialised");
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_EQ(back->tensors.size(), data->tensors.size());
  for (const auto& [name, t] : data->tensors) EXPECT_TRUE(BitEqual(t, back->tensors.at(name)));
  std::string original = ReadText(path);
  uint64_t n0, n1;
  std::memcpy(&n0, original.data(), 8);
  std::memcpy(&n1, bytes->data(), 8);
  EXPECT_EQ(original.substr(8 + n0), bytes->substr(8 + n1));
}

TEST(SafetensorsTest, RoundTripEveryDtype) {
  TempDir tmp;
  TensorMap in;
  in["f64"] = at::arange(5, at::kDouble) * 0.1;
  in["f32"] = at::randn({3, 4});
  in["f16"] = (at::randn({2, 3}) * 100).to(at::kHalf);
  in["bf16"] = at::randn({7}).to(at::kBFloat16);
  in["i64"] = at::tensor(std::vector<int64_t>{-1, 0, int64_t{1} << 40});
  in["i32"] = at::tensor(std::vector<int32_t>{-5, 5});
  in["i16"] = at::tensor(std::vector<int16_t>{-300, 300});
  in["i8"] = at::tensor(std::vector<int8_t>{-128, 127});
  in["u8"] = at::tensor(std::vector<uint8_t>{0, 255});
  in["bool"] = at::tensor(std::vector<int>{1, 0, 1}).to(at::kBool);
  in["scalar"] = at::scalar_tensor(2.5);
  in["empty"] = at::zeros({0, 3});
  in["transposed"] = at::arange(6, at::kFloat).view({2, 3}).t();  // non-contiguous input
  const std::string path = tmp.Sub("all.safetensors");
  ASSERT_TRUE(WriteSafetensors(path, in, {{"format", "pt"}, {"note", "ünïcode"}}).ok());
  auto out = ReadSafetensors(path);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->metadata.at("format"), "pt");
  EXPECT_EQ(out->metadata.at("note"), "ünïcode");
  ASSERT_EQ(out->tensors.size(), in.size());
  for (const auto& [name, t] : in) {
    EXPECT_TRUE(BitEqual(t, out->tensors.at(name))) << name;
  }
  // Header length is a multiple of 8 (data section 8-byte aligned), as Hugging Face writes it.
  std::string bytes = ReadText(path);
  uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n % 8, 0u);
  EXPECT_EQ(bytes.substr(8, 16), "{\"__metadata__\":");
}

TEST(SafetensorsTest, WriterRejectsUnsupportedDtypeNamingTensor) {
  TempDir tmp;
  TensorMap in{{"cplx", at::zeros({2}, at::kComplexFloat)}};
  absl::Status s = WriteSafetensors(tmp.Sub("x.safetensors"), in);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("'cplx'"));
}

TEST(SafetensorsTest, MissingFileIsNotFound) {
  EXPECT_EQ(ReadSafetensors("/nonexistent/x.safetensors").status().code(),
            absl::StatusCode::kNotFound);
}

// --- Bad input: each is a clear INVALID_ARGUMENT naming the file (and tensor), never a crash.

struct BadCase {
  const char* label;
  std::string bytes;
  std::vector<std::string> expect;  // substrings of the message
};

// Prints the label only (gtest would dump the bytes).
void PrintTo(const BadCase& c, std::ostream* os) { *os << c.label; }

class SafetensorsBadInputTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(SafetensorsBadInputTest, RejectedWithClearMessage) {
  const BadCase& c = GetParam();
  TempDir tmp;
  const std::string path = tmp.Sub(std::string(c.label) + ".safetensors");
  WriteText(path, c.bytes);
  auto r = ReadSafetensors(path);
  ASSERT_FALSE(r.ok()) << c.label;
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr(path));
  for (const std::string& e : c.expect) EXPECT_THAT(r.status().message(), HasSubstr(e));
}

std::string F32(int n) { return std::string(4 * n, '\0'); }

INSTANTIATE_TEST_SUITE_P(
    Cases, SafetensorsBadInputTest,
    ::testing::Values(
        BadCase{"empty", "", {"too short"}},
        BadCase{"short", std::string("\x10\0\0", 3), {"too short"}},
        BadCase{"header_beyond_file", Make("{}", "").replace(0, 1, "\xff"), {"beyond the file"}},
        BadCase{"huge_header_len",
                std::string("\xff\xff\xff\xff\xff\xff\xff\x7f{}", 10),
                {"beyond the file"}},
        BadCase{"garbage_json", Make("{\"a\": {\"dtype\": ", ""), {"not valid JSON"}},
        BadCase{"not_object", Make("[1, 2, 3]", ""), {"not a JSON object"}},
        BadCase{"unknown_dtype",
                Make(R"({"w":{"dtype":"F8_E9","shape":[1],"data_offsets":[0,1]}})", "x"),
                {"'w'", "unsupported dtype 'F8_E9'"}},
        BadCase{"size_mismatch",
                Make(R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}})", F32(5)),
                {"'w'", "size mismatch", "[2, 3]", "24"}},
        BadCase{"out_of_range",
                Make(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", F32(2)),
                {"'w'", "out of range"}},
        BadCase{"overlap",
                Make(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                     R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                     F32(3)),
                {"'b'", "overlap tensor 'a'"}},
        BadCase{"gap",
                Make(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", F32(2)),
                {"'a'", "gap"}},
        BadCase{"trailing",
                Make(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", F32(2)),
                {"trailing"}},
        BadCase{"end_before_begin",
                Make(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}})", F32(2)),
                {"'a'", "end before begin"}},
        BadCase{"negative_dim",
                Make(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", F32(1)),
                {"'a'", "bad dimension -1"}},
        BadCase{"overflowing_shape",
                Make(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],)"
                     R"("data_offsets":[0,4]}})",
                     F32(1)),
                {"'a'", "size mismatch", "more than 2^63"}},
        BadCase{"missing_offsets",
                Make(R"({"a":{"dtype":"F32","shape":[1]}})", F32(1)),
                {"'a'", "data_offsets"}},
        BadCase{"unknown_field",
                Make(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}})", F32(1)),
                {"'a'", "unknown header field 'x'"}},
        BadCase{
            "bad_metadata", Make(R"({"__metadata__":{"k":1}})", ""), {"'__metadata__'", "'k'"}}),
    [](const ::testing::TestParamInfo<BadCase>& info) { return std::string(info.param.label); });

TEST(SafetensorsTest, TruncatedFixtureNamesTensorAndFile) {
  TempDir tmp;
  std::string bytes = ReadText(FixtureDir("gptneo_tiny") + "/model.safetensors");
  for (size_t keep : {bytes.size() - 1, bytes.size() / 2, size_t{100}, size_t{7}}) {
    const std::string path = tmp.Sub("cut.safetensors");
    WriteText(path, bytes.substr(0, keep));
    auto r = ReadSafetensors(path);
    ASSERT_FALSE(r.ok()) << keep;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(r.status().message(), HasSubstr(path));
    if (keep > 1000) {
      EXPECT_THAT(r.status().message(), HasSubstr("out of range"));
      EXPECT_THAT(r.status().message(), HasSubstr("tensor '"));
    }
  }
}

TEST(SafetensorsTest, ZeroSizedDimensionWithHugeOthersIsEmpty) {
  std::string f = Make(R"({"z":{"dtype":"F32","shape":[4294967296,4294967296,0],)"
                       R"("data_offsets":[0,0]}})",
                       "");
  auto h = ParseSafetensorsHeader(f, "mem");  // numel 0: consistent with empty offsets
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->entries[0].end, 0u);
  // LibTorch itself refuses such sizes; that surfaces as a status through TorchCall, no crash.
  auto r = ParseSafetensors(f, "mem");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("mem"));
  // A modest zero-sized tensor loads.
  auto ok = ParseSafetensors(
      Make(R"({"z":{"dtype":"F32","shape":[1099511627776,0],"data_offsets":[0,0]}})", ""), "m");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->tensors.at("z").numel(), 0);
}

TEST(SafetensorsTest, DeeplyNestedShapeIsRejectedWithoutStackOverflow) {
  // The error message used to dump() the bad dimension, recursively: a shape nested a million
  // deep (2 MB of header) overflowed the stack (found with tests/fuzz/safetensors_fuzzer.cc on a
  // crafted input).
  const size_t n = 1000000;
  std::string f = Make(R"({"t":{"dtype":"F32","shape":[)" + std::string(n, '[') +
                           std::string(n, ']') + R"(],"data_offsets":[0,0]}})",
                       "");
  auto r = ParseSafetensorsHeader(f, "deep");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("deep: tensor 't': bad dimension a list"));
}

TEST(SafetensorsTest, HeaderParserExposesEntries) {
  std::string f = Make(R"({"b":{"dtype":"BF16","shape":[2],"data_offsets":[4,8]},)"
                       R"("a":{"dtype":"I32","shape":[],"data_offsets":[0,4]}})",
                       F32(2));
  auto h = ParseSafetensorsHeader(f, "mem");
  ASSERT_TRUE(h.ok()) << h.status();
  ASSERT_EQ(h->entries.size(), 2u);
  EXPECT_EQ(h->entries[0].name, "a");  // sorted by offset
  EXPECT_EQ(h->entries[0].dtype, at::kInt);
  EXPECT_TRUE(h->entries[0].shape.empty());
  EXPECT_EQ(h->entries[1].dtype, at::kBFloat16);
  EXPECT_EQ(h->data_start, 8 + f.size() - 16);
}

}  // namespace
}  // namespace monoroute
