"""monoroute_client against real service processes (skipped when a binary is not built):
every RPC of the recorder, analysis and trainer, typed results, numpy counts and events."""

import dataclasses
import math
import os
import socket
import subprocess

import grpc
import numpy as np
import pytest

import monoroute_client
from monoroute_client import Client, ServiceError, event_batch, pb

from conftest import REPO, Service, binary, tiny_job, write_stories

LAYERS = [0, 2]
P, K, V = 16, 4, 1000


def test_every_rpc_has_a_client_method():
    services = [pb.trainer_pb2.DESCRIPTOR.services_by_name["Trainer"],
                pb.recorder_pb2.DESCRIPTOR.services_by_name["Recorder"],
                pb.analysis_pb2.DESCRIPTOR.services_by_name["Analysis"]]
    for svc in services:
        for m in svc.methods:
            snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in m.name).lstrip("_")
            assert callable(getattr(Client, snake, None)), f"{svc.name}.{m.name} not wrapped"


def test_every_message_has_a_typed_wrapper():
    from monoroute_client._convert import wrapper_for
    for mod in (pb.trainer_pb2, pb.recorder_pb2, pb.analysis_pb2):
        for msg in mod.DESCRIPTOR.message_types_by_name.values():
            cls = wrapper_for(msg.full_name)
            names = {f.name for f in dataclasses.fields(cls) if f.name != "raw"}
            assert names == {f.name for f in msg.fields}, msg.full_name


def test_service_down_is_a_clear_error():
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with Client(recorder=f"127.0.0.1:{port}", timeout=2) as c:
        with pytest.raises(ServiceError) as e:
            c.list_runs()
    assert e.value.code == grpc.StatusCode.UNAVAILABLE
    assert e.value.code_name == "UNAVAILABLE"
    assert "recorder.ListRuns" in str(e.value)


def make_batches(run_id, seq, step, n=32, split="train"):
    """n events on every routed layer: one batch per layer (a batch is one step and one layer),
    batch ids seq * len(LAYERS) + layer index; event i: token (7 i) % V, pathways (i + j) % P."""
    i = np.arange(n)
    pathways = (i[:, None] + np.arange(K)[None, :]) % P
    return [event_batch(run_id, seq * len(LAYERS) + li, writer_id="pytest", split=split,
                        step=step, layer=layer, sequence_id=np.full(n, seq), position=i,
                        token_id=(7 * i) % V, next_token_id=(7 * i + 7) % V, pathways=pathways,
                        weights=np.full((n, K), 1.0 / K))
            for li, layer in enumerate(LAYERS)]


def expected_dense(batches, n):
    m = np.zeros((P, V), dtype=np.uint64)
    for i in range(n):
        for j in range(K):
            m[(i + j) % P, (7 * i) % V] += batches
    return m


def record_run(c, run_id="run-a", batches=3, n=32, split="train"):
    assert c.create_run(run_id, LAYERS, P, K, V, store_raw_events=True, step_bucket=1,
                        labels={"model": "pytest"}) is True
    acks = c.record(b for s in range(batches)
                    for b in make_batches(run_id, s, step=s, n=n, split=split))
    assert [a.batch_seq for a in acks] == list(range(batches * len(LAYERS)))
    return acks


