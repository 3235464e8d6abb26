"""Trainer API: typed job records and the ``TrainerMethods`` of ``Client``.

Wraps every RPC of ``monoroute.trainer.v1.Trainer``: SubmitJob, GetJob, ListJobs, WatchJob,
CancelJob. Results are the typed dataclasses generated from trainer.proto (enum values as their
names, e.g. ``job.state == "SUCCEEDED"``), each with ``.raw`` holding the proto.
"""

import html
import json
import os
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Union

from monoroute_client._convert import enum_value, from_proto, register
from monoroute_client._pb import pb

#: What ``submit_job`` accepts as a spec: YAML text, a path to a YAML/JSON file, or a mapping.
JobSpec = Union[str, "os.PathLike[str]", Mapping[str, Any]]

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

    def _repr_html_(self) -> str:
        """A small table for Jupyter: id, name, state, progress, losses, run, checkpoint."""
        return job_html(self)


def job_html(job: "Job") -> str:
    """HTML table of a job's headline fields (``Job._repr_html_``)."""
    p = job.progress
    color = {"SUCCEEDED": "#1a7f37", "SUCCEEDED_WITH_WARNINGS": "#9a6700", "FAILED": "#cf222e",
             "CANCELLED": "#6e7781", "RUNNING": "#0969da"}.get(job.state, "#57606a")
    rows = [("id", job.id), ("name", job.name or "-"), ("kind", job.kind),
            ("state", f'<b style="color:{color}">{html.escape(job.state)}</b>'),
            ("step", f"{p.step} / {p.total_steps}" if p is not None else "-")]
    if p is not None and p.step:
        rows.append(("loss", f"{p.total_loss:.4f}"))
    if job.final_val_loss:
        rows.append(("final val loss", f"{job.final_val_loss:.4f}"))
    if job.evals:
        rows.append(("evals", ", ".join(f"{e.step}: {e.val_loss:.4f}" for e in job.evals[-5:])))
    rows += [("run", job.run_id), ("checkpoint", job.checkpoint_dir or "-")]
    if job.failure_reason:
        rows.append(("failure", job.failure_reason))
    if job.warnings:
        rows.append(("warnings", "; ".join(job.warnings)))
    body = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td style="
                   f"'text-align:left'>{v if k == 'state' else html.escape(str(v))}</td></tr>"
                   for k, v in rows)
    return f"<table><caption>monoroute job</caption>{body}</table>"


def spec_text(spec: JobSpec) -> str:
    """The YAML text of a job spec given as text, a path or a mapping.

    A mapping becomes JSON (valid YAML); ``os.PathLike`` is always a path; a ``str`` is a path
    when it names an existing file or is a single line ending in .yaml / .yml / .json (then
    FileNotFoundError if absent), else the spec text itself.
    """
    if isinstance(spec, Mapping):
        return json.dumps(dict(spec), indent=1)
    if isinstance(spec, os.PathLike) or _looks_like_path(spec):
        with open(os.fspath(spec), encoding="utf-8") as f:
            return f.read()
    if not isinstance(spec, str):
        raise TypeError(f"spec: expected YAML text, a path or a dict, got {type(spec).__name__}")
    return spec


def _looks_like_path(spec: Any) -> bool:
    if not isinstance(spec, str) or "\n" in spec or not spec.strip():
        return False
    return os.path.isfile(spec) or spec.strip().lower().endswith((".yaml", ".yml", ".json"))


def _state_value(state: Union[None, str, int]) -> int:
    return enum_value(pb.trainer_pb2.JobState, state, "state")


