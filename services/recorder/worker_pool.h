// A small fixed-size thread pool used by the recorder service to keep RocksDB work off gRPC's
// callback threads. Thread-safe. Destruction runs the queued tasks, then joins the threads.
#ifndef MONOROUTE_SERVICES_RECORDER_WORKER_POOL_H_
#define MONOROUTE_SERVICES_RECORDER_WORKER_POOL_H_

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace monoroute::recorder {

class WorkerPool {
 public:
  explicit WorkerPool(int threads);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `task` to run on one of the pool's threads.
  void Submit(std::function<void()> task);

 private:
  void Loop();
  absl::Mutex mu_;
  std::deque<std::function<void()>> tasks_;  // guarded by mu_
  bool stop_ = false;                        // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace monoroute::recorder

#endif  // MONOROUTE_SERVICES_RECORDER_WORKER_POOL_H_
