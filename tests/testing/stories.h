// Test support: the small training text the service and CLI tests train on (a few short stories
// in TinyStories layout, repeated, so that a tiny model learns something in a few steps). The
// engine tests' varied corpus is tests/common/engine/test_util.h's StoryCorpus. Header-only.
#ifndef MONOROUTE_TESTS_TESTING_STORIES_H_
#define MONOROUTE_TESTS_TESTING_STORIES_H_

#include <string>

namespace monoroute::testing {

// `n` stories cycling through the first `distinct` (1 to 4) of four fixed ones, each followed by
// an <|endoftext|> line.
inline std::string Stories(int n, int distinct = 3) {
  static const char* kStories[] = {
      "Tom had a red ball. He liked to play with the ball in the park.",
      "Lily saw a big dog. The dog was happy and ran to Lily.",
      "The sun was warm. Ben and Sue went to the sea to swim and play.",
      "Mia found a little cat. The cat was sad, so Mia gave it milk."};
  if (distinct < 1) distinct = 1;
  if (distinct > 4) distinct = 4;
  std::string text;
  for (int i = 0; i < n; ++i) text += std::string(kStories[i % distinct]) + "\n<|endoftext|>\n";
  return text;
}

}  // namespace monoroute::testing

#endif  // MONOROUTE_TESTS_TESTING_STORIES_H_
