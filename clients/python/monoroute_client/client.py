"""``Client``: one object for the three monoroute gRPC services.

Addresses default to the environment (``MONOROUTE_TRAINER_ADDR``, ``MONOROUTE_RECORDER_ADDR``,
``MONOROUTE_ANALYSIS_ADDR``), then to the project's default ports on 127.0.0.1. The trainer's
bearer token (needed by SubmitJob/CancelJob when the trainer is configured with one) comes from the
``token`` argument, ``MONOROUTE_TRAINER_TOKEN`` or the file named by
``MONOROUTE_TRAINER_TOKEN_FILE``. Errors are raised as ``ServiceError`` carrying the gRPC status
code and the server's message. A Client is not thread-safe for concurrent close(); calls may be
made from several threads (gRPC channels are thread-safe).
"""

import json
import os
import types

import grpc

from monoroute_client import _stubs

# The generated modules: pb.trainer_pb2, pb.recorder_pb2, pb.analysis_pb2 (+ *_grpc).
pb = types.SimpleNamespace(**_stubs.load())

TERMINAL_STATES = ("SUCCEEDED", "FAILED", "CANCELLED")


class ServiceError(RuntimeError):
    """A failed RPC: ``code`` is a grpc.StatusCode, ``details`` the server's message."""

    def __init__(self, service, method, code, details):
        super().__init__(f"{service}.{method}: {code.name}: {details}")
        self.service, self.method, self.code, self.details = service, method, code, details


def _env(name, default):
    v = os.environ.get(name)
    return v if v else default


def _token_from_env():
    tok = os.environ.get("MONOROUTE_TRAINER_TOKEN")
    if tok:
        return tok.strip()
    path = os.environ.get("MONOROUTE_TRAINER_TOKEN_FILE")
    if path:
        with open(path, encoding="utf-8") as f:
            return f.read().strip()
    return None


