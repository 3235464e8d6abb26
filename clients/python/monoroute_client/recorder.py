"""Recorder API: runs, routing events and counts as numpy arrays; ``RecorderMethods`` of Client.

Wraps every RPC of ``monoroute.recorder.v1.Recorder``: CreateRun, Record, GetRun, ListRuns,
GetCounts, GetTotals, QueryEvents, DeleteRun, FinishRun (the mutating ones send the recorder's
bearer token when one is configured). Counts come back as a sparse ``Counts`` (COO numpy
columns; ``.dense()`` gives the P x V matrix), events as ``Events`` (numpy columns, ``[N, k]``
pathway/weight matrices; ``.to_pandas()``). ``event_batch`` builds an EventBatch from arrays.
"""

import dataclasses
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional, Sequence

import numpy as np

from monoroute_client._convert import from_proto, register
from monoroute_client._pb import pb

if TYPE_CHECKING:  # pandas is optional at run time
    import pandas

_r = pb.recorder_types
#: What a run records (declared once, before its first batch).
RunSpec = _r.RunSpec
#: The recorder's acknowledgement of one EventBatch (durable when received).
BatchAck = _r.BatchAck
#: Per-pathway totals of one routed layer (pathway_count, pathway_weight, tokens, watermark).
Totals = _r.TotalsResponse


@register
class RunSummary(_r.RunSummary):
    """A run's spec and what was applied to it so far (fields: recorder.proto's RunSummary)."""

    @property
    def run_id(self) -> str:
        return self.spec.run_id


@dataclasses.dataclass(frozen=True)
class Counts:
    """Sparse pathway x token counts of one layer (COO): ``count[i]`` routings of
    ``token_id[i]`` to ``pathway[i]``. ``shape`` is (num_pathways, vocab_size)."""
    pathway: np.ndarray      # uint32 [nnz]
    token_id: np.ndarray     # uint32 [nnz]
    count: np.ndarray        # uint64 [nnz]
    shape: tuple
    watermark: int           # the run's watermark when the scan started

    def dense(self) -> np.ndarray:
        """The dense uint64 [P, V] matrix (repeated (pathway, token) entries are summed)."""
        out = np.zeros(self.shape, dtype=np.uint64)
        np.add.at(out, (self.pathway.astype(np.intp), self.token_id.astype(np.intp)), self.count)
        return out

    def pathway_loads(self) -> np.ndarray:
        """uint64 [P]: routings per pathway."""
        out = np.zeros(self.shape[0], dtype=np.uint64)
        np.add.at(out, self.pathway.astype(np.intp), self.count)
        return out

    @property
    def nnz(self) -> int:
        return int(self.count.shape[0])

    def to_pandas(self) -> "pandas.DataFrame":
        """A DataFrame with columns pathway, token_id, count."""
        import pandas as pd
        return pd.DataFrame({"pathway": self.pathway, "token_id": self.token_id,
                             "count": self.count})


#: Per-event columns of Events and their dtypes (besides the [N, k] pathways / weights).
EVENT_COLUMNS = {"step": np.uint64, "layer": np.uint32, "sequence_id": np.uint64,
                 "position": np.uint32, "token_id": np.uint32, "next_token_id": np.uint32,
                 "split": object, "writer_id": object, "batch_seq": np.uint64}


@dataclasses.dataclass(frozen=True)
class Events:
    """Raw routing events as numpy columns (one row per event).

    ``columns`` holds step, layer, sequence_id, position, token_id, next_token_id, split,
    writer_id, batch_seq (1-D, length N) and pathways (uint32 [N, k]) / weights (float32 [N, k]).
    """
    columns: Dict[str, np.ndarray]

    def __len__(self) -> int:
        return int(self.columns["step"].shape[0])

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def to_pandas(self) -> "pandas.DataFrame":
        """A DataFrame: the 1-D columns plus pathway_0..k-1 and weight_0..k-1."""
        import pandas as pd
        data: Dict[str, Any] = {k: v for k, v in self.columns.items() if v.ndim == 1}
        for name, prefix in (("pathways", "pathway"), ("weights", "weight")):
            m = self.columns[name]
            for j in range(m.shape[1]):
                data[f"{prefix}_{j}"] = m[:, j]
        return pd.DataFrame(data)