def test_recorder_runs_counts_events_and_exactly_once(recorder):
    with Client(recorder=recorder.addr) as c:
        acks = record_run(c)
        assert all(isinstance(a, monoroute_client.BatchAck) and not a.duplicate for a in acks)
        assert [a.events for a in acks] == [32] * 3 * len(LAYERS)
        # Re-sending a batch is acknowledged as a duplicate and not applied again.
        assert c.record([make_batches("run-a", 1, step=1)[0]])[0].duplicate
        run = c.get_run("run-a")
        assert isinstance(run, monoroute_client.RunSummary)
        assert run.run_id == "run-a" and run.spec.labels == {"model": "pytest"}
        assert run.events == 3 * 32 * len(LAYERS) and run.batches == 3 * len(LAYERS)
        assert (run.min_step, run.max_step) == (0, 2)
        assert sorted(run.layers_seen) == LAYERS and run.splits == ["train"]
        assert run.raw.spec.run_id == "run-a"  # the proto stays reachable
        assert [r.run_id for r in c.list_runs()] == ["run-a"]
        assert c.run_summaries()[0]["events"] == run.events
        totals = c.get_totals("run-a", 0)
        assert totals.tokens == 3 * 32 and sum(totals.pathway_count) == 3 * 32 * K
        # GetCounts: sparse numpy columns and the dense P x V matrix.
        counts = c.get_counts("run-a", 0)
        assert counts.shape == (P, V)
        assert counts.pathway.dtype == np.uint32 and counts.count.dtype == np.uint64
        dense = counts.dense()
        assert dense.shape == (P, V) and dense.dtype == np.uint64
        np.testing.assert_array_equal(dense, expected_dense(3, 32))
        np.testing.assert_array_equal(counts.pathway_loads(), np.asarray(totals.pathway_count))
        assert set(counts.to_pandas().columns) == {"pathway", "token_id", "count"}
        step1 = c.get_counts("run-a", 0, min_step=1, max_step=1).dense()
        np.testing.assert_array_equal(step1, expected_dense(1, 32))
        # QueryEvents: numpy columns, [N, k] pathways / weights.
        ev = c.query_events("run-a", layer=2)
        assert len(ev) == 3 * 32
        assert ev["pathways"].shape == (96, K) and ev["weights"].dtype == np.float32
        np.testing.assert_array_equal(np.sort(ev["layer"]), np.full(96, 2))
        i = ev["position"].astype(np.int64)
        np.testing.assert_array_equal(ev["token_id"], (7 * i) % V)
        np.testing.assert_array_equal(ev["pathways"], (i[:, None] + np.arange(K)) % P)
        only = c.query_events("run-a", layer=0, pathway=5, min_step=2)
        assert len(only) > 0 and (only["pathways"] == 5).any(axis=1).all()
        assert (only["step"] == 2).all()
        frame = c.query_events("run-a", limit=10).to_pandas()
        assert len(frame) == 10
        assert {"step", "token_id", "split", "pathway_0", "weight_3"} <= set(frame.columns)
        # Identical spec: idempotent, not created again.
        assert c.create_run("run-a", LAYERS, P, K, V, store_raw_events=True, step_bucket=1,
                            labels={"model": "pytest"}) is False
        finished = c.finish_run("run-a")
        assert finished.finished and finished.run_id == "run-a"
        assert c.delete_run("run-a") == 3 * 32 * len(LAYERS)
        assert c.list_runs() == []


def test_recorder_errors_carry_status_codes(recorder):
    with Client(recorder=recorder.addr) as c:
        with pytest.raises(ServiceError) as e:
            c.get_run("no-such-run")
        assert e.value.code == grpc.StatusCode.NOT_FOUND
        with pytest.raises(ServiceError) as e:
            c.get_counts("no-such-run", 0)
        assert e.value.code == grpc.StatusCode.NOT_FOUND
        c.create_run("run-b", LAYERS, P, K, V)
        bad = make_batches("run-b", 0, step=0)[0]
        bad.token_id[0] = V + 5  # out of the declared vocabulary
        with pytest.raises(ServiceError) as e:
            c.record([bad])
        assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
        assert c.get_run("run-b").events == 0
    with pytest.raises(ValueError, match="do not form"):
        event_batch("x", 0, step=1, layer=0, token_id=[1, 2], pathways=[1, 2, 3],
                    weights=[1, 1, 1])
    with pytest.raises(ValueError, match="one value per batch"):
        event_batch("x", 0, step=[1, 2], layer=0, token_id=[1, 2], pathways=[1, 2, 3, 4],
                    weights=[1, 1, 1, 1])


