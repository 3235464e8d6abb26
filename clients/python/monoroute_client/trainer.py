"""Trainer API: typed job records and the ``TrainerMethods`` of ``Client``.

Wraps every RPC of ``monoroute.trainer.v1.Trainer``: SubmitJob, GetJob, ListJobs, WatchJob,
CancelJob. Results are the typed dataclasses generated from trainer.proto (enum values as their
names, e.g. ``job.state == "SUCCEEDED"``), each with ``.raw`` holding the proto.
"""

from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Union

from monoroute_client._convert import from_proto, register
from monoroute_client._pb import pb

#: Job states after which a job never changes again.
TERMINAL_STATES = ("SUCCEEDED", "SUCCEEDED_WITH_WARNINGS", "FAILED", "CANCELLED")

_t = pb.trainer_types
#: Load balance of one routed layer at the latest step.
LayerBalance = _t.LayerBalance
#: Training progress of a job (latest step report).
Progress = _t.Progress
#: One evaluation of a job.
EvalResult = _t.EvalResult
#: Routing events the job sent to the recorder.
EventStats = _t.EventStats
#: One WatchJob message: what changed (``kind``) and the job as of the update.
JobUpdate = _t.JobUpdate


@register
class Job(_t.Job):
    """A training job as the trainer reports it (fields: ``trainer.proto``'s Job; ``state`` is
    the state's name, e.g. "SUCCEEDED")."""

    @property
    def done(self) -> bool:
        """True in a terminal state (SUCCEEDED, SUCCEEDED_WITH_WARNINGS, FAILED, CANCELLED)."""
        return self.state in TERMINAL_STATES

    @property
    def succeeded(self) -> bool:
        """True when the job finished, with or without warnings (see ``warnings``: e.g. routing
        events dropped, so its report covers fewer events)."""
        return self.state in ("SUCCEEDED", "SUCCEEDED_WITH_WARNINGS")

    @property
    def run_id(self) -> str:
        """The recorder run holding this job's routing events (``<trainer instance>-<job id>``;
        the job id for jobs of trainers older than the instance ids)."""
        return self.recorder_run_id or self.id


def _state_value(state: Union[None, str, int]) -> int:
    if state is None:
        return 0
    if isinstance(state, str):
        return pb.trainer_pb2.JobState.Value(state)
    return int(state)


class TrainerMethods:
    """Trainer RPCs of ``Client`` (needs ``self._transport``)."""

    _transport: Any

    def submit_job(self, spec_yaml: str, overrides: Sequence[str] = (), name: str = "") -> Job:
        """Validates and queues a job (the ``monoroute train`` YAML).

        Args:
            spec_yaml: the job spec text (not a path).
            overrides: "a.b=v" strings applied after the YAML.
            name: display name.
        Raises ServiceError: INVALID_ARGUMENT / PERMISSION_DENIED naming the field,
            UNAUTHENTICATED without the token.
        """
        req = pb.trainer_pb2.SubmitJobRequest(spec_yaml=spec_yaml, overrides=list(overrides),
                                              name=name)
        return from_proto(self._transport.call("trainer", "SubmitJob", req, auth=True).job)

    def get_job(self, job_id: str) -> Job:
        """The job ``job_id`` (NOT_FOUND when unknown)."""
        return from_proto(self._transport.call("trainer", "GetJob",
                                                    pb.trainer_pb2.GetJobRequest(id=job_id)))

    def list_jobs(self, state: Union[None, str, int] = None) -> List[Job]:
        """Every job, or only those in ``state`` (a name such as "RUNNING" or an enum value)."""
        req = pb.trainer_pb2.ListJobsRequest(state=_state_value(state))
        return [from_proto(j) for j in self._transport.call("trainer", "ListJobs", req).jobs]

    def watch_job(self, job_id: str, timeout: Optional[float] = None) -> Iterator[JobUpdate]:
        """Yields JobUpdates (first a SNAPSHOT) until the job reaches a terminal state."""
        req = pb.trainer_pb2.WatchJobRequest(id=job_id)
        for u in self._transport.stream("trainer", "WatchJob", req, timeout=timeout):
            yield from_proto(u)

    def wait_job(self, job_id: str, timeout: Optional[float] = None,
                 on_update: Optional[Callable[[JobUpdate], None]] = None) -> Job:
        """Watches ``job_id`` to a terminal state and returns the final Job."""
        last = None
        for update in self.watch_job(job_id, timeout=timeout):
            last = update.job
            if on_update is not None:
                on_update(update)
        return last if last is not None and last.done else self.get_job(job_id)

    def cancel_job(self, job_id: str) -> Job:
        """Cancels a queued or running job (a running one stops at its next step)."""
        req = pb.trainer_pb2.CancelJobRequest(id=job_id)
        return from_proto(self._transport.call("trainer", "CancelJob", req, auth=True).job)

    @staticmethod
    def state_name(job: Union[Job, Any]) -> str:
        """The state name of a Job (or of a raw proto Job)."""
        if isinstance(job.state, str):
            return job.state
        return pb.trainer_pb2.JobState.Name(job.state)


def job_summary(job: Job) -> Dict[str, Any]:
    """A plain dict of the job's headline fields (for printing or JSON)."""
    p = job.progress
    return {"id": job.id, "name": job.name, "state": job.state, "kind": job.kind,
            "step": p.step, "total_steps": p.total_steps, "total_loss": p.total_loss,
            "final_val_loss": job.final_val_loss, "checkpoint_dir": job.checkpoint_dir,
            "run_id": job.run_id}