class Client:
    """Trainer, recorder and analysis stubs over lazily created insecure channels."""

    def __init__(self, trainer=None, recorder=None, analysis=None, token=None, timeout=60.0):
        self.trainer_addr = trainer or _env("MONOROUTE_TRAINER_ADDR", "127.0.0.1:7103")
        self.recorder_addr = recorder or _env("MONOROUTE_RECORDER_ADDR", "127.0.0.1:7101")
        self.analysis_addr = analysis or _env("MONOROUTE_ANALYSIS_ADDR", "127.0.0.1:7102")
        self.token = token if token is not None else _token_from_env()
        self.timeout = timeout
        self._channels = {}

    # -- plumbing

    def _stub(self, service):
        if service not in self._channels:
            addr = {"trainer": self.trainer_addr, "recorder": self.recorder_addr,
                    "analysis": self.analysis_addr}[service]
            opts = [("grpc.max_receive_message_length", 256 << 20)]
            self._channels[service] = grpc.insecure_channel(addr, options=opts)
        ch = self._channels[service]
        return {
            "trainer": lambda: pb.trainer_pb2_grpc.TrainerStub(ch),
            "recorder": lambda: pb.recorder_pb2_grpc.RecorderStub(ch),
            "analysis": lambda: pb.analysis_pb2_grpc.AnalysisStub(ch),
        }[service]()

    def _metadata(self, auth):
        if auth and self.token:
            return (("authorization", f"Bearer {self.token}"),)
        return ()

    def _call(self, service, method, request, auth=False, timeout=None):
        fn = getattr(self._stub(service), method)
        try:
            return fn(request, timeout=timeout or self.timeout, metadata=self._metadata(auth))
        except grpc.RpcError as e:
            raise ServiceError(service, method, e.code(), e.details()) from None

    def _stream(self, service, method, request, auth=False, timeout=None):
        fn = getattr(self._stub(service), method)
        try:
            for item in fn(request, timeout=timeout, metadata=self._metadata(auth)):
                yield item
        except grpc.RpcError as e:
            raise ServiceError(service, method, e.code(), e.details()) from None

    def close(self):
        for ch in self._channels.values():
            ch.close()
        self._channels.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- trainer

    def submit_job(self, spec_yaml, overrides=(), name=""):
        """Validates and queues a job (the ``monoroute train`` YAML); returns the Job."""
        req = pb.trainer_pb2.SubmitJobRequest(spec_yaml=spec_yaml, overrides=list(overrides),
                                              name=name)
        return self._call("trainer", "SubmitJob", req, auth=True).job

    def get_job(self, job_id):
        return self._call("trainer", "GetJob", pb.trainer_pb2.GetJobRequest(id=job_id))

    def list_jobs(self, state=None):
        """Jobs, optionally only those in ``state`` (a name such as "RUNNING" or an enum value)."""
        if isinstance(state, str):
            state = pb.trainer_pb2.JobState.Value(state)
        req = pb.trainer_pb2.ListJobsRequest(state=state or 0)
        return list(self._call("trainer", "ListJobs", req).jobs)

    def watch_job(self, job_id, timeout=None):
        """Yields JobUpdate messages until the job reaches a terminal state."""
        return self._stream("trainer", "WatchJob", pb.trainer_pb2.WatchJobRequest(id=job_id),
                            timeout=timeout)

    def wait_job(self, job_id, timeout=None, on_update=None):
        """Watches ``job_id`` to a terminal state and returns the final Job."""
        last = None
        for update in self.watch_job(job_id, timeout=timeout):
            last = update.job
            if on_update is not None:
                on_update(update)
        return last if last is not None else self.get_job(job_id)

    def cancel_job(self, job_id):
        req = pb.trainer_pb2.CancelJobRequest(id=job_id)
        return self._call("trainer", "CancelJob", req, auth=True).job

    @staticmethod
    def state_name(job):
        return pb.trainer_pb2.JobState.Name(job.state)

    # -- recorder

    def create_run(self, run_id, routed_layers, num_pathways, top_k, vocab_size, **kw):
        """Declares a recorder run (idempotent); returns True when it was created."""
        spec = pb.recorder_pb2.RunSpec(run_id=run_id, routed_layers=list(routed_layers),
                                       num_pathways=num_pathways, top_k=top_k,
                                       vocab_size=vocab_size, **kw)
        return self._call("recorder", "CreateRun", spec).created

    def record(self, batches, timeout=None):
        """Streams EventBatch messages to the recorder; returns the list of BatchAcks."""
        fn = self._stub("recorder").Record
        try:
            return list(fn(iter(batches), timeout=timeout or self.timeout))
        except grpc.RpcError as e:
            raise ServiceError("recorder", "Record", e.code(), e.details()) from None

    def list_runs(self):
        """RunSummary of every recorded run."""
        return list(self._call("recorder", "ListRuns", pb.recorder_pb2.ListRunsRequest()).runs)

    def get_run(self, run_id):
        """RunSummary of one run (events, batches, steps, splits, watermark)."""
        return self._call("recorder", "GetRun", pb.recorder_pb2.GetRunRequest(run_id=run_id))

    def get_totals(self, run_id, layer, split=""):
        req = pb.recorder_pb2.TotalsRequest(run_id=run_id, layer=layer, split=split)
        return self._call("recorder", "GetTotals", req)

    def run_summaries(self):
        """Plain dicts of every run (for printing or JSON)."""
        return [{
            "run_id": r.spec.run_id, "events": r.events, "batches": r.batches,
            "min_step": r.min_step, "max_step": r.max_step,
            "layers": list(r.layers_seen), "splits": list(r.splits),
        } for r in self.list_runs()]

    # -- analysis

    def get_report(self, run_id, out_dir=None, split="", baseline_run_id="", skip_png=False,
                   timeout=None):
        """Computes the monosemanticity report of ``run_id``.

        Returns ``(report_dict, response)``. With ``out_dir`` it also writes
        ``llm_routing_results.json`` and (unless skip_png) ``llm_monosemanticity.png`` there.
        """
        req = pb.analysis_pb2.ReportRequest(
            run_id=run_id, baseline_run_id=baseline_run_id,
            selection=pb.analysis_pb2.Selection(split=split),
            options=pb.analysis_pb2.AnalysisOptions(skip_png=skip_png))
        resp = self._call("analysis", "ComputeReport", req, timeout=timeout)
        report = json.loads(resp.json) if resp.json else {}
        if out_dir:
            os.makedirs(out_dir, exist_ok=True)
            with open(os.path.join(out_dir, "llm_routing_results.json"), "w",
                      encoding="utf-8") as f:
                f.write(resp.json)
            if resp.png:
                with open(os.path.join(out_dir, "llm_monosemanticity.png"), "wb") as f:
                    f.write(resp.png)
        return report, resp
