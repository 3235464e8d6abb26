"""Report.to_pandas(): generic flattening of the report JSON (no services needed)."""

import json
import math

import pytest

pd = pytest.importorskip("pandas", reason="needs python3-pandas")

from monoroute_client import pb  # noqa: E402
from monoroute_client._convert import from_proto  # noqa: E402
from monoroute_client.report_frames import flatten, report_frames  # noqa: E402

REPORT = {
    "schema_version": 2,
    "run": {"run_id": "r"},
    "layers": [
        {"layer": 0, "events": 10, "load": [6, 4], "mi_excess_ci": [0.1, 0.3],
         "null": {"method": "routing", "replicates": 16}, "brand_new_field": "x",
         "controls": [{"control": "fresh_routers", "mi_excess_delta": 0.2,
                       "mi_excess_delta_ci": [0.1, None]}],
         "pathways": [
             {"pathway": 0, "load": 6, "purity": 0.5, "kl_excess_ci": [0.01, 0.02],
              "top_tokens": [{"token_id": 5, "token": "a", "count": 3},
                             {"token_id": 7, "token": "b", "count": 2}]},
             {"pathway": 1, "load": 4, "purity": None, "kl_excess_ci": None,
              "top_tokens": []}]},
        {"layer": 2, "events": 10, "load": [5, 5], "mi_excess_ci": [0.0, 0.1],
         "category_ami_ci": None,
         "pathways": [{"pathway": 0, "load": 5, "purity": 0.25}]},
    ],
    "over_training": [{"min_step": 0, "max_step": 9,
                       "layers": [{"layer": 0, "events": 4}, {"layer": 2, "events": 4}]}],
}


def test_layers_and_pathways_frames():
    f = report_frames(REPORT)
    assert list(f.layers["layer"]) == [0, 2]
    assert list(f.layers["mi_excess_ci_low"]) == [0.1, 0.0]
    assert list(f.layers["mi_excess_ci_high"]) == [0.3, 0.1]
    assert f.layers.loc[0, "null_method"] == "routing"
    assert f.layers.loc[0, "null_replicates"] == 16
    assert f.layers.loc[0, "brand_new_field"] == "x"  # unknown fields come along
    assert f.layers.loc[0, "load"] == [6, 4]  # per-pathway arrays stay lists
    assert "pathways" not in f.layers.columns
    assert list(zip(f.pathways["layer"], f.pathways["pathway"])) == [(0, 0), (0, 1), (2, 0)]
    assert math.isnan(f.pathways.loc[1, "purity"])  # JSON null -> NaN
    assert f.pathways.loc[0, "kl_excess_ci_low"] == 0.01
    assert math.isnan(f.pathways.loc[1, "kl_excess_ci_high"])  # null interval: NaN bounds
    assert "kl_excess_ci" not in f.pathways.columns
    assert list(f.pathways.columns[:2]) == ["layer", "pathway"]
    assert math.isnan(f.layers.loc[1, "category_ami_ci_low"])  # a *_ci that is always null
    assert "category_ami_ci" not in f.layers.columns
    assert list(f.over_training["layer"]) == [0, 2]
    assert list(f.over_training["min_step"]) == [0, 0]


def test_nested_lists_of_objects_become_long_tables():
    f = report_frames(REPORT)
    top = f.tables["pathways.top_tokens"]
    assert list(top["token"]) == ["a", "b"]
    assert list(top["pathway"]) == [0, 0] and list(top["index"]) == [0, 1]
    ctl = f.tables["layers.controls"]
    assert ctl.loc[0, "control"] == "fresh_routers"
    assert ctl.loc[0, "mi_excess_delta_ci_low"] == 0.1


def test_flatten_rules():
    lists = {}
    row = flatten({"a": 1, "b": {"c": 2, "d": {"e": 3}}, "ci": [1, 2], "load": [1, 2],
                   "v": [1, 2, 3], "objs": [{"x": 1}]}, lists=lists)
    assert row == {"a": 1, "b_c": 2, "b_d_e": 3, "ci_low": 1, "ci_high": 2, "load": [1, 2],
                   "v": [1, 2, 3]}
    assert lists == {"objs": [{"x": 1}]}


def test_report_wrapper_uses_the_json():
    resp = pb.analysis_pb2.ReportResponse(json=json.dumps(REPORT), png=b"\x89PNG")
    report = from_proto(resp)
    assert report.data["schema_version"] == 2
    assert list(report.to_pandas().layers["layer"]) == [0, 2]
    assert report.raw is resp


def test_empty_report():
    f = report_frames({})
    assert f.layers.empty and f.pathways.empty and f.over_training.empty and f.tables == {}


def test_schema_3_effects_flatten():
    report = {"schema_version": 3, "layers": [{
        "layer": 1, "mi": {"observed": 0.3, "null_mean": 0.1, "excess": 0.2, "ci": [0.15, 0.25]},
        "category_ami": {"observed": None, "null_mean": None, "excess": None, "ci": [None, None]},
        "sources": [{"source": "previous_token",
                     "mi": {"observed": 0.5, "null_mean": 0.1, "excess": 0.4, "ci": [0.3, 0.5]}}],
        "pathways": [{"pathway": 0, "kl": {"observed": 1.0, "null_mean": 0.2, "excess": 0.8,
                                           "ci": [0.7, 0.9]}}]}]}
    f = report_frames(report)
    assert f.layers.loc[0, "mi_excess"] == 0.2
    assert f.layers.loc[0, "mi_ci_low"] == 0.15 and f.layers.loc[0, "mi_ci_high"] == 0.25
    assert pd.isna(f.layers.loc[0, "category_ami_ci_low"])
    assert f.pathways.loc[0, "kl_excess"] == 0.8
    src = f.tables["layers.sources"]
    assert src.loc[0, "source"] == "previous_token" and src.loc[0, "mi_excess"] == 0.4
