// What the explorer needs from a recorder, read through the analysis' one RecorderReader
// (services/analysis/recorder_reader.h): the runs as RunListing and a run's raw events of one
// split with every field into RunEvents.
#ifndef MONOROUTE_SERVICES_ANALYSIS_EXPLORER_RECORDER_EVENTS_H_
#define MONOROUTE_SERVICES_ANALYSIS_EXPLORER_RECORDER_EVENTS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "monoroute/recorder/v1/recorder.pb.h"
#include "services/analysis/explorer/pages.h"
#include "services/analysis/explorer/run_events.h"
#include "services/analysis/recorder_reader.h"

namespace monoroute::analysis::explorer {

// The reader's options (address, TLS, bearer token, deadline, message size) and the explorer's
// bound.
struct RecorderEventsOptions : RecorderReaderOptions {
  // Most events read per layer (more: RESOURCE_EXHAUSTED naming the run and layer).
  uint64_t max_events_per_layer = 20000000;
};

// Thread-safe (its RecorderReader is); owns the reader.
class RecorderEvents {
 public:
  // INVALID_ARGUMENT for an empty address or unusable TLS files.
  static absl::StatusOr<std::unique_ptr<RecorderEvents>> Create(
      const RecorderEventsOptions& options);

  // Every run, newest write first.
  absl::StatusOr<std::vector<RunListing>> ListRuns() const;
  // The run's summary (NOT_FOUND for an unknown run; UNAVAILABLE naming the address).
  absl::StatusOr<recorder::v1::RunSummary> GetRun(const std::string& run_id) const;
  // The events of `split` of every routed layer ("" = "valid" when the run has it, else its
  // first split that is not a control split). NOT_FOUND for a split the run does not have,
  // FAILED_PRECONDITION for a counts-only run.
  absl::StatusOr<RunEvents> ReadRun(const recorder::v1::RunSummary& summary,
                                    const std::string& split) const;

  // The split ReadRun reads for `split` (the default resolved); NOT_FOUND when absent.
  static absl::StatusOr<std::string> ResolveSplit(const recorder::v1::RunSummary& summary,
                                                  const std::string& split);

 private:
  RecorderEvents(const RecorderEventsOptions& options, std::unique_ptr<RecorderReader> reader);
  absl::Status ReadLayer(const std::string& run_id, const std::string& split,
                         LayerEventsBuilder* builder) const;

  RecorderEventsOptions options_;
  std::unique_ptr<RecorderReader> reader_;
};

}  // namespace monoroute::analysis::explorer

#endif  // MONOROUTE_SERVICES_ANALYSIS_EXPLORER_RECORDER_EVENTS_H_
