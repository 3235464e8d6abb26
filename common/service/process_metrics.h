// The standard Prometheus process metrics, which prometheus-cpp does not provide: read from
// /proc/self on every scrape (Linux only). Families:
//   process_cpu_seconds_total          user + system CPU time (counter)
//   process_resident_memory_bytes      resident set size (gauge)
//   process_virtual_memory_bytes       virtual memory size (gauge)
//   process_start_time_seconds         start time, seconds since the Unix epoch (gauge)
//   process_open_fds                   open file descriptors (gauge)
//   process_max_fds                    RLIMIT_NOFILE soft limit (gauge)
//   process_threads                    threads of the process (gauge)
// The names and meanings are those of the Prometheus client libraries' process collectors, so
// generic dashboards work unchanged.
#ifndef MONOROUTE_COMMON_SERVICE_PROCESS_METRICS_H_
#define MONOROUTE_COMMON_SERVICE_PROCESS_METRICS_H_

#include <memory>
#include <vector>

#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace monoroute {

// A Collectable for an Exposer (RegisterCollectable keeps only a weak_ptr: the caller owns it).
// Thread-safe: Collect reads /proc on the scraping thread and holds no state.
class ProcessCollector : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

}  // namespace monoroute

#endif  // MONOROUTE_COMMON_SERVICE_PROCESS_METRICS_H_
