"""Analysis API: typed reports (``Report.to_pandas()``) and the ``AnalysisMethods`` of Client.

Wraps every RPC of ``monoroute.analysis.v1.Analysis``: ComputeReport, GetLayer, GetPathway,
CompareRuns, Ablate. Every method takes the selection (``split``, ``min_step``, ``max_step``) and
the analysis knobs as keyword arguments named like ``AnalysisOptions``' fields (e.g.
``top_tokens``, ``seed``, ``skip_png``; see ``OPTION_NAMES``; unset = the server's default).
Results are the typed dataclasses generated from analysis.proto (``.raw`` holds the proto);
Report, LayerResponse and CompareRunsResponse add ``to_pandas()``.
"""

import base64
import html
import json as jsonlib
import math
import os
from functools import cached_property
from typing import TYPE_CHECKING, Any, Dict, List, Optional

if TYPE_CHECKING:  # pandas is optional at run time
    import pandas

from monoroute_client._convert import from_proto, register, to_dict
from monoroute_client._pb import pb
from monoroute_client.report_frames import ReportFrames, report_frames, rows_frame

_a = pb.analysis_types

#: Names accepted as analysis knobs (the fields of analysis.v1.AnalysisOptions).
OPTION_NAMES = tuple(f.name for f in pb.analysis_pb2.AnalysisOptions.DESCRIPTOR.fields)

#: Per-layer / per-pathway statistics (fields: analysis.proto, defined in docs/analysis.md).
LayerSummary = _a.LayerSummary
PathwaySummary = _a.PathwaySummary
#: How fresh a result is relative to the recorder.
Freshness = _a.Freshness
#: GetPathway's result: ``pathway`` (a PathwaySummary) and ``freshness``.
PathwayResponse = _a.PathwayResponse
#: Ablate's result (controlled causal ablation; fields: analysis.proto's AblateResponse).
AblateResponse = _a.AblateResponse


def _parse_json(text: str) -> Dict[str, Any]:
    # The service writes undefined numbers as null; be lenient with a bare NaN anyway.
    return jsonlib.loads(text, parse_constant=lambda c: math.nan) if text else {}


@register
class Report(_a.ReportResponse):
    """ComputeReport's result: ``json`` (text of llm_routing_results.json; parsed: ``data``),
    ``png`` (b"" with skip_png), ``freshness``, ``layers`` (LayerSummary), ``compute_seconds``,
    ``router_saturation`` (SaturationPoint per recorded checkpoint; empty without them)."""

    @cached_property
    def data(self) -> Dict[str, Any]:
        """The parsed report JSON (fields: docs/analysis.md)."""
        return _parse_json(self.json)

    def to_pandas(self) -> ReportFrames:
        """Per-layer and per-pathway DataFrames (plus over-training and nested tables) of the
        report JSON; generic over its fields (see ``report_frames``)."""
        return report_frames(self.data)

    def _repr_html_(self) -> str:
        """Jupyter: one row per routed layer (the LayerSummary headline fields) and the PNG."""
        return report_html(self)

    def save(self, out_dir: str) -> List[str]:
        """Writes llm_routing_results.json (and llm_monosemanticity.png when present) into
        ``out_dir`` (created); returns the paths written."""
        os.makedirs(out_dir, exist_ok=True)
        paths = [os.path.join(out_dir, "llm_routing_results.json")]
        with open(paths[0], "w", encoding="utf-8") as f:
            f.write(self.json)
        if self.png:
            paths.append(os.path.join(out_dir, "llm_monosemanticity.png"))
            with open(paths[1], "wb") as f:
                f.write(self.png)
        return paths


@register
class LayerResponse(_a.LayerResponse):
    """GetLayer's result: ``summary`` (LayerSummary), ``pathways`` (PathwaySummary),
    ``freshness``."""

    def to_pandas(self) -> "pandas.DataFrame":
        """One row per pathway (nested objects flattened, e.g. intervals -> ``_low``/``_high``;
        lists of objects such as top_tokens kept as cells)."""
        return rows_frame(to_dict(self.pathways))


@register
class CompareRunsResponse(_a.CompareRunsResponse):
    """CompareRuns' result: ``layers`` (LayerComparison: run, baseline, comparison), ``json``,
    ``run_freshness``, ``baseline_freshness``."""

    @cached_property
    def data(self) -> Dict[str, Any]:
        """The parsed comparison JSON ({} when empty)."""
        return _parse_json(self.json)

    def to_pandas(self) -> "pandas.DataFrame":
        """One row per layer: ``run_*``, ``baseline_*`` and ``comparison_*`` columns."""
        return rows_frame(to_dict(self.layers))


def _cell(v: Any) -> str:
    if isinstance(v, float):
        return "-" if math.isnan(v) else f"{v:.4g}"
    return html.escape(str(v))


