// LruCache: a small thread-safe cache of shared immutable values by string key, least recently
// used evicted first. The report service keeps its computed reports in one and the explorer its
// profiles and grids (type-erased: LruCache<void>).
#ifndef MONOROUTE_SERVICES_ANALYSIS_LRU_CACHE_H_
#define MONOROUTE_SERVICES_ANALYSIS_LRU_CACHE_H_

#include <algorithm>
#include <cstddef>
#include <list>
#include <memory>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace monoroute::analysis {

// At most `capacity` (>= 1) entries; a linear scan per lookup (capacities are a few hundred).
template <typename T>
class LruCache {
 public:
  // `capacity` 0 is taken as 1.
  explicit LruCache(size_t capacity) : capacity_(std::max<size_t>(1, capacity)) {}

  // The value under `key` (now the most recently used), or null.
  std::shared_ptr<const T> Get(const std::string& key) {
    absl::MutexLock lock(&mu_);
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->first == key) {
        entries_.splice(entries_.begin(), entries_, it);
        return entries_.front().second;
      }
    }
    return nullptr;
  }

  // Stores `value` under `key` (replacing any), evicting the least recently used beyond capacity.
  void Put(const std::string& key, std::shared_ptr<const T> value) {
    absl::MutexLock lock(&mu_);
    entries_.remove_if([&](const auto& e) { return e.first == key; });
    entries_.emplace_front(key, std::move(value));
    while (entries_.size() > capacity_) entries_.pop_back();
  }

 private:
  const size_t capacity_;
  absl::Mutex mu_;
  // Most recently used first.
  std::list<std::pair<std::string, std::shared_ptr<const T>>> entries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace monoroute::analysis

#endif  // MONOROUTE_SERVICES_ANALYSIS_LRU_CACHE_H_
