// Tests of the c10::Error -> absl::Status adapter.
#include "common/tensor_io/torch_status.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdexcept>

namespace monoroute {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(TorchCallTest, VoidSuccessIsOk) {
  int calls = 0;
  EXPECT_TRUE(TorchCall("ctx", [&] { ++calls; }).ok());
  EXPECT_EQ(calls, 1);
}

TEST(TorchCallTest, ShapeMismatchBecomesInvalidArgumentWithoutBacktrace) {
  absl::Status s = TorchCall("matmul of layer 3", [] {
    at::Tensor a = at::ones({2, 3});
    at::Tensor b = at::ones({4, 5});
    (void)at::matmul(a, b);
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("matmul of layer 3: "));
  EXPECT_THAT(s.message(), HasSubstr("shapes cannot be multiplied"));
  EXPECT_THAT(s.message(), Not(HasSubstr("\n")));
  EXPECT_THAT(s.message(), Not(HasSubstr("Exception raised from")));
}

TEST(TorchCallTest, IndexErrorIsOutOfRange) {
  absl::Status s = TorchCall("idx", [] { (void)at::ones({2}).select(0, 5); });
  EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange) << s;
}

TEST(TorchCallTest, StatusOrPassesValuesAndErrors) {
  absl::StatusOr<int> ok = TorchCall("x", []() -> absl::StatusOr<int> { return 7; });
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 7);
  absl::StatusOr<int> thrown = TorchCall("x", []() -> absl::StatusOr<int> {
    TORCH_CHECK(false, "boom ", 42);
    return 0;
  });
  EXPECT_EQ(thrown.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(thrown.status().message(), HasSubstr("boom 42"));
  absl::Status returned =
      TorchCall("x", []() -> absl::Status { return absl::NotFoundError("gone"); });
  EXPECT_EQ(returned.code(), absl::StatusCode::kNotFound);
}

TEST(TorchCallTest, StdExceptionsMapped) {
  EXPECT_EQ(TorchCall("x", [] { throw std::runtime_error("r"); }).code(),
            absl::StatusCode::kInternal);
  EXPECT_EQ(TorchCall("x", [] { throw std::invalid_argument("i"); }).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(TorchCall("x", [] { throw std::bad_alloc(); }).code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(TorchCall("x", [] { throw 5; }).code(), absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace monoroute
