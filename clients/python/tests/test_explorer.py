"""``Client.pathway`` / ``Client.contexts``: the explorer's JSON API as DataFrames.

Against a local HTTP stub (no binaries): the URL, the bearer token, the DataFrame views (decoded
context text), and HTTP errors as ServiceError codes. Against real services (skipped without
the binaries): a recorder holding a planted run (" dragon" selects layer 0 pathway 5 with gate
0.9 in known sentences) and monoroute-analysis with --http-listen and a token.
"""

import http.server
import json
import os
import socket
import threading

import pytest

from conftest import TOKENIZER_DIR, Service, free_port
from monoroute_client import Client, ServiceError, Tokenizer, event_batch

CONTEXT = {"sequence_id": 3, "position": 2, "gate": 0.9, "rank": 1, "co_selected": [1],
           "next_token_id": 7, "next_token": " flew", "tokens": ["The", " red", " dragon", " flew"],
           "token_ids": [464, 2266, 10441, 7480], "token_gates": [0, 0, 0.9, 0],
           "routed_index": 2}
PAGE = {"api_version": 1, "run_id": "r/1", "split": "valid", "layer": 0, "pathway": 5,
        "num_pathways": 8, "top_k": 2, "layer_events": 100, "load": 10, "load_vs_uniform": 0.4,
        "density": 0.1, "mean_gate": 0.9, "top_contexts": [CONTEXT],
        "quantile_groups": [{"quantile_low": 0, "quantile_high": 1, "gate_low": 0.9,
                             "gate_high": 0.9, "events": 10, "examples": [CONTEXT]}],
        "gate_histogram": {"low": 0, "high": 1, "counts": [0, 0, 0, 10]},
        "tokens_by_lift": [{"token_id": 10441, "token": " dragon", "lift": 10.0}],
        "next_tokens_by_lift": [], "same_layer_partners": [], "next_layer_partners": [],
        "load_over_training": [{"step_low": 7, "step_high": 7, "events": 100, "selecting": 10,
                                "load_vs_uniform": 0.4}],
        "logits": {"computed": True, "note": "", "checkpoint": "/c", "contexts": 1,
                   "raised": [{"token_id": 1, "token": " fire", "value": 2.0}],
                   "lowered": [{"token_id": 2, "token": " water", "value": -1.0}]},
        "ablation": {"found": True, "categories": [
            {"category": "animal", "status": "ok", "tokens": 72, "control_tokens": 40,
             "target_increase": 2.5, "control_increase": 0.5,
             "difference": {"estimate": 2.0, "ci": [1.5, 2.5]}, "chance_level": 0.0},
            {"category": "time", "status": "too few tokens", "tokens": 3, "control_tokens": 1,
             "target_increase": 0.1, "control_increase": 0.0,
             "difference": {"estimate": None, "ci": [None, None]}, "chance_level": 0.0}]}}


class _Stub(http.server.BaseHTTPRequestHandler):
    seen = []

    def do_GET(self):  # noqa: N802
        _Stub.seen.append((self.path, self.headers.get("Authorization")))
        if self.headers.get("Authorization") != "Bearer tok":
            return self._send(401, {"error": {"code": 401, "message": "token required"}})
        if not self.path.startswith("/api/runs/r%2F1/layers/0/pathways/5"):
            return self._send(404, {"error": {"code": 404, "message": "pathway: 9 >= 8"}})
        self._send(200, PAGE)

    def _send(self, code, doc):
        body = json.dumps(doc).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def stub_url():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Stub.seen.clear()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_pathway_reads_the_api_with_the_token(stub_url):
    pytest.importorskip("pandas")
    with Client(explorer=stub_url, analysis_token="tok") as c:
        page = c.pathway("r/1", 0, 5, split="valid", top_contexts=7)
    path, auth = _Stub.seen[-1]
    assert path == "/api/runs/r%2F1/layers/0/pathways/5?split=valid&top_contexts=7"
    assert auth == "Bearer tok"
    assert page.load == 10 and page.mean_gate == 0.9 and page.data["run_id"] == "r/1"
    ctx = page.contexts
    assert list(ctx["token"]) == [" dragon"]
    assert ctx["text"][0] == "The red dragon flew"
    assert ctx["left"][0] == "The red" and ctx["right"][0] == " flew"
    assert ctx["token_id"][0] == 10441 and ctx["next_token"][0] == " flew"
    assert ctx["gate"][0] == pytest.approx(0.9)
    assert list(page.quantile_contexts["group_events"]) == [10]
    assert list(page.tokens_by_lift["token"]) == [" dragon"]
    assert list(page.gate_histogram["count"]) == [0, 0, 0, 10]
    assert page.gate_histogram["bin_high"].iloc[-1] == pytest.approx(1.0)
    assert list(page.load_over_training["load_vs_uniform"]) == [0.4]
    lg = page.logits
    assert list(lg["direction"]) == ["raised", "lowered"]
    assert list(lg["token"]) == [" fire", " water"]
    ab = page.ablation_categories
    assert list(ab["category"]) == ["animal", "time"]
    assert ab["ci_low"][0] == pytest.approx(1.5) and ab["difference"][0] == pytest.approx(2.0)
    assert ab["status"][1] == "too few tokens"


