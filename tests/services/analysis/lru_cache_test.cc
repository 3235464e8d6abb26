// Tests of LruCache (services/analysis/lru_cache.h): hits, least-recently-used eviction, a put
// replacing its key, and capacity 0 taken as 1.
#include "services/analysis/lru_cache.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace monoroute::analysis {
namespace {

std::shared_ptr<const std::string> Str(const char* s) {
  return std::make_shared<const std::string>(s);
}

TEST(LruCacheTest, EvictsTheLeastRecentlyUsed) {
  LruCache<std::string> cache(2);
  EXPECT_EQ(cache.Get("a"), nullptr);
  cache.Put("a", Str("1"));
  cache.Put("b", Str("2"));
  ASSERT_NE(cache.Get("a"), nullptr);  // "a" is now the most recently used
  cache.Put("c", Str("3"));            // evicts "b"
  EXPECT_EQ(cache.Get("b"), nullptr);
  ASSERT_NE(cache.Get("a"), nullptr);
  EXPECT_EQ(*cache.Get("a"), "1");
  EXPECT_EQ(*cache.Get("c"), "3");
}

TEST(LruCacheTest, PutReplacesAndCapacityZeroKeepsOne) {
  LruCache<std::string> cache(0);
  cache.Put("a", Str("1"));
  cache.Put("a", Str("2"));
  ASSERT_NE(cache.Get("a"), nullptr);
  EXPECT_EQ(*cache.Get("a"), "2");
  cache.Put("b", Str("3"));
  EXPECT_EQ(cache.Get("a"), nullptr);
  EXPECT_EQ(*cache.Get("b"), "3");
}

TEST(LruCacheTest, HoldsTypeErasedValues) {
  LruCache<void> cache(4);
  cache.Put("n", std::make_shared<const int>(7));
  std::shared_ptr<const void> hit = cache.Get("n");
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(*std::static_pointer_cast<const int>(hit), 7);
}

}  // namespace
}  // namespace monoroute::analysis