def report_html(report: "Report") -> str:
    """HTML of a report (``Report._repr_html_``): the per-layer summaries as a table (scalar
    fields only) and the service's PNG when present."""
    rows = [to_dict(layer) for layer in report.layers]
    cols = [k for k in (rows[0] if rows else {}) if all(
        not isinstance(r.get(k), (list, dict)) for r in rows)]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{_cell(r.get(c))}</td>" for c in cols) + "</tr>"
                   for r in rows)
    run = report.data.get("run_id", "") if isinstance(report.data, dict) else ""
    out = (f"<div><b>monoroute report</b> {html.escape(str(run))}: {len(rows)} routed layers"
           f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    if report.png:
        out += ("<img style='max-width:100%' src='data:image/png;base64,"
                f"{base64.b64encode(report.png).decode()}'/>")
    return out + "</div>"


def _options(knobs: Dict[str, Any]) -> Any:
    unknown = sorted(set(knobs) - set(OPTION_NAMES))
    if unknown:
        raise TypeError(f"unknown analysis option(s) {unknown}; known: {list(OPTION_NAMES)}")
    return pb.analysis_pb2.AnalysisOptions(**{k: v for k, v in knobs.items() if v is not None})


def _selection(split: str, min_step: int, max_step: int) -> Any:
    return pb.analysis_pb2.Selection(split=split, min_step=min_step, max_step=max_step)


class AnalysisMethods:
    """Analysis RPCs of ``Client`` (needs ``self._transport``)."""

    _transport: Any

    def compute_report(self, run_id: str, *, split: str = "", min_step: int = 0,
                       max_step: int = 0, baseline_run_id: str = "",
                       timeout: Optional[float] = None, **options: Any) -> Report:
        """The full report of ``run_id`` (JSON + PNG + per-layer summaries).

        Raises ServiceError: NOT_FOUND (unknown run), FAILED_PRECONDITION (no events in the
        selection), INVALID_ARGUMENT (bad option), UNAVAILABLE (recorder down).
        """
        req = pb.analysis_pb2.ReportRequest(run_id=run_id, baseline_run_id=baseline_run_id,
                                            selection=_selection(split, min_step, max_step),
                                            options=_options(options))
        return from_proto(self._transport.call("analysis", "ComputeReport", req, timeout=timeout))

    def get_report(self, run_id: str, out_dir: Optional[str] = None, *, split: str = "",
                   baseline_run_id: str = "", skip_png: bool = False,
                   timeout: Optional[float] = None, **options: Any) -> Report:
        """``compute_report`` and, with ``out_dir``, ``Report.save(out_dir)``."""
        report = self.compute_report(run_id, split=split, baseline_run_id=baseline_run_id,
                                     skip_png=skip_png, timeout=timeout, **options)
        if out_dir:
            report.save(out_dir)
        return report

    def get_layer(self, run_id: str, layer: int, *, split: str = "", min_step: int = 0,
                  max_step: int = 0, timeout: Optional[float] = None,
                  **options: Any) -> LayerResponse:
        """One routed layer's summary and pathways (OUT_OF_RANGE when the layer is not routed)."""
        req = pb.analysis_pb2.LayerRequest(run_id=run_id, layer=layer,
                                           selection=_selection(split, min_step, max_step),
                                           options=_options(options))
        return from_proto(self._transport.call("analysis", "GetLayer", req, timeout=timeout))

    def get_pathway(self, run_id: str, layer: int, pathway: int, *, split: str = "",
                    min_step: int = 0, max_step: int = 0, timeout: Optional[float] = None,
                    **options: Any) -> PathwayResponse:
        """One pathway's statistics: a PathwayResponse (``pathway``, ``freshness``);
        OUT_OF_RANGE when pathway >= P or the layer is not routed."""
        req = pb.analysis_pb2.PathwayRequest(run_id=run_id, layer=layer, pathway=pathway,
                                             selection=_selection(split, min_step, max_step),
                                             options=_options(options))
        return from_proto(self._transport.call("analysis", "GetPathway", req, timeout=timeout))

    def compare_runs(self, run_id: str, baseline_run_id: str, *, split: str = "",
                     min_step: int = 0, max_step: int = 0, timeout: Optional[float] = None,
                     **options: Any) -> CompareRunsResponse:
        """Compares ``run_id`` with ``baseline_run_id`` on the layers routed in both."""
        req = pb.analysis_pb2.CompareRunsRequest(
            run_id=run_id, baseline_run_id=baseline_run_id,
            selection=_selection(split, min_step, max_step), options=_options(options))
        return from_proto(self._transport.call("analysis", "CompareRuns", req, timeout=timeout))

    def ablate(self, checkpoint: str, text_file: str, layer: int, pathway: int,
               timeout: Optional[float] = None, **fields: Any) -> AblateResponse:
        """Disables one pathway of a checkpoint (paths as the analysis server sees them) and
        measures the loss increase on ``text_file``: an AblateResponse. ``fields``: the other
        AblateRequest fields (e.g. ``max_tokens``, ``seed``). UNIMPLEMENTED without the engine."""
        req = pb.analysis_pb2.AblateRequest(checkpoint=checkpoint, text_file=text_file,
                                            layer=layer, pathway=pathway, **fields)
        return from_proto(self._transport.call("analysis", "Ablate", req, timeout=timeout))
