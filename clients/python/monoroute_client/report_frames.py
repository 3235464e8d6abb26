"""Flattens an analysis report (``llm_routing_results.json``) into pandas DataFrames.

Generic over the JSON's fields, so it keeps working when the report gains fields:
- ``layers``: one row per ``layers[]`` object; ``pathways``: one row per
  ``layers[].pathways[]`` object, with the layer's ``layer`` index first;
- ``over_training``: one row per ``over_training[].layers[]`` with the range's scalar fields
  (``min_step``, ``max_step``) first;
- ``tables``: every other list of objects found inside a layer or pathway row, as a long frame
  named by its path (e.g. ``"pathways.top_tokens"``, ``"pathways.categories"``) with the owning
  row's ``layer`` / ``pathway`` and an ``index`` column.
Flattening of one object: scalars stay; nested objects become ``<name>_<key>`` columns
(recursively); a 2-element numeric array is an interval -> ``<name>_low`` / ``<name>_high``;
other arrays of scalars stay as one cell holding a list (e.g. a layer's per-pathway ``load``).
JSON null becomes NaN in numeric columns (an interval that is null where it was not computed,
or any null ``*_ci`` / ``*_interval``, still gets ``_low`` / ``_high`` columns); ``layer`` /
``pathway`` columns come first.
Stateless; thread-safe.
"""

import dataclasses
import numbers
from typing import TYPE_CHECKING, Any, Dict, List, Optional

if TYPE_CHECKING:  # pandas is imported when a frame is built
    import pandas

#: Scalar arrays never split into _low/_high even with 2 entries (per-pathway arrays).
KEEP_AS_LIST = frozenset({"load"})


def _is_number(v: Any) -> bool:
    return v is None or (isinstance(v, numbers.Number) and not isinstance(v, bool))


def flatten(obj: Dict[str, Any], skip: frozenset = frozenset(), prefix: str = "",
            lists: Optional[Dict[str, List[Any]]] = None) -> Dict[str, Any]:
    """One flat row from a JSON object (rules in the module docstring).

    Lists of objects are not flattened into the row; when ``lists`` is given they are collected
    there under their (prefixed) name.
    """
    row: Dict[str, Any] = {}
    for key, value in obj.items():
        if key in skip and not prefix:
            continue
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            row.update(flatten(value, prefix=f"{name}_", lists=lists))
        elif isinstance(value, list):
            if value and all(isinstance(v, dict) for v in value):
                if lists is not None:
                    lists[name] = value
            elif (len(value) == 2 and all(_is_number(v) for v in value)
                  and key not in KEEP_AS_LIST):
                row[f"{name}_low"], row[f"{name}_high"] = value
            else:
                row[name] = list(value)
        else:
            row[name] = value
    return row


@dataclasses.dataclass
class ReportFrames:
    """The DataFrames of one report (see the module docstring)."""
    layers: "pandas.DataFrame"          # one row per routed layer
    pathways: "pandas.DataFrame"        # one row per (layer, pathway)
    over_training: "pandas.DataFrame"   # one row per (step range, layer); may be empty
    tables: Dict[str, "pandas.DataFrame"]  # long frames of nested lists of objects, by path


#: Names treated as intervals even when null in every row (confidence intervals).
INTERVAL_SUFFIXES = ("_ci", "_interval")

#: Columns put first when present (the row's identity).
KEY_COLUMNS = ("min_step", "max_step", "layer", "pathway", "index")


def _frame(rows: List[Dict[str, Any]]) -> "pandas.DataFrame":
    """A DataFrame of flat rows; an interval that is null in some rows (not computed) still
    gets ``_low`` / ``_high`` columns (NaN) there; KEY_COLUMNS first."""
    import pandas as pd
    if not rows:
        return pd.DataFrame()
    intervals = {k[:-4] for row in rows for k in row
                 if k.endswith("_low") and f"{k[:-4]}_high" in row}
    intervals |= {k for row in rows for k in row if k.endswith(INTERVAL_SUFFIXES)}
    for row in rows:
        for name in intervals & set(row):
            if row[name] is None:
                del row[name]
                row[f"{name}_low"] = row[f"{name}_high"] = None
    frame = pd.DataFrame.from_records(rows)
    first = [c for c in KEY_COLUMNS if c in frame.columns]
    return frame[first + [c for c in frame.columns if c not in first]]


def rows_frame(objects: List[Dict[str, Any]]) -> "pandas.DataFrame":
    """A DataFrame with one flattened row per object (lists of objects kept as cells)."""
    rows = []
    for obj in objects:
        lists: Dict[str, List[Any]] = {}
        row = flatten(obj, lists=lists)
        row.update(lists)
        rows.append(row)
    return _frame(rows)


def report_frames(report: Dict[str, Any]) -> ReportFrames:
    """Builds the ReportFrames of a parsed report JSON object."""
    layer_rows, pathway_rows, over_rows = [], [], []
    tables: Dict[str, List[Dict[str, Any]]] = {}

    def add_tables(kind: str, owner: Dict[str, Any], lists: Dict[str, List[Any]]) -> None:
        for name, items in lists.items():
            rows = tables.setdefault(f"{kind}.{name}", [])
            for i, item in enumerate(items):
                rows.append({**owner, "index": i, **flatten(item)})

    for layer in report.get("layers") or []:
        lists: Dict[str, List[Any]] = {}
        row = flatten(layer, skip=frozenset({"pathways"}), lists=lists)
        layer_rows.append(row)
        owner = {"layer": layer.get("layer")}
        add_tables("layers", owner, lists)
        for p in layer.get("pathways") or []:
            plists: Dict[str, List[Any]] = {}
            prow = {**owner, **flatten(p, skip=frozenset({"layer"}), lists=plists)}
            pathway_rows.append(prow)
            add_tables("pathways", {**owner, "pathway": p.get("pathway")}, plists)
    for rng in report.get("over_training") or []:
        head = {k: v for k, v in rng.items() if not isinstance(v, (list, dict))}
        for layer in rng.get("layers") or []:
            over_rows.append({**head, **flatten(layer, skip=frozenset({"pathways"}))})
    return ReportFrames(layers=_frame(layer_rows), pathways=_frame(pathway_rows),
                        over_training=_frame(over_rows),
                        tables={k: _frame(v) for k, v in tables.items()})