def _events_from_batches(batches: Iterable[Any]) -> Events:
    parts: Dict[str, List[np.ndarray]] = {name: [] for name in EVENT_COLUMNS}
    matrices: Dict[str, List[np.ndarray]] = {"pathways": [], "weights": []}
    k = 0
    for b in batches:
        n = len(b.token_id)
        if n == 0:
            continue
        for name, dtype in EVENT_COLUMNS.items():
            if name in ("split", "writer_id", "batch_seq", "step", "layer"):
                # One value per batch (its header): repeated for each of its events.
                value = (b.split or "train") if name == "split" else getattr(b, name)
                parts[name].append(np.full(n, value, dtype=dtype))
            else:
                parts[name].append(np.asarray(getattr(b, name), dtype=dtype))
        bk = len(b.pathways) // n
        if matrices["pathways"] and bk != k:
            raise ValueError(f"QueryEvents: batches with top_k {k} and {bk}")
        k = bk
        matrices["pathways"].append(np.asarray(b.pathways, dtype=np.uint32).reshape(n, k))
        matrices["weights"].append(np.asarray(b.weights, dtype=np.float32).reshape(n, k))
    out = {name: np.concatenate(p) if p else np.zeros(0, dtype=EVENT_COLUMNS[name])
           for name, p in parts.items()}
    for name, dtype in (("pathways", np.uint32), ("weights", np.float32)):
        out[name] = (np.concatenate(matrices[name]) if matrices[name]
                     else np.zeros((0, k), dtype=dtype))
    return Events(out)


def event_batch(run_id: str, batch_seq: int, *, step: int, layer: int, token_id: Any,
                pathways: Any, weights: Any, sequence_id: Any = None, position: Any = None,
                next_token_id: Any = None, writer_id: str = "python", split: str = "") -> "pb.recorder_pb2.EventBatch":
    """Builds a ``recorder.v1.EventBatch`` proto: the events of ONE routed ``layer`` at ONE
    ``step`` (both ints: the batch's header).

    ``token_id`` (and optional ``sequence_id``, ``position``, ``next_token_id``, default 0) have
    length N; ``pathways`` and ``weights`` are [N, k] (or flat N*k, row-major); ``top_k`` is k.
    A batch re-sent with the same (writer_id, batch_seq) is applied once.
    """
    if np.ndim(step) != 0 or np.ndim(layer) != 0:
        raise ValueError("event_batch: step and layer are one value per batch (send one batch "
                         "per (step, layer))")
    token_id = np.asarray(token_id, dtype=np.uint32).ravel()
    n = token_id.shape[0]

    def col(values: Any, dtype: Any) -> np.ndarray:
        if values is None:
            return np.zeros(n, dtype=dtype)
        a = np.asarray(values, dtype=dtype).ravel()
        if a.shape[0] != n:
            raise ValueError(f"event_batch: a column has {a.shape[0]} entries, token_id has {n}")
        return a

    pw = np.asarray(pathways, dtype=np.uint32).ravel()
    ws = np.asarray(weights, dtype=np.float32).ravel()
    if pw.shape != ws.shape or (n and pw.shape[0] % n):
        raise ValueError(f"event_batch: pathways/weights of {pw.shape[0]}/{ws.shape[0]} entries "
                         f"do not form [N={n}, k]")
    return pb.recorder_pb2.EventBatch(
        run_id=run_id, writer_id=writer_id, batch_seq=batch_seq, split=split, step=int(step),
        layer=int(layer), top_k=pw.shape[0] // n if n else 0,
        sequence_id=col(sequence_id, np.uint64).tolist(),
        position=col(position, np.uint32).tolist(), token_id=token_id.tolist(),
        next_token_id=col(next_token_id, np.uint32).tolist(), pathways=pw.tolist(),
        weights=ws.tolist())


