// FUZZ_CHECK for the libFuzzer targets in tests/fuzz: a property that must hold for every input
// the parser accepts. A violation prints the message and aborts, which libFuzzer records as a
// crash with the input that caused it.
#ifndef MONOROUTE_TESTS_FUZZ_FUZZ_CHECK_H_
#define MONOROUTE_TESTS_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond, ...)                                                              \
  do {                                                                                     \
    if (!(cond)) {                                                                         \
      std::fprintf(stderr, "FUZZ_CHECK failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      std::fprintf(stderr, __VA_ARGS__);                                                   \
      std::fprintf(stderr, "\n");                                                          \
      std::abort();                                                                        \
    }                                                                                      \
  } while (0)

#endif  // MONOROUTE_TESTS_FUZZ_FUZZ_CHECK_H_
