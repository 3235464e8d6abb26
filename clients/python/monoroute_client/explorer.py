"""Pathway explorer data in Python: ``client.pathway(run, layer, p)`` and ``client.contexts(...)``.

Both read the explorer's JSON API (``/api/runs/RUN/layers/L/pathways/P``, docs/explorer.md) that
``monoroute-analysis --http-listen ADDR`` serves beside its gRPC port: the same numbers the
pathway page shows, computed by the service from the recorder's raw events. There is no gRPC
method for them; the HTTP port is the explorer's. Its URL comes from ``Client(explorer=...)``,
else ``$MONOROUTE_EXPLORER_URL``, else ``http://127.0.0.1:7122``; the bearer token is the analysis
service's (``analysis_token=`` / ``$MONOROUTE_ANALYSIS_TOKEN[_FILE]``, the explorer's policy);
``tls_ca`` verifies an https URL. A failed request raises ``ServiceError`` (service "explorer",
the HTTP status mapped to the gRPC code the service used, e.g. 404 -> NOT_FOUND; a refused
connection -> UNAVAILABLE).
"""

import json
import os
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, List, Optional

if TYPE_CHECKING:  # pandas is optional at run time
    import pandas

from monoroute_client.errors import ServiceError

#: Where the explorer is when neither ``explorer=`` nor ``$MONOROUTE_EXPLORER_URL`` says.
DEFAULT_EXPLORER_URL = "http://127.0.0.1:7122"

# HTTP status of the explorer -> the gRPC status code name it came from (explorer_site.cc).
_HTTP_TO_GRPC = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                 404: "NOT_FOUND", 409: "FAILED_PRECONDITION", 413: "RESOURCE_EXHAUSTED",
                 501: "UNIMPLEMENTED", 503: "UNAVAILABLE"}


def _grpc_code(name: str) -> Any:
    try:
        import grpc
        return getattr(grpc.StatusCode, name)
    except (ImportError, AttributeError):
        return name


def _pandas() -> Any:
    import pandas  # imported on use: the rest of the client works without it
    return pandas