class TrainerMethods:
    """Trainer RPCs of ``Client`` (needs ``self._transport``)."""

    _transport: Any

    def submit_job(self, spec: JobSpec, overrides: Sequence[str] = (), name: str = "") -> Job:
        """Validates and queues a job (the ``monoroute train`` spec).

        Args:
            spec: the spec as YAML text, a path to a YAML file (``str`` or ``pathlib.Path``) or
                a dict (see ``spec_text``).
            overrides: "a.b=v" strings applied after the YAML.
            name: display name.
        Raises ServiceError: INVALID_ARGUMENT / PERMISSION_DENIED naming the field,
            UNAUTHENTICATED without the token. FileNotFoundError for a path that is absent.
        """
        if isinstance(overrides, str):
            overrides = [overrides]
        # The text fields are `bytes` on the wire (UTF-8; the trainer names invalid bytes).
        req = pb.trainer_pb2.SubmitJobRequest(spec_yaml=spec_text(spec).encode("utf-8"),
                                              overrides=[o.encode("utf-8") for o in overrides],
                                              name=(name or "").encode("utf-8"))
        return from_proto(self._transport.call("trainer", "SubmitJob", req, auth=True).job)

    def get_job(self, job_id: str) -> Job:
        """The job ``job_id`` (NOT_FOUND when unknown)."""
        return from_proto(self._transport.call("trainer", "GetJob",
                                                    pb.trainer_pb2.GetJobRequest(id=job_id)))

    def list_jobs(self, state: Union[None, str, int] = None) -> List[Job]:
        """Every job, or only those in ``state``: a name in any case ("succeeded", "RUNNING") or
        an enum number. ValueError listing the names for anything else."""
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

    def watch(self, job: Union[str, Job], progress: Optional[bool] = None,
              timeout: Optional[float] = None,
              on_update: Optional[Callable[[JobUpdate], None]] = None) -> Job:
        """``wait_job`` with a progress bar: tqdm (``tqdm.auto``: a widget in Jupyter when
        ipywidgets is installed, text otherwise) over the job's steps, showing state, loss and
        validation loss. ``progress`` None: a bar when tqdm is importable; False: none; True:
        ImportError without tqdm (Debian: python3-tqdm). Returns the final Job."""
        job_id = job if isinstance(job, str) else job.id
        bar = _progress_bar(job_id, progress)
        def update(u: JobUpdate) -> None:
            if bar is not None:
                bar.update_job(u.job)
            if on_update is not None:
                on_update(u)
        try:
            return self.wait_job(job_id, timeout=timeout, on_update=update)
        finally:
            if bar is not None:
                bar.close()

    def cancel_job(self, job_id: str) -> Job:
        """Cancels a queued or running job (a running one stops at its next step)."""
        req = pb.trainer_pb2.CancelJobRequest(id=job_id)
        return from_proto(self._transport.call("trainer", "CancelJob", req, auth=True).job)

    def get_job_metrics(self, job_id: str, since_step: int = 0, max_points: int = 0) -> Any:
        """One page of the job's step and evaluation history (GetJobMetrics): ``steps``
        (Progress), ``evals`` (EvalResult) and ``truncated`` (ask again with ``since_step`` =
        the last step returned)."""
        req = pb.trainer_pb2.GetJobMetricsRequest(id=job_id, since_step=since_step,
                                                  max_points=max_points)
        return from_proto(self._transport.call("trainer", "GetJobMetrics", req))

    def job_metrics(self, job: Union[str, Job]) -> Any:
        """The whole step history of ``job`` as a pandas DataFrame (one row per logged step,
        the Progress fields as columns), reading every page of GetJobMetrics."""
        import pandas as pd
        job_id = job if isinstance(job, str) else job.id
        rows: List[Any] = []
        since = 0
        while True:
            page = self.get_job_metrics(job_id, since_step=since)
            rows.extend(page.steps)
            if not page.truncated or not page.steps:
                break
            since = page.steps[-1].step
        scalar = lambda v: isinstance(v, (int, float, str, bool))  # noqa: E731
        return pd.DataFrame([{k: v for k, v in vars(r).items() if scalar(v)} for r in rows])

    def stream_job_logs(self, job_id: str, follow: bool = False, offset: int = 0,
                        timeout: Optional[float] = None) -> Iterator[bytes]:
        """Yields the job's worker log in pieces (StreamJobLogs) from byte ``offset`` (negative:
        that many bytes before the end); with ``follow`` until the job ends."""
        req = pb.trainer_pb2.StreamJobLogsRequest(id=job_id, follow=follow, offset=offset)
        for chunk in self._transport.stream("trainer", "StreamJobLogs", req, timeout=timeout):
            yield chunk.data

    def tail_logs(self, job: Union[str, Job], n_bytes: int = 4096, follow: bool = False,
                  timeout: Optional[float] = None) -> str:
        """The last ``n_bytes`` of the job's worker log as text (with ``follow``: everything
        written until the job ends)."""
        job_id = job if isinstance(job, str) else job.id
        data = b"".join(self.stream_job_logs(job_id, follow=follow, offset=-abs(n_bytes),
                                             timeout=timeout))
        return data.decode("utf-8", errors="replace")

    @staticmethod
    def state_name(job: Union[Job, Any]) -> str:
        """The state name of a Job (or of a raw proto Job)."""
        if isinstance(job.state, str):
            return job.state
        return pb.trainer_pb2.JobState.Name(job.state)


class _JobBar:
    """A tqdm bar over a job's steps (total from the job's progress)."""

    def __init__(self, tqdm_cls: Any, job_id: str):
        self._bar = tqdm_cls(total=None, desc=job_id, unit="step", dynamic_ncols=True)
        self._n = 0

    def update_job(self, job: Job) -> None:
        p = job.progress
        if p is not None and p.total_steps and self._bar.total != p.total_steps:
            self._bar.total = p.total_steps
            self._bar.refresh()
        step = p.step if p is not None else 0
        if step > self._n:
            self._bar.update(step - self._n)
            self._n = step
        post = {"state": job.state}
        if p is not None and p.step:
            post["loss"] = f"{p.total_loss:.4f}"
        if job.evals:
            post["val"] = f"{job.evals[-1].val_loss:.4f}"
        self._bar.set_postfix(post, refresh=False)

    def close(self) -> None:
        self._bar.close()


def _progress_bar(job_id: str, progress: Optional[bool]) -> Optional[_JobBar]:
    if progress is False:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        if progress:
            raise ImportError("watch(progress=True) needs tqdm (Debian: python3-tqdm)") from None
        return None
    return _JobBar(tqdm, job_id)


def job_summary(job: Job) -> Dict[str, Any]:
    """A plain dict of the job's headline fields (for printing or JSON)."""
    p = job.progress
    return {"id": job.id, "name": job.name, "state": job.state, "kind": job.kind,
            "step": p.step, "total_steps": p.total_steps, "total_loss": p.total_loss,
            "final_val_loss": job.final_val_loss, "checkpoint_dir": job.checkpoint_dir,
            "run_id": job.run_id}
