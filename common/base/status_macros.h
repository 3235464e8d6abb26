// Status propagation macros used everywhere inside monoroute (absl::Status is the one error type).
#ifndef MONOROUTE_COMMON_BASE_STATUS_MACROS_H_
#define MONOROUTE_COMMON_BASE_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define MR_CONCAT_INNER_(a, b) a##b
#define MR_CONCAT_(a, b) MR_CONCAT_INNER_(a, b)

// Returns from the enclosing function if `expr` (an absl::Status) is not OK.
#define RETURN_IF_ERROR(expr)                    \
  do {                                           \
    ::absl::Status mr_status_ = (expr);          \
    if (!mr_status_.ok()) return mr_status_;     \
  } while (0)

#define MR_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()

// `lhs = value of expr` (an absl::StatusOr<T>), or returns its error status.
#define ASSIGN_OR_RETURN(lhs, expr) \
  MR_ASSIGN_OR_RETURN_IMPL_(MR_CONCAT_(mr_statusor_, __LINE__), lhs, expr)

#endif  // MONOROUTE_COMMON_BASE_STATUS_MACROS_H_