def context_rows(contexts: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """One flat row per context of the API: the routed token, its gate, rank, co-selected
    pathways and next token, and the decoded text around it (``left``, ``token``, ``right``,
    ``text`` = all three joined), plus the raw token lists."""
    rows = []
    for c in contexts:
        toks = c.get("tokens", [])
        i = int(c.get("routed_index", 0))
        rows.append({
            "sequence_id": c.get("sequence_id"), "position": c.get("position"),
            "gate": c.get("gate"), "rank": c.get("rank"),
            "token": toks[i] if i < len(toks) else "",
            "token_id": c.get("token_ids", [None] * (i + 1))[i] if toks else None,
            "next_token": c.get("next_token"), "next_token_id": c.get("next_token_id"),
            "co_selected": list(c.get("co_selected", [])),
            "left": "".join(toks[:i]), "right": "".join(toks[i + 1:]),
            "text": "".join(toks),
            "tokens": list(toks), "token_ids": list(c.get("token_ids", [])),
            "token_gates": list(c.get("token_gates", [])), "routed_index": i,
        })
    return rows


def _rows_property(key: str, doc: str) -> property:
    """A read-only property of a ``PathwayPage``: the list ``data[key]`` (none: empty) as a
    DataFrame, one row per entry."""
    return property(lambda page: page._frame(page.data.get(key, [])), doc=doc)


@dataclass
class PathwayPage:
    """The pathway page's data (``data``: the API document, fields in docs/explorer.md) with
    DataFrame views. ``contexts``: the top contexts (decoded text, see ``context_rows``)."""

    data: Dict[str, Any] = field(repr=False)

    def __getattr__(self, name: str) -> Any:
        # Header fields (load, load_vs_uniform, density, mean_gate, num_pathways, top_k, ...).
        data = self.__dict__.get("data", {})
        if name in data and not isinstance(data[name], (list, dict)):
            return data[name]
        raise AttributeError(name)

    def _frame(self, rows: List[Dict[str, Any]]) -> "pandas.DataFrame":
        return _pandas().DataFrame(rows)

    @property
    def contexts(self) -> "pandas.DataFrame":
        """Top contexts by gate, one row each, with the decoded text."""
        return self._frame(context_rows(self.data.get("top_contexts", [])))

    @property
    def quantile_contexts(self) -> "pandas.DataFrame":
        """The examples of every gate-quantile group (columns quantile_low/high, gate_low/high,
        group_events, then those of ``contexts``)."""
        rows = []
        for g in self.data.get("quantile_groups", []):
            for r in context_rows(g.get("examples", [])):
                rows.append({"quantile_low": g.get("quantile_low"),
                             "quantile_high": g.get("quantile_high"),
                             "gate_low": g.get("gate_low"), "gate_high": g.get("gate_high"),
                             "group_events": g.get("events"), **r})
        return self._frame(rows)

    # The API's row lists, one DataFrame row per entry (columns as in docs/explorer.md).
    tokens_by_lift = _rows_property(
        "tokens_by_lift", "Routed tokens by lift: token_id, token, count_in_pathway, "
        "count_in_layer, share_in_pathway, share_in_layer, lift.")
    next_tokens_by_lift = _rows_property(
        "next_tokens_by_lift", "The tokens after the routed ones by lift (columns as "
        "tokens_by_lift).")
    same_layer_partners = _rows_property(
        "same_layer_partners", "Pathways of the same layer selected together with this one: "
        "layer, pathway, together, expected, lift.")
    next_layer_partners = _rows_property(
        "next_layer_partners", "Pathways of the next layer its tokens select (columns as "
        "same_layer_partners).")

    @property
    def gate_histogram(self) -> "pandas.DataFrame":
        """One row per bin: bin_low, bin_high, count."""
        h = self.data.get("gate_histogram", {})
        counts = h.get("counts", [])
        lo, hi, n = h.get("low", 0.0), h.get("high", 1.0), max(1, len(counts))
        return self._frame([{"bin_low": lo + (hi - lo) * b / n,
                             "bin_high": lo + (hi - lo) * (b + 1) / n, "count": c}
                            for b, c in enumerate(counts)])

    load_over_training = _rows_property(
        "load_over_training",
        "One row per step bucket: step_low, step_high, events, selecting, load_vs_uniform.")

    @property
    def logits(self) -> "pandas.DataFrame":
        """The logit tables (empty when not computed; ``data["logits"]["note"]`` says why): one
        row per token with ``direction`` "raised" or "lowered", token_id, token, value."""
        lg = self.data.get("logits") or {}
        rows = [{"direction": d, **e} for d in ("raised", "lowered") for e in lg.get(d, [])]
        return self._frame(rows)

    @property
    def ablation_categories(self) -> "pandas.DataFrame":
        """The stored ablation's per-category table (``monoroute ablate --lexicon``; empty
        without one): one row per category of the current token with status, tokens,
        control_tokens, target_increase, control_increase, difference, ci_low, ci_high (null:
        the load-matched controls; chance level 0; docs/analysis.md, Per-category ablation)."""
        rows = []
        for c in (self.data.get("ablation") or {}).get("categories", []):
            d = c.get("difference") or {}
            ci = d.get("ci") or [None, None]
            rows.append({k: c.get(k) for k in ("category", "status", "tokens", "control_tokens",
                                               "target_increase", "control_increase")}
                        | {"difference": d.get("estimate"), "ci_low": ci[0], "ci_high": ci[1],
                           "chance_level": c.get("chance_level")})
        return self._frame(rows)


class ExplorerMethods:
    """``pathway`` / ``contexts`` of Client (mixed in; uses the transport's analysis token)."""

    _transport: Any
    _explorer: Optional[str] = None

    @property
    def explorer_url(self) -> str:
        """The explorer's base URL (``Client(explorer=)``, ``$MONOROUTE_EXPLORER_URL``, default)."""
        url = (self._explorer or os.environ.get("MONOROUTE_EXPLORER_URL")
               or DEFAULT_EXPLORER_URL)
        return url if "://" in url else "http://" + url

    @explorer_url.setter
    def explorer_url(self, url: Optional[str]) -> None:
        self._explorer = url

    def explorer_get(self, path: str, **query: Any) -> Dict[str, Any]:
        """GET ``/api/<path>`` of the explorer (None query values left out) as parsed JSON."""
        q = {k: str(v) for k, v in query.items() if v is not None}
        url = (self.explorer_url.rstrip("/") + "/api/" + path.lstrip("/")
               + ("?" + urllib.parse.urlencode(q) if q else ""))
        req = urllib.request.Request(url, headers={"Accept": "application/json"})
        token = getattr(self._transport, "analysis_token", None)
        if token:
            req.add_header("Authorization", "Bearer " + token.strip())
        ctx = None
        ca = getattr(self._transport, "tls_ca", None)
        if url.startswith("https://"):
            ctx = ssl.create_default_context(cafile=ca) if ca else ssl.create_default_context()
        timeout = getattr(self._transport, "timeout", 60.0)
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=ctx) as resp:
                return json.loads(resp.read().decode("utf-8"))
        except urllib.error.HTTPError as e:
            body = e.read().decode("utf-8", errors="replace")
            try:
                message = json.loads(body)["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = body[:500] or e.reason
            raise ServiceError("explorer", "GET /api/" + path.lstrip("/"),
                               _grpc_code(_HTTP_TO_GRPC.get(e.code, "UNKNOWN")),
                               f"HTTP {e.code}: {message}") from None
        except (urllib.error.URLError, OSError) as e:
            raise ServiceError("explorer", "GET /api/" + path.lstrip("/"),
                               _grpc_code("UNAVAILABLE"),
                               f"{self.explorer_url}: {getattr(e, 'reason', e)}") from None

    def pathway(self, run: str, layer: int, pathway: int, split: Optional[str] = None,
                checkpoint: Optional[str] = None,
                top_contexts: Optional[int] = None) -> PathwayPage:
        """The pathway page of ``run``'s ``layer`` / ``pathway`` (``split``: default the
        run's valid split; ``checkpoint``: the routed checkpoint for the logit tables, under the
        service's --allowed-root; ``top_contexts``: how many top contexts, default 20)."""
        path = "runs/{}/layers/{}/pathways/{}".format(urllib.parse.quote(run, safe=""),
                                                      int(layer), int(pathway))
        return PathwayPage(self.explorer_get(path, split=split, checkpoint=checkpoint,
                                             top_contexts=top_contexts))

    def contexts(self, run: str, layer: int, pathway: int, n: int = 20,
                 split: Optional[str] = None) -> "pandas.DataFrame":
        """The ``n`` tokens with the highest gate on the pathway, with their decoded contexts
        (a DataFrame, see ``context_rows``; fewer rows when fewer tokens select it)."""
        if n < 1:
            raise ValueError(f"n: {n}, must be at least 1")
        return self.pathway(run, layer, pathway, split=split, top_contexts=n).contexts
