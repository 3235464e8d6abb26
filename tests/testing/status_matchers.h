// gMock matcher of an absl::Status or absl::StatusOr<T>: its code and a matcher of its message,
// for the "refused with this code, naming this field" checks of bad-input tests.
#ifndef MONOROUTE_TESTS_TESTING_STATUS_MATCHERS_H_
#define MONOROUTE_TESTS_TESTING_STATUS_MATCHERS_H_

#include <gmock/gmock.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace monoroute::testing {

// The status itself.
inline const absl::Status& StatusOf(const absl::Status& s) { return s; }

// The status of a StatusOr.
template <typename T>
const absl::Status& StatusOf(const absl::StatusOr<T>& s) {
  return s.status();
}

// Matches a Status or StatusOr whose code is `code` and whose message matches `message` (a string
// or a string matcher such as HasSubstr("seq_len")), e.g.
// EXPECT_THAT(Parse(x), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("seq_len"))).
MATCHER_P2(StatusIs, code, message, "") {
  const absl::Status& s = StatusOf(arg);
  *result_listener << "whose status is " << s;
  return s.code() == code &&
         ::testing::ExplainMatchResult(message, std::string(s.message()), result_listener);
}

}  // namespace monoroute::testing

#endif  // MONOROUTE_TESTS_TESTING_STATUS_MATCHERS_H_
