"""``model.generate`` equals ``monoroute generate`` token for token at the same seed (greedy,
sampled, steered), on checkpoints trained by ``monoroute train``: one sampler
(``monoroute_client.sampling`` = common/engine/generate.cc)."""

import json
import subprocess

import pytest

torch = pytest.importorskip("torch", reason="needs python3-torch")

from monoroute_client import load_model  # noqa: E402
from monoroute_client.sampling import sample_next, splitmix64, uniform  # noqa: E402

from conftest import binary  # noqa: E402

PROMPT = "Tom had a red ball. He"


def cli_generate(ckpt, *args):
    mono = binary("monoroute")
    r = subprocess.run([mono, "generate", "--model", str(ckpt), "--prompt", PROMPT,
                        "--output", "json", *args], capture_output=True, text=True, timeout=300)
    if r.returncode != 0 and "generate" in r.stderr and "subcommand" in r.stderr.lower():
        pytest.skip(f"{mono} has no generate subcommand")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_sampler_fixed_numbers():
    # The same numbers are asserted by the C++ test (tests/common/engine/generate_test.cc).
    assert splitmix64(0) == 0xE220A8397B1DCDAF
    assert splitmix64(0x9E3779B97F4A7C15) == 0x6E789E6AA1B965F4
    assert 0 <= uniform(42, 7) < 1 and uniform(42, 7) != uniform(42, 8)
    logits = [0.0, 2.0, 1.0, 2.0]
    assert sample_next(logits, temperature=0, top_k=0, seed=1, step=0) == 1
    assert all(sample_next(logits, temperature=3.0, top_k=1, seed=9, step=s) == 1
               for s in range(20))


CASES = [
    ("greedy", [], dict()),
    ("sampled", ["--temperature", "0.9", "--seed", "17"], dict(temperature=0.9, seed=17)),
    ("top-k", ["--temperature", "1.2", "--top-k", "10", "--seed", "3"],
     dict(temperature=1.2, top_k=10, seed=3)),
]


@pytest.mark.parametrize("kind", ["glbl", "aux_free"])
@pytest.mark.parametrize("name,flags,kwargs", CASES, ids=[c[0] for c in CASES])
def test_python_generate_equals_cli(routed_checkpoints, kind, name, flags, kwargs):
    ckpt = routed_checkpoints[kind]
    cli = cli_generate(ckpt, "--max-new-tokens", "20", *flags)
    model = load_model(str(ckpt))
    py = model.generate(PROMPT, max_new_tokens=20, **kwargs)
    assert py.prompt_ids == cli["prompt_ids"]
    assert py.ids == cli["ids"], name
    assert py.text == cli["text"]
    for tok, ctok in zip(py.tokens, cli["tokens"]):
        assert tok.id == ctok["id"]
        assert [r.layer for r in tok.routing] == [r["layer"] for r in ctok["routing"]]
        assert [r.pathways for r in tok.routing] == [r["pathways"] for r in ctok["routing"]]


def test_steered_generate_equals_cli(routed_checkpoints):
    ckpt = routed_checkpoints["glbl"]
    model = load_model(str(ckpt))
    plain = model.generate(PROMPT, max_new_tokens=16)
    p = plain.tokens[0].routing[0].pathways[0]
    cli = cli_generate(ckpt, "--max-new-tokens", "16", "--ablate", f"0:{p}",
                       "--scale", "2:1=2.5", "--temperature", "0.7", "--seed", "5")
    with model.steer(ablate=[(0, p)], scale={(2, 1): 2.5}):
        py = model.generate(PROMPT, max_new_tokens=16, temperature=0.7, seed=5)
    assert py.ids == cli["ids"]
    assert all(p not in t["routing"][0]["pathways"] for t in cli["tokens"])
    assert model.generate(PROMPT, max_new_tokens=16).ids == plain.ids  # steering undone


def test_run_with_cache_routing_equals_the_cpp_model(routed_checkpoints):
    # The C++ model's routing of each position (reported by `monoroute generate` for the position
    # that predicted each token) equals run_with_cache's hooks on the same text.
    ckpt = routed_checkpoints["aux_free"]
    cli = cli_generate(ckpt, "--max-new-tokens", "12")
    model = load_model(str(ckpt))
    ids = cli["prompt_ids"] + cli["ids"]
    _, cache = model.run_with_cache(ids)
    n = len(cli["prompt_ids"])
    for i, tok in enumerate(cli["tokens"]):
        for r in tok["routing"]:
            idx, w = cache.routing(r["layer"])
            assert idx[0, n - 1 + i].tolist() == r["pathways"], (i, r["layer"])
            assert torch.allclose(w[0, n - 1 + i].double(), torch.tensor(r["weights"], dtype=torch.float64),
                                  atol=1e-5)


def test_run_with_cache_routing_equals_the_recorded_events(recorder, tmp_path):
    # A routed job trained by `monoroute train --recorder` records its final evaluation's routing
    # (split "valid", every position). Its final checkpoint is the model of that evaluation, so
    # run_with_cache on each recorded sequence (rebuilt from the events' token ids and positions)
    # selects the same pathways with the same weights at every position and routed layer.
    from monoroute_client import Client
    from conftest import tiny_job, write_stories

    train = write_stories(tmp_path / "train.txt", 120)
    spec = tmp_path / "job.yaml"
    spec.write_text(tiny_job(train, tmp_path / "job", steps=4, tokenizer=True))
    r = subprocess.run([binary("monoroute"), "train", "--config", str(spec), "--quiet",
                        "--recorder", recorder.addr, "--run-id", "recorded"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"{r.stdout}\n{r.stderr}"
    ckpt = sorted((tmp_path / "job" / "checkpoints").iterdir())[-1]
    model = load_model(str(ckpt))
    with Client(recorder=recorder.addr) as c:
        events = c.query_events("recorded", split="valid", limit=1_000_000).to_pandas()
    assert len(events) > 0, "the final evaluation recorded no events"
    k = sum(1 for col in events.columns if col.startswith("pathway_"))
    layers = sorted(events["layer"].unique().tolist())
    assert layers == [0, 2]  # routed every 2nd layer of the 4
    checked = 0
    for _, seq in events.groupby("sequence_id"):
        first = seq[seq["layer"] == layers[0]].sort_values("position")
        assert first["position"].tolist() == list(range(len(first))), "a sequence has gaps"
        _, cache = model.run_with_cache(first["token_id"].astype("int64").tolist())
        for layer in layers:
            rows = seq[seq["layer"] == layer].sort_values("position")
            idx, w = cache.routing(layer)
            want_idx = torch.tensor(rows[[f"pathway_{j}" for j in range(k)]].to_numpy()
                                    .astype("int64"))
            want_w = torch.tensor(rows[[f"weight_{j}" for j in range(k)]].to_numpy()
                                  .astype("float64"))
            assert torch.equal(idx[0].long(), want_idx), (layer, rows["sequence_id"].iloc[0])
            assert torch.allclose(w[0].double(), want_w, atol=1e-5), layer
            checked += len(rows)
    assert checked == len(events)
