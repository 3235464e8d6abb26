// Test support: a gtest fixture whose tests share one expensive set-up (a PKI, child services,
// recorded runs), made once per test suite. Header-only.
#ifndef MONOROUTE_TESTS_TESTING_SHARED_SUITE_H_
#define MONOROUTE_TESTS_TESTING_SHARED_SUITE_H_

#include <gtest/gtest.h>

#include <string>

namespace monoroute::testing {

// Fixture base: `Suite` (default-constructible, with `std::string SetUp()` returning "" when
// ready or what failed) is made and set up once before the suite's first test and destroyed
// after its last; every test reaches it as s_ and fails with the set-up error, if any.
template <typename Suite>
class SharedSuiteTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    s_ = new Suite();
    error_ = s_->SetUp();
  }
  static void TearDownTestSuite() {
    delete s_;
    s_ = nullptr;
  }
  void SetUp() override { ASSERT_EQ(error_, "") << error_; }

  static inline Suite* s_ = nullptr;
  static inline std::string error_;
};

}  // namespace monoroute::testing

#endif  // MONOROUTE_TESTS_TESTING_SHARED_SUITE_H_
