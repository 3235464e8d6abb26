// The ONE adapter from LibTorch (c10) exceptions to absl::Status. Everything that calls LibTorch
// code that may throw (TORCH_CHECK failures, bad shapes, CUDA errors) goes through TorchCall.
// This header does not include LibTorch.
#ifndef MONOROUTE_COMMON_TENSOR_IO_TORCH_STATUS_H_
#define MONOROUTE_COMMON_TENSOR_IO_TORCH_STATUS_H_

#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace monoroute {

// Converts the exception currently being handled into a status; call it only inside a catch
// block. `context` (e.g. "forward of layer 3") prefixes the message. Mapping:
//   c10::OutOfMemoryError, std::bad_alloc      -> RESOURCE_EXHAUSTED
//   c10::IndexError                            -> OUT_OF_RANGE
//   c10::NotImplementedError                   -> UNIMPLEMENTED
//   other c10::Error (TORCH_CHECK), ValueError,
//   TypeError, std::invalid_argument           -> INVALID_ARGUMENT
//   any other std::exception or unknown        -> INTERNAL
// The message is c10's what_without_backtrace() (no C++ stack trace), on one line.
absl::Status StatusFromCurrentException(absl::string_view context);

namespace internal {
template <typename T>
struct IsStatusOr : std::false_type {};
template <typename T>
struct IsStatusOr<absl::StatusOr<T>> : std::true_type {};
}  // namespace internal

// Runs `fn` and turns a thrown exception into a status (see StatusFromCurrentException).
// `fn` returns void (-> absl::Status), absl::Status, or absl::StatusOr<T> (-> the same type).
// Thread-safe if `fn` is.
template <typename Fn>
auto TorchCall(absl::string_view context, Fn&& fn) {
  using R = std::invoke_result_t<Fn>;
  if constexpr (std::is_void_v<R>) {
    try {
      std::forward<Fn>(fn)();
      return absl::OkStatus();
    } catch (...) {
      return StatusFromCurrentException(context);
    }
  } else {
    static_assert(std::is_same_v<R, absl::Status> || internal::IsStatusOr<R>::value,
                  "TorchCall: fn must return void, absl::Status or absl::StatusOr<T>");
    try {
      return R(std::forward<Fn>(fn)());
    } catch (...) {
      return R(StatusFromCurrentException(context));
    }
  }
}

}  // namespace monoroute

#endif  // MONOROUTE_COMMON_TENSOR_IO_TORCH_STATUS_H_
