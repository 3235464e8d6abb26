"""Notebook-grade client: specs as path / dict / text, enum names in any case, typed returns and
py.typed, the tqdm bar of ``watch``, ``_repr_html_`` of jobs and reports."""

import json
import os
import pathlib
import typing

import pytest

import monoroute_client
from monoroute_client import Client, pb
from monoroute_client._convert import enum_value, from_proto
from monoroute_client.trainer import spec_text

from conftest import PKG_ROOT, tiny_job, write_stories


def test_enum_arguments_by_name_in_any_case():
    js = pb.trainer_pb2.JobState
    for name in ("succeeded", "Succeeded", "SUCCEEDED", " succeeded "):
        assert enum_value(js, name, "state") == js.Value("SUCCEEDED")
    assert enum_value(js, "succeeded_with_warnings", "state") == 6
    assert enum_value(js, "succeeded-with-warnings", "state") == 6
    assert enum_value(js, "unspecified", "state") == 0  # the zero value without its prefix
    assert enum_value(js, 4, "state") == 4
    assert enum_value(js, None, "state") == 0
    with pytest.raises(ValueError, match=r"state: 'done' is not a JobState .*succeeded"):
        enum_value(js, "done", "state")
    with pytest.raises(ValueError, match="state: 99"):
        enum_value(js, 99, "state")


def test_list_jobs_takes_lower_case_state_without_a_server():
    # The request is built before the call: a bad name fails fast, a good one reaches the wire.
    with Client(trainer="127.0.0.1:1", timeout=2) as c:
        with pytest.raises(ValueError, match="one of"):
            c.list_jobs(state="finished")
        with pytest.raises(monoroute_client.ServiceError) as e:
            c.list_jobs(state="succeeded")
        assert e.value.code_name == "UNAVAILABLE"


def test_spec_text_accepts_path_dict_and_text(tmp_path):
    text = "kind: pretrain\noutput_dir: /tmp/x\n"
    path = tmp_path / "job.yaml"
    path.write_text(text)
    assert spec_text(str(path)) == text
    assert spec_text(path) == text
    assert spec_text(text) == text
    as_dict = spec_text({"kind": "pretrain", "optim": {"max_steps": 3}})
    assert json.loads(as_dict) == {"kind": "pretrain", "optim": {"max_steps": 3}}
    with pytest.raises(FileNotFoundError):
        spec_text(str(tmp_path / "missing.yaml"))
    with pytest.raises(TypeError):
        spec_text(42)


def test_typed_returns_and_py_typed():
    assert os.path.isfile(os.path.join(PKG_ROOT, "monoroute_client", "py.typed"))
    import monoroute_client.analysis as an
    import monoroute_client.recorder as rec
    hints = {
        "load_model": typing.get_type_hints(monoroute_client.load_model,
                                            localns={"MonorouteModel": object})["return"],
        "get_pathway": typing.get_type_hints(an.AnalysisMethods.get_pathway)["return"],
        "ablate": typing.get_type_hints(an.AnalysisMethods.ablate)["return"],
        "submit_job": typing.get_type_hints(Client.submit_job)["return"],
    }
    for name, hint in hints.items():
        assert hint is not typing.Any, name
    pandas = pytest.importorskip("pandas")
    for fn in (an.LayerResponse.to_pandas, an.CompareRunsResponse.to_pandas,
               rec.Counts.to_pandas, rec.Events.to_pandas):
        assert typing.get_type_hints(fn, localns={"pandas": pandas})["return"] is \
            pandas.DataFrame, fn
    assert typing.get_type_hints(an.Report.to_pandas)["return"] is monoroute_client.ReportFrames


def fake_job(**fields):
    job = pb.trainer_pb2.Job(id="job-000001", name="demo", state=3, kind="pretrain",
                             checkpoint_dir="/d/ck<1>", final_val_loss=2.5, **fields)
    job.progress.step, job.progress.total_steps, job.progress.total_loss = 8, 8, 3.25
    return from_proto(job)


def test_job_and_report_render_as_html():
    html = fake_job()._repr_html_()
    assert "<table>" in html and "job-000001" in html and "SUCCEEDED" in html
    assert "8 / 8" in html and "3.2500" in html and "&lt;1&gt;" in html  # escaped
    rep = pb.analysis_pb2.ReportResponse(json=json.dumps({"run_id": "r1"}), png=b"\x89PNG")
    layer = rep.layers.add()
    layer.layer = 2
    html = from_proto(rep)._repr_html_()
    assert "monoroute report" in html and "r1" in html and "<td>2</td>" in html
    assert "data:image/png;base64," in html


def test_submit_by_path_and_dict_then_watch_with_a_bar(trainer, tmp_path, capsys):
    pytest.importorskip("tqdm", reason="needs python3-tqdm")
    train = write_stories(tmp_path / "train.txt")
    spec = tmp_path / "job.yaml"
    spec.write_text(tiny_job(train, tmp_path / "by-path", record=False))
    with Client(trainer=trainer.addr, token=trainer.token) as c:
        job = c.submit_job(spec, name="by-path")          # a pathlib.Path
        final = c.watch(job, timeout=240)                  # a Job or its id
        assert final.state == "SUCCEEDED", final.failure_reason
        bar = capsys.readouterr().err
        assert job.id in bar and "8/8" in bar and "step" in bar
        assert [j.id for j in c.list_jobs(state="succeeded")] == [job.id]
        assert c.list_jobs(state="Running") == []
        import yaml
        as_dict = yaml.safe_load(tiny_job(train, tmp_path / "by-dict", record=False))
        job2 = c.submit_job(as_dict, overrides="optim.max_steps=4")
        final2 = c.watch(job2.id, progress=False, timeout=240)
        assert final2.succeeded and final2.progress.step == 4
        assert capsys.readouterr().err == ""
        job3 = c.submit_job(str(spec).replace("job.yaml", "job.yaml"), overrides=[
            f"output_dir={tmp_path / 'by-str'}"])
        assert c.watch(job3.id, progress=False, timeout=240).succeeded
