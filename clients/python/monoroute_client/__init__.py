"""Python client of monoroute: the trainer, recorder and analysis services, and routed
GPT-Neo checkpoints in PyTorch.

    from monoroute_client import Client
    with Client() as c:                     # addresses from arguments, the environment, defaults
        job = c.submit_job(open("job.yaml").read())
        job = c.wait_job(job.id, on_update=lambda u: print(u.job.progress.step))
        report = c.compute_report(job.run_id)
        frames = report.to_pandas()         # frames.layers, frames.pathways (DataFrames)
        counts = c.get_counts(job.run_id, layer=0).dense()   # numpy [P, V]

    model = monoroute_client.load_model(job.checkpoint_dir)  # torch.nn.Module (needs torch)

The gRPC stubs are generated from the repository's proto/ when the package is built and ship
inside it (``monoroute_client._gen``). torch is imported only by ``load_model``.
"""

from typing import TYPE_CHECKING, Any

from monoroute_client._pb import pb
from monoroute_client.analysis import (AblateResponse, CompareRunsResponse, Freshness,
                                       LayerResponse, LayerSummary, PathwayResponse,
                                       PathwaySummary, Report)
from monoroute_client.client import Client
from monoroute_client.errors import ServiceError
from monoroute_client.explorer import PathwayPage
from monoroute_client.recorder import (BatchAck, Counts, Events, RunSpec, RunSummary, Totals,
                                       event_batch)
from monoroute_client.report_frames import ReportFrames, report_frames
from monoroute_client.tokenizer import Tokenizer
from monoroute_client.trainer import (TERMINAL_STATES, EvalResult, EventStats, Job, JobUpdate,
                                      LayerBalance, Progress)

if TYPE_CHECKING:  # torch is imported by load_model only
    from monoroute_client.lm import MonorouteModel

__version__ = "0.1.0"


def load_model(checkpoint_dir: str, **kwargs: Any) -> "MonorouteModel":
    """Loads a monoroute / HF GPT-Neo checkpoint (dense or routed) as a ``MonorouteModel``
    (``torch.nn.Module`` with ``generate``, ``run_with_cache``, ``steer``, ...).

    See ``monoroute_client.model.load_model`` (imports torch on first use).
    """
    from monoroute_client.model import load_model as _load
    return _load(checkpoint_dir, **kwargs)


__all__ = [
    "AblateResponse", "BatchAck", "Client", "CompareRunsResponse", "Counts", "EvalResult",
    "EventStats", "Events", "Freshness", "Job", "JobUpdate", "LayerBalance", "LayerResponse",
    "LayerSummary", "PathwayPage", "PathwayResponse", "PathwaySummary", "Progress", "Report",
    "ReportFrames",
    "RunSpec", "RunSummary", "ServiceError", "TERMINAL_STATES", "Tokenizer", "Totals",
    "event_batch",
    "load_model", "pb", "report_frames",
]