def test_contexts_and_errors(stub_url, monkeypatch):
    pytest.importorskip("pandas")
    monkeypatch.setenv("MONOROUTE_EXPLORER_URL", stub_url)
    with Client(analysis_token="tok") as c:
        assert c.explorer_url == stub_url
        df = c.contexts("r/1", 0, 5, n=3)
        assert _Stub.seen[-1][0].endswith("top_contexts=3")
        assert df.shape[0] == 1 and df["token"][0] == " dragon"
        with pytest.raises(ValueError):
            c.contexts("r/1", 0, 5, n=0)
        with pytest.raises(ServiceError) as e:
            c.pathway("r/1", 0, 9)
        assert e.value.code_name == "NOT_FOUND" and "pathway: 9" in str(e.value)
    with Client(analysis_token="wrong") as c:
        with pytest.raises(ServiceError) as e:
            c.pathway("r/1", 0, 5)
        assert e.value.code_name == "UNAUTHENTICATED" and e.value.service == "explorer"
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with Client(explorer=f"127.0.0.1:{port}", timeout=2) as c:
        with pytest.raises(ServiceError) as e:
            c.pathway("r/1", 0, 5)
        assert e.value.code_name == "UNAVAILABLE"


SENTENCES = ["Once upon a time a dragon lived on a hill.", "The little dragon liked to fly.",
             "Tom saw a dragon in the sky and smiled.", "A dragon and a cat were friends."]


def _planted_batch(tok, dragon):
    # One batch is one (step, layer): step 7, layer 0.
    seq, pos, ids, nxt, pw, ws = [], [], [], [], [], []
    for s, text in enumerate(SENTENCES):
        t = tok.encode(text)
        for i, tid in enumerate(t):
            seq.append(s)
            pos.append(i)
            ids.append(tid)
            nxt.append(t[i + 1] if i + 1 < len(t) else 0)
            if tid == dragon:
                pw.append([5, 1])
                ws.append([0.9, 0.1])
            else:
                pw.append([2 + i % 3, 6])
                ws.append([0.5, 0.5])
    return event_batch("planted", 0, step=7, layer=0, token_id=ids,
                       sequence_id=seq, position=pos, next_token_id=nxt, pathways=pw,
                       weights=ws, split="valid", writer_id="pytest")


def test_pathway_from_a_live_explorer(recorder, tmp_path):
    pytest.importorskip("pandas")
    tok = Tokenizer(TOKENIZER_DIR)
    dragon = tok.encode(" dragon")
    assert len(dragon) == 1
    token_file = tmp_path / "token"
    token_file.write_text("s3cret\n")
    http_port = free_port()
    analysis = Service("monoroute-analysis",
                       ["--recorder", recorder.addr, "--auth-token-file", str(token_file),
                        "--http-listen", f"127.0.0.1:{http_port}"], tmp_path)
    try:
        with Client(recorder=recorder.addr, recorder_token="s3cret", analysis_token="s3cret",
                    explorer=f"http://127.0.0.1:{http_port}") as c:
            assert c.create_run("planted", [0], 8, 2, 50257, store_raw_events=True)
            c.record([_planted_batch(tok, dragon[0])])
            page = c.pathway("planted", 0, 5)
            assert page.load == 4
            ctx = page.contexts
            assert set(ctx["token"]) == {" dragon"}
            assert all(g == pytest.approx(0.9) for g in ctx["gate"])
            texts = set(ctx["text"])
            for s in SENTENCES:  # each sentence is short: its whole text is the context
                assert s in texts
            top2 = c.contexts("planted", 0, 5, n=2)
            assert top2.shape[0] == 2
            assert not page.data["logits"]["computed"]  # no checkpoint
        with Client(explorer=f"http://127.0.0.1:{http_port}", analysis_token="") as c:
            with pytest.raises(ServiceError) as e:
                c.pathway("planted", 0, 5)
            assert e.value.code_name == "UNAUTHENTICATED"
    finally:
        analysis.stop()