def test_analysis_rpcs(recorder, analysis, tmp_path):
    with Client(recorder=recorder.addr, analysis=analysis.addr) as c:
        record_run(c, "run-r", batches=4, n=64)
        record_run(c, "run-s", batches=4, n=64)
        report = c.get_report("run-r", out_dir=str(tmp_path / "out"))
        assert isinstance(report, monoroute_client.Report)
        assert report.data and isinstance(report.data, dict)
        assert sorted(layer.layer for layer in report.layers) == LAYERS
        for layer in report.layers:
            assert layer.events == 4 * 64 and layer.routings == 4 * 64 * K
            assert sum(layer.load) == layer.routings
        assert (tmp_path / "out" / "llm_routing_results.json").read_text() == report.json
        if report.png:
            assert (tmp_path / "out" / "llm_monosemanticity.png").read_bytes()[:4] == b"\x89PNG"
        frames = report.to_pandas()
        assert sorted(frames.layers["layer"]) == LAYERS
        assert len(frames.pathways) == len(LAYERS) * P
        assert set(frames.pathways["pathway"]) == set(range(P))
        assert report.freshness.events == 4 * 64 * len(LAYERS)
        # GetLayer / GetPathway.
        layer = c.get_layer("run-r", 2, top_tokens=3)
        assert layer.summary.layer == 2 and len(layer.pathways) == P
        assert all(len(p.top_tokens) <= 3 for p in layer.pathways)
        df = layer.to_pandas()
        assert list(df["pathway"]) == list(range(P)) and "load" in df.columns
        path = c.get_pathway("run-r", 0, 3)
        assert (path.pathway.layer, path.pathway.pathway) == (0, 3)
        assert path.pathway.load == 4 * 64 * K // P
        with pytest.raises(ServiceError) as e:
            c.get_pathway("run-r", 0, P)
        assert e.value.code == grpc.StatusCode.OUT_OF_RANGE
        with pytest.raises(TypeError, match="unknown analysis option"):
            c.get_layer("run-r", 0, no_such_knob=1)
        # CompareRuns.
        cmp = c.compare_runs("run-r", "run-s")
        assert sorted(x.layer for x in cmp.layers) == LAYERS
        assert sorted(cmp.to_pandas()["layer"]) == LAYERS
        with pytest.raises(ServiceError) as e:
            c.compute_report("no-such-run")
        assert e.value.code == grpc.StatusCode.NOT_FOUND


def test_ablate_rpc(recorder, analysis, routed_checkpoints, tmp_path):
    text = write_stories(tmp_path / "eval.txt", 40)
    with Client(analysis=analysis.addr, timeout=300) as c:
        try:
            r = c.ablate(str(routed_checkpoints["glbl"]), str(text), layer=2, pathway=1,
                         max_tokens=512)
        except ServiceError as e:
            if e.code == grpc.StatusCode.UNIMPLEMENTED:
                pytest.skip(f"monoroute-analysis was built without the engine: {e}")
            raise
        assert isinstance(r, monoroute_client.AblateResponse)
        assert r.tokens_in_topk > 0 and r.tokens_in_topk + r.tokens_other > 0
        assert math.isfinite(r.base_loss) and r.base_loss > 0
        # Controlled: the target against load-matched controls, with an interval.
        assert len(r.controls) >= 1
        assert math.isfinite(r.effect_difference.estimate)
        # A path outside the server's allowed roots is refused, whether or not it exists.
        for outside in ("/etc/passwd", "/no/such/file"):
            with pytest.raises(ServiceError) as e:
                c.ablate(str(routed_checkpoints["glbl"]), outside, layer=2, pathway=1)
            assert e.value.code == grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(ServiceError) as e:
            c.ablate(str(routed_checkpoints["glbl"]), str(text), layer=1, pathway=0)
        assert e.value.code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.OUT_OF_RANGE)