class RecorderMethods:
    """Recorder RPCs of ``Client`` (needs ``self._transport``)."""

    _transport: Any

    def create_run(self, run_id: str, routed_layers: Sequence[int], num_pathways: int,
                   top_k: int, vocab_size: int, *, store_raw_events: bool = False,
                   step_bucket: int = 0, raw_retention_steps: int = 0,
                   labels: Optional[Dict[str, str]] = None) -> bool:
        """Declares a run (idempotent); True when created, False when an identical spec existed.
        A different spec under the same id is ALREADY_EXISTS."""
        spec = pb.recorder_pb2.RunSpec(run_id=run_id, routed_layers=list(routed_layers),
                                       num_pathways=num_pathways, top_k=top_k,
                                       vocab_size=vocab_size, store_raw_events=store_raw_events,
                                       step_bucket=step_bucket,
                                       raw_retention_steps=raw_retention_steps,
                                       labels=dict(labels or {}))
        return self._transport.call("recorder", "CreateRun", spec, auth=True).created

    def record(self, batches: Iterable[Any], timeout: Optional[float] = None) -> List[BatchAck]:
        """Streams EventBatch protos (see ``event_batch``); returns one BatchAck per batch, in
        order. A rejected batch ends the stream with a ServiceError (nothing of it applied)."""
        return [from_proto(a) for a in self._transport.bidi("recorder", "Record", batches,
                                                            auth=True, timeout=timeout)]

    def get_run(self, run_id: str) -> RunSummary:
        """Summary of one run (NOT_FOUND when unknown)."""
        req = pb.recorder_pb2.GetRunRequest(run_id=run_id)
        return from_proto(self._transport.call("recorder", "GetRun", req))

    def list_runs(self) -> List[RunSummary]:
        """Summaries of every recorded run (in run id order, read page by page)."""
        runs: List[RunSummary] = []
        token = ""
        while True:
            resp = self._transport.call("recorder", "ListRuns",
                                        pb.recorder_pb2.ListRunsRequest(page_token=token))
            runs.extend(from_proto(r) for r in resp.runs)
            token = resp.next_page_token
            if not token:
                return runs

    def run_summaries(self) -> List[Dict[str, Any]]:
        """Plain dicts of every run (for printing or JSON)."""
        return [{"run_id": r.spec.run_id, "events": r.events, "batches": r.batches,
                 "min_step": r.min_step, "max_step": r.max_step, "layers": list(r.layers_seen),
                 "splits": list(r.splits)} for r in self.list_runs()]

    def get_counts(self, run_id: str, layer: int, split: str = "", min_step: int = 0,
                   max_step: int = 0, timeout: Optional[float] = None) -> Counts:
        """Pathway x token counts of one routed layer (optionally a split and an inclusive step
        range; max_step 0 = open). The shape comes from the run's spec (one GetRun call)."""
        spec = self.get_run(run_id).spec
        req = pb.recorder_pb2.CountsRequest(run_id=run_id, layer=layer, split=split,
                                            min_step=min_step, max_step=max_step)
        ps, ts, cs, watermark = [], [], [], 0
        for chunk in self._transport.stream("recorder", "GetCounts", req,
                                            timeout=timeout or self._transport.timeout):
            ps.append(np.asarray(chunk.pathway, dtype=np.uint32))
            ts.append(np.asarray(chunk.token_id, dtype=np.uint32))
            cs.append(np.asarray(chunk.count, dtype=np.uint64))
            watermark = chunk.watermark
        cat = lambda parts, dt: np.concatenate(parts) if parts else np.zeros(0, dtype=dt)
        return Counts(pathway=cat(ps, np.uint32), token_id=cat(ts, np.uint32),
                      count=cat(cs, np.uint64), shape=(spec.num_pathways, spec.vocab_size),
                      watermark=watermark)

    def get_totals(self, run_id: str, layer: int, split: str = "") -> Totals:
        """Per-pathway routing counts and weights of one routed layer."""
        req = pb.recorder_pb2.TotalsRequest(run_id=run_id, layer=layer, split=split)
        return from_proto(self._transport.call("recorder", "GetTotals", req))

    def query_events(self, run_id: str, layer: Optional[int] = None,
                     pathway: Optional[int] = None, split: str = "", min_step: int = 0,
                     max_step: int = 0, limit: int = 0,
                     timeout: Optional[float] = None) -> Events:
        """Raw events of a run (needs ``store_raw_events``), optionally of one layer, whose top-k
        contains ``pathway``, of a split, in a step range; at most ``limit`` (0: 100000)."""
        req = pb.recorder_pb2.EventQuery(
            run_id=run_id, has_layer=layer is not None, layer=layer or 0,
            has_pathway=pathway is not None, pathway=pathway or 0, split=split,
            min_step=min_step, max_step=max_step, limit=limit)
        return _events_from_batches(self._transport.stream(
            "recorder", "QueryEvents", req, timeout=timeout or self._transport.timeout))

    def delete_run(self, run_id: str) -> int:
        """Deletes a run with its events and counts; returns the number of events deleted."""
        req = pb.recorder_pb2.DeleteRunRequest(run_id=run_id)
        return self._transport.call("recorder", "DeleteRun", req, auth=True).events_deleted

    def finish_run(self, run_id: str) -> RunSummary:
        """Marks a run complete (idempotent); afterwards only re-sends of applied batches are
        accepted. Returns the run's summary (``finished`` set)."""
        req = pb.recorder_pb2.FinishRunRequest(run_id=run_id)
        return from_proto(self._transport.call("recorder", "FinishRun", req, auth=True))
