// One-line registration of a service's own Prometheus metrics (names
// `monoroute_<svc>_<what>_<unit>`, the registry passed in): a metric without labels, or a family
// whose series are added by label later. Header-only over prometheus-cpp.
#ifndef MONOROUTE_COMMON_SERVICE_METRIC_BUILDERS_H_
#define MONOROUTE_COMMON_SERVICE_METRIC_BUILDERS_H_

#include <string>

#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace monoroute {

// A family of counters named `name` with `help` in `r` (series added with Add(labels)).
inline prometheus::Family<prometheus::Counter>& CounterFamily(prometheus::Registry& r,
                                                              const std::string& name,
                                                              const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(r);
}

// A family of gauges named `name` with `help` in `r`.
inline prometheus::Family<prometheus::Gauge>& GaugeFamily(prometheus::Registry& r,
                                                          const std::string& name,
                                                          const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(r);
}

// One counter without labels.
inline prometheus::Counter& AddCounter(prometheus::Registry& r, const std::string& name,
                                       const std::string& help) {
  return CounterFamily(r, name, help).Add({});
}

// One gauge without labels.
inline prometheus::Gauge& AddGauge(prometheus::Registry& r, const std::string& name,
                                   const std::string& help) {
  return GaugeFamily(r, name, help).Add({});
}

// One histogram without labels, with `buckets`.
inline prometheus::Histogram& AddHistogram(prometheus::Registry& r, const std::string& name,
                                           const std::string& help,
                                           const prometheus::Histogram::BucketBoundaries& buckets) {
  return prometheus::BuildHistogram().Name(name).Help(help).Register(r).Add({}, buckets);
}

}  // namespace monoroute

#endif  // MONOROUTE_COMMON_SERVICE_METRIC_BUILDERS_H_
