// StreamJobLogs: one server-streaming reactor per call that sends a job's log file in chunks from
// an offset and, with `follow`, keeps sending what is appended until the job ends. A reactor owns
// one thread that reads the file (re-opened on every read, so a rotated log restarts at byte 0)
// and waits for each write to complete, so a slow client slows only its own stream.
#ifndef MONOROUTE_SERVICES_TRAINER_LOG_STREAM_H_
#define MONOROUTE_SERVICES_TRAINER_LOG_STREAM_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <string>

#include "monoroute/trainer/v1/trainer.grpc.pb.h"

namespace monoroute::trainer {

// Largest chunk of a LogChunk message.
inline constexpr size_t kLogChunkBytes = 64 * 1024;
// Most log streams served at once (more: RESOURCE_EXHAUSTED).
inline constexpr int kMaxLogStreams = 64;

// What a log stream sends.
struct LogStreamOptions {
  // The log file ("" or missing: an empty log until it appears).
  std::string path;
  // Start offset; negative: that many bytes before the end.
  int64_t offset = 0;
  // Keep sending appended output until `job_done` returns true (then the rest, then finish).
  bool follow = false;
  // True once the job is terminal (polled while following).
  std::function<bool()> job_done;
  // Wait between polls of a followed file that has no new data.
  int64_t poll_ms = 200;
};

// A reactor serving one StreamJobLogs call (it deletes itself when the call is done), or a
// reactor that fails the call with RESOURCE_EXHAUSTED when kMaxLogStreams are being served.
grpc::ServerWriteReactor<v1::LogChunk>* StartLogStream(LogStreamOptions options);

}  // namespace monoroute::trainer

#endif  // MONOROUTE_SERVICES_TRAINER_LOG_STREAM_H_
