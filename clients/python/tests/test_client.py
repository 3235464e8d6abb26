"""Tests of monoroute_client against real service processes (skipped when not built)."""

import grpc
import pytest

from monoroute_client import Client, ServiceError, pb

LAYERS = [0, 2]
P, K, V = 16, 4, 1000


def test_stubs_are_generated_from_the_protos():
    assert hasattr(pb.trainer_pb2_grpc, "TrainerStub")
    assert hasattr(pb.recorder_pb2_grpc, "RecorderStub")
    assert hasattr(pb.analysis_pb2_grpc, "AnalysisStub")
    assert pb.trainer_pb2.JobState.Name(3) == "SUCCEEDED"


def test_service_down_is_a_clear_error():
    import socket
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with Client(recorder=f"127.0.0.1:{port}", timeout=2) as c:
        with pytest.raises(ServiceError) as e:
            c.list_runs()
    assert e.value.code == grpc.StatusCode.UNAVAILABLE
    assert "recorder.ListRuns" in str(e.value)


def make_batch(run_id, seq, step, n=32, split="train"):
    """n events on every routed layer; pathway p of event i is (i + j) % P for j < K."""
    b = pb.recorder_pb2.EventBatch(run_id=run_id, writer_id="pytest", batch_seq=seq, split=split)
    for layer in LAYERS:
        for i in range(n):
            b.step.append(step)
            b.layer.append(layer)
            b.sequence_id.append(seq)
            b.position.append(i)
            b.token_id.append((7 * i) % V)
            b.next_token_id.append((7 * i + 7) % V)
            b.pathways.extend((i + j) % P for j in range(K))
            b.weights.extend([0.25] * K)
    return b


def record_run(c, run_id="run-a", batches=3, n=32):
    assert c.create_run(run_id, LAYERS, P, K, V, store_raw_events=True) is True
    acks = c.record(make_batch(run_id, s, step=s, n=n) for s in range(batches))
    assert [a.batch_seq for a in acks] == list(range(batches))
    return acks


def test_recorder_run_summaries_and_exactly_once(recorder):
    with Client(recorder=recorder.addr) as c:
        acks = record_run(c)
        assert all(not a.duplicate for a in acks)
        assert [a.events for a in acks] == [32 * len(LAYERS)] * 3
        # Re-sending batch 1 is acknowledged as a duplicate and not applied again.
        again = c.record([make_batch("run-a", 1, step=1)])
        assert again[0].duplicate
        run = c.get_run("run-a")
        assert run.events == 3 * 32 * len(LAYERS)
        assert run.batches == 3
        assert (run.min_step, run.max_step) == (0, 2)
        assert sorted(run.layers_seen) == LAYERS
        assert list(run.splits) == ["train"]
        summaries = c.run_summaries()
        assert [s["run_id"] for s in summaries] == ["run-a"]
        assert summaries[0]["events"] == run.events
        totals = c.get_totals("run-a", 0)
        assert totals.tokens == 3 * 32
        assert sum(totals.pathway_count) == 3 * 32 * K
        # Identical spec: idempotent, not created again.
        assert c.create_run("run-a", LAYERS, P, K, V, store_raw_events=True) is False


def test_recorder_errors_carry_status_codes(recorder):
    with Client(recorder=recorder.addr) as c:
        with pytest.raises(ServiceError) as e:
            c.get_run("no-such-run")
        assert e.value.code == grpc.StatusCode.NOT_FOUND
        c.create_run("run-b", LAYERS, P, K, V)
        bad = make_batch("run-b", 0, step=0)
        bad.token_id[0] = V + 5  # out of the declared vocabulary
        with pytest.raises(ServiceError) as e:
            c.record([bad])
        assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
        assert c.get_run("run-b").events == 0


def test_analysis_report(recorder, analysis, tmp_path):
    with Client(recorder=recorder.addr, analysis=analysis.addr) as c:
        record_run(c, "run-r", batches=4, n=64)
        report, resp = c.get_report("run-r", out_dir=str(tmp_path / "out"))
        assert isinstance(report, dict) and report
        assert sorted(layer.layer for layer in resp.layers) == LAYERS
        for layer in resp.layers:
            assert layer.events == 4 * 64
            assert layer.routings == 4 * 64 * K
            assert sum(layer.load) == layer.routings
            assert 0.0 <= layer.utilisation <= 1.0
        assert (tmp_path / "out" / "llm_routing_results.json").read_text() == resp.json
        if resp.png:
            assert (tmp_path / "out" / "llm_monosemanticity.png").read_bytes()[:4] == b"\x89PNG"
        with pytest.raises(ServiceError) as e:
            c.get_report("no-such-run")
        assert e.value.code == grpc.StatusCode.NOT_FOUND


STORIES = ["Tom had a red ball. He liked to play with the ball in the park.",
           "Lily saw a big dog. The dog was happy and ran to Lily.",
           "The sun was warm. Ben and Sue went to the sea to swim and play.",
           "Mia found a little cat. The cat was sad, so Mia gave it milk."]


def small_job(train_path, output_dir, steps=8):
    """A tiny routed pretrain job (layers 0 and 2 of 4 routed, 8 pathways, top-2)."""
    return (
        "kind: pretrain\n"
        f"output_dir: \"{output_dir}\"\n"
        "model: {hidden_size: 32, num_layers: 4, num_heads: 4, max_position_embeddings: 64}\n"
        "routing: {enabled: true, num_pathways: 8, top_k: 2, router_hidden: 16,\n"
        "          route_every_n_layers: 2, balancing: {method: glbl}}\n"
        f"data: {{train_path: \"{train_path}\", seq_len: 32, valid_fraction: 0.1}}\n"
        f"optim: {{max_steps: {steps}, warmup_steps: 2, batch_size: 4}}\n"
        "eval_every: 0\neval_batches: 2\nlog_every: 1\nthreads: 1\n"
        "record: {sample_rate: 1.0, eval_split_events: true}\n")


def test_trainer_submit_watch_and_report(trainer, analysis, tmp_path):
    train = tmp_path / "train.txt"
    train.write_text("".join(f"{STORIES[i % 4]}\n<|endoftext|>\n" for i in range(400)))
    with Client(trainer=trainer.addr, analysis=analysis.addr, token=trainer.token) as c:
        job = c.submit_job(small_job(train, tmp_path / "job-out"), name="pytest")
        assert c.state_name(job) in ("QUEUED", "RUNNING")
        assert [j.id for j in c.list_jobs()] == [job.id]
        kinds = []
        final = c.wait_job(job.id, timeout=240, on_update=lambda u: kinds.append(u.kind))
        assert c.state_name(final) == "SUCCEEDED", final.failure_reason
        assert kinds[0] == pb.trainer_pb2.JobUpdate.SNAPSHOT
        assert final.progress.step == 8
        assert final.progress.total_loss > 0
        assert final.events.events_acked > 0 and final.events.events_dropped == 0
        assert c.list_jobs(state="SUCCEEDED")[0].id == job.id
        report, resp = c.get_report(final.recorder_run_id or job.id, skip_png=True)
        assert sorted(layer.layer for layer in resp.layers) == [0, 2]
        assert report


def test_trainer_rejects_bad_input_and_queues_nothing(trainer, tmp_path):
    with Client(trainer=trainer.addr, token=trainer.token) as c:
        assert c.list_jobs() == []
        with pytest.raises(ServiceError) as e:
            c.submit_job(small_job("/etc/passwd", tmp_path / "out"))  # outside the root
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
        assert c.list_jobs() == []
        assert c.list_jobs(state="RUNNING") == []