def test_trainer_submit_watch_and_report(trainer, analysis, tmp_path):
    train = write_stories(tmp_path / "train.txt")
    with Client(trainer=trainer.addr, analysis=analysis.addr, token=trainer.token) as c:
        job = c.submit_job(tiny_job(train, tmp_path / "job-out"), name="pytest")
        assert isinstance(job, monoroute_client.Job)
        assert job.state in ("QUEUED", "RUNNING") and not job.done
        assert [j.id for j in c.list_jobs()] == [job.id]
        kinds = []
        final = c.wait_job(job.id, timeout=240, on_update=lambda u: kinds.append(u.kind))
        assert final.state == "SUCCEEDED", final.failure_reason
        assert final.done and c.state_name(final) == "SUCCEEDED"
        assert kinds[0] == "SNAPSHOT" and "STEP" in kinds
        assert final.progress.step == 8 and final.progress.total_loss > 0
        assert [b.layer for b in final.progress.balance] == [0, 2]
        assert final.events.events_acked > 0 and final.events.events_dropped == 0
        assert final.checkpoint_dir
        assert c.list_jobs(state="SUCCEEDED")[0].id == job.id
        report = c.compute_report(final.run_id, skip_png=True)
        assert sorted(layer.layer for layer in report.layers) == [0, 2]
        assert report.png == b""
        # `monoroute report --model-card` puts the report's answer into the checkpoint's card.
        card = os.path.join(final.checkpoint_dir, "README.md")
        assert "Not computed when this checkpoint was written" in open(card).read()
        r = subprocess.run([binary("monoroute"), "report", final.run_id, "--out",
                            str(tmp_path / "report"), "--analysis", analysis.addr, "--no-png",
                            "--model-card", final.checkpoint_dir],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        text = open(card).read()
        assert "Not computed" not in text and text.count("## Report") == 1
        section = text.split("## Report", 1)[1]
        assert f"of run `{final.run_id}`" in section
        assert len([ln for ln in section.splitlines() if ln.startswith("- ")]) == 2  # 2 layers
        assert "pathway-routing" in text  # the rest of the card is kept
        with pytest.raises(ServiceError) as e:  # a finished job cannot be cancelled
            c.cancel_job(job.id)
        assert e.value.code == grpc.StatusCode.FAILED_PRECONDITION


def test_trainer_cancel(trainer, tmp_path):
    train = write_stories(tmp_path / "train.txt")
    with Client(trainer=trainer.addr, token=trainer.token) as c:
        job = c.submit_job(tiny_job(train, tmp_path / "long", steps=100000), name="long")
        cancelled = c.cancel_job(job.id)
        assert cancelled.cancel_requested or cancelled.state == "CANCELLED"
        assert c.wait_job(job.id, timeout=240).state == "CANCELLED"


def test_trainer_rejects_bad_input_and_queues_nothing(trainer, tmp_path):
    with Client(trainer=trainer.addr, token=trainer.token) as c:
        assert c.list_jobs() == []
        with pytest.raises(ServiceError) as e:
            c.submit_job(tiny_job("/etc/passwd", tmp_path / "out"))  # outside the root
        assert e.value.code in (grpc.StatusCode.PERMISSION_DENIED,
                                grpc.StatusCode.INVALID_ARGUMENT)
        assert "train_path" in e.value.details
        with pytest.raises(ServiceError) as e:
            c.submit_job("this: [is not a job spec")
        assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
        with pytest.raises(ServiceError) as e:
            Client(trainer=trainer.addr, token="").submit_job("kind: pretrain\n")
        assert e.value.code == grpc.StatusCode.UNAUTHENTICATED
        with pytest.raises(ServiceError) as e:
            c.get_job("job-999999")
        assert e.value.code == grpc.StatusCode.NOT_FOUND
        assert c.list_jobs() == [] and c.list_jobs(state="RUNNING") == []


def test_tls_and_mutual_tls(tmp_path):
    """The client talks TLS (CA from an argument or $MONOROUTE_TLS_CA) and mutual TLS (client
    certificate); a plaintext client is refused by a TLS server."""
    certs = tmp_path / "certs"
    subprocess.run(["/bin/sh", os.path.join(REPO, "deploy", "tls", "make-certs.sh"), str(certs)],
                   check=True, capture_output=True)
    svc = Service("monoroute-recorder",
                  ["--data-dir", str(tmp_path / "db"), "--tls-cert", str(certs / "recorder.crt"),
                   "--tls-key", str(certs / "recorder.key"),
                   "--tls-client-ca", str(certs / "ca.crt")],
                  tmp_path, metrics=False, tls_ca=str(certs / "ca.crt"),
                  tls_cert=str(certs / "client.crt"), tls_key=str(certs / "client.key"))
    try:
        with Client(recorder=svc.addr, tls_ca=str(certs / "ca.crt"),
                    tls_cert=str(certs / "client.crt"), tls_key=str(certs / "client.key")) as c:
            assert list(c.list_runs()) == []
        with Client(recorder=svc.addr, timeout=5) as plain:
            with pytest.raises(ServiceError) as e:
                plain.list_runs()
            assert e.value.code == grpc.StatusCode.UNAVAILABLE
        with Client(recorder=svc.addr, tls_ca=str(certs / "ca.crt"), timeout=5) as no_cert:
            with pytest.raises(ServiceError) as e:  # mutual TLS: a client certificate is required
                no_cert.list_runs()
            assert e.value.code == grpc.StatusCode.UNAVAILABLE
        with pytest.raises(ValueError, match="tls_key"):
            Client(recorder=svc.addr, tls_ca=str(certs / "ca.crt"),
                   tls_cert=str(certs / "client.crt"))
    finally:
        svc.stop()
