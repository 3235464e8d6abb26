// The job worker: the hidden `monoroute-trainer --worker --request FILE` mode that runs ONE
// training job in its own process (the trainer's supervisor starts it: subprocess.h, protocol:
// worker_protocol.h). It runs engine::RunTrainingJob exactly as `monoroute train` does, uploads the
// routing events to the recorder itself (RecorderWriter; batch ids = the engine's deterministic
// block ids, writer id = job id, so a resumed job's re-sends are deduplicated; FinishRun only after
// a complete job whose every event is durable), reports progress on fd 3, stops at the next step
// with a checkpoint on SIGTERM, and holds a lock so a job never has two workers. A crash,
// std::bad_alloc or an OOM kill ends this process only.
#ifndef MONOROUTE_SERVICES_TRAINER_JOB_WORKER_H_
#define MONOROUTE_SERVICES_TRAINER_JOB_WORKER_H_

namespace monoroute::trainer {

// True when argv asks for the worker mode (argv[1] == "--worker").
bool IsWorkerInvocation(int argc, char** argv);

// Runs the worker: `--worker --request FILE [--report-fd N]`. Returns the process exit code: 0
// once a result line was written (success or a job error), 2 for a bad invocation or request.
int JobWorkerMain(int argc, char** argv);

}  // namespace monoroute::trainer

#endif  // MONOROUTE_SERVICES_TRAINER_JOB_WORKER_H_
