// How a job's worker uploads its routing events to the recorder: where, over what channel, and
// the bounds of its queue and flushes. One type for the trainer's options (EngineBackendOptions,
// set by monoroute-trainer's flags) and the worker's request (WorkerRequest), which carries it
// unchanged. Plain data (the bearer token travels apart, in the worker's environment).
#ifndef MONOROUTE_SERVICES_TRAINER_RECORDER_UPLOAD_H_
#define MONOROUTE_SERVICES_TRAINER_RECORDER_UPLOAD_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>

#include "common/service/tls_credentials.h"

namespace monoroute::trainer {

// The recorder upload settings of every job of a trainer.
struct RecorderUploadOptions {
  // Recorder address (host:port); empty: routing events are not recorded.
  std::string recorder_address;
  // TLS of the workers' recorder channel (file paths; each worker builds its own channel).
  ChannelTlsOptions recorder_tls;
  // Bound on events queued for the recorder and not yet acked (per worker).
  size_t max_queue_events = size_t{1} << 21;
  // Longest a training step may wait for queue space before a block is dropped (and counted).
  int64_t max_block_ms = 200;
  // How long a finished job waits for the recorder to ack its remaining events.
  int64_t flush_timeout_ms = 120000;
  // Same, for a job that stops early (cancel / shutdown).
  int64_t stop_flush_timeout_ms = 5000;
};

// The field list of RecorderUploadOptions (see common/engine/progress_fields.h): the worker
// request carries these fields at its top level, the TLS settings as the object "recorder_tls".
template <typename T, typename V>
std::enable_if_t<std::is_same_v<std::remove_const_t<T>, RecorderUploadOptions>> VisitFields(T& u,
                                                                                            V& v) {
  v("recorder_address", u.recorder_address);
  v("recorder_tls", u.recorder_tls);
  v("max_queue_events", u.max_queue_events);
  v("max_block_ms", u.max_block_ms);
  v("flush_timeout_ms", u.flush_timeout_ms);
  v("stop_flush_timeout_ms", u.stop_flush_timeout_ms);
}

}  // namespace monoroute::trainer

#endif  // MONOROUTE_SERVICES_TRAINER_RECORDER_UPLOAD_H_
