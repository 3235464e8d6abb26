"""GPT-NeoX (Pythia) and GPT-2 in the Python client: ``load_model`` against the Hugging Face
reference fixtures (tests/fixtures/models) and against ``monoroute forward`` on routed
checkpoints of each family written by monoroute itself (``monoroute train``), and the Hugging
Face remote code those checkpoints carry (auto_map per family; with transformers when it is
installed, else through the stand-in of test_model.py)."""

import json
import os

import pytest

torch = pytest.importorskip("torch", reason="needs python3-torch")

from monoroute_client import load_model, safetensors  # noqa: E402

from conftest import REPO, train_checkpoint  # noqa: E402
from test_model import (REMOTE_FILES, MODELING_DIR, cpp_forward, import_remote_code,  # noqa: E402
                        random_ids, remote_model)

MODEL_FIXTURES = os.path.join(REPO, "tests", "fixtures", "models")
CASES = sorted(d for d in os.listdir(MODEL_FIXTURES)
               if os.path.isdir(os.path.join(MODEL_FIXTURES, d)))

# Routed tiny models of each family, trained by `monoroute train` (job spec `model` sections).
FAMILY_MODELS = {
    # Pythia-like: rotary on a quarter of each head, parallel residual, vocabulary padded to
    # 50304 beyond the GPT-2 tokenizer's 50257 ids (as Pythia's 50304 for 50277).
    "neox_parallel": "model_type: gpt_neox, vocab_size: 50304, hidden_size: 32, num_layers: 4, "
                     "num_heads: 4, rotary_pct: 0.25, use_parallel_residual: true",
    # Full rotary, sequential residual.
    "neox_sequential": "model_type: gpt_neox, hidden_size: 32, num_layers: 4, num_heads: 4, "
                       "rotary_pct: 1.0, use_parallel_residual: false",
    "gpt2": "model_type: gpt2, hidden_size: 32, num_layers: 4, num_heads: 4",
}
REMOTE_CLASSES = {
    "gpt_neox": ("MonorouteGPTNeoXConfig", "MonorouteGPTNeoXForCausalLM"),
    "gpt2": ("MonorouteGPT2Config", "MonorouteGPT2LMHeadModel"),
}


@pytest.mark.parametrize("case", CASES)
def test_load_model_matches_the_hf_reference_fixture(case):
    # expected.safetensors: the outputs of the line-by-line transcription of HF's modeling code
    # (scripts/fixtures/gen_model_fixtures.py); both key layouts, .bin with buffers, padding.
    d = os.path.join(MODEL_FIXTURES, case)
    expected = safetensors.load_file(os.path.join(d, "expected.safetensors"))
    model = load_model(d)
    assert model.spec.family == json.load(open(os.path.join(d, "config.json")))["model_type"]
    ids = expected["input_ids"]
    cache = {}
    with torch.no_grad():
        out = model(ids, labels=ids, cache=cache)
    assert (out.logits - expected["logits"]).abs().max().item() <= 1e-4
    assert (out.final_norm - expected["final_norm"]).abs().max().item() <= 1e-4
    assert abs(out.loss.item() - expected["loss"].item()) <= 1e-4
    for i in range(model.spec.num_layers):
        got = cache[f"blocks.{i}.hook_resid_post"]
        assert (got - expected[f"block_out.{i}"]).abs().max().item() <= 1e-4, i


@pytest.fixture(scope="module")
def family_checkpoints(tmp_path_factory):
    """{name: routed checkpoint dir} for FAMILY_MODELS (GLBL, every 2nd layer, P=8, k=2)."""
    tmp = tmp_path_factory.mktemp("families")
    return {name: train_checkpoint(tmp, "enabled: true", name=name, model=model)
            for name, model in FAMILY_MODELS.items()}


@pytest.mark.parametrize("name", sorted(FAMILY_MODELS))
def test_routed_family_matches_monoroute_forward(name, family_checkpoints, tmp_path):
    ckpt = family_checkpoints[name]
    cfg = json.loads((ckpt / "config.json").read_text())
    model = load_model(str(ckpt))
    assert model.spec.family == cfg["model_type"]
    assert model.routed_layers == [0, 2]
    ids = random_ids(50257, (3, 40), seed=7)  # real token ids (NeoX: padded rows never occur)
    ref = cpp_forward(ckpt, ids, tmp_path)
    with torch.no_grad():
        out = model(ids, labels=ids)
    assert out.logits.shape[-1] == cfg["vocab_size"]
    diff = (out.logits - ref["logits"]).abs().max().item()
    assert diff <= 1e-4, f"{name}: max |logits - monoroute forward| = {diff}"
    assert (out.final_norm - ref["final_norm"]).abs().max().item() <= 1e-4
    assert abs(out.loss.item() - ref["loss"].item()) <= 1e-4
    for r in out.routing:
        assert r.topk_indices.shape == (ids.numel(), 2)


@pytest.mark.parametrize("name", sorted(FAMILY_MODELS))
def test_routed_family_checkpoint_names_its_remote_classes(name, family_checkpoints):
    ckpt = family_checkpoints[name]
    cfg = json.loads((ckpt / "config.json").read_text())
    config_cls, model_cls = REMOTE_CLASSES[cfg["model_type"]]
    assert cfg["auto_map"] == {"AutoConfig": f"configuration_monoroute.{config_cls}",
                               "AutoModelForCausalLM": f"modeling_monoroute.{model_cls}"}
    assert cfg["architectures"] == [model_cls]
    for f in REMOTE_FILES:  # one implementation: byte-identical to the package's files
        with open(os.path.join(MODELING_DIR, f), "rb") as src:
            assert (ckpt / f).read_bytes() == src.read(), f


@pytest.mark.parametrize("name", sorted(FAMILY_MODELS))
def test_remote_code_of_each_family_equals_load_model(name, family_checkpoints, tmp_path,
                                                      monkeypatch):
    ckpt = family_checkpoints[name]
    state = safetensors.load_file(str(ckpt / "model.safetensors"))
    hf = remote_model(ckpt, tmp_path, monkeypatch, tag=name)
    assert set(hf.state_dict()) == set(state)  # parameter names = the checkpoint's tensors
    ours = load_model(str(ckpt))
    ids = random_ids(50257, (2, 24), seed=3)
    with torch.no_grad():
        a = hf(input_ids=ids, labels=ids, output_router_logits=True)
        b = ours(ids, labels=ids)
    assert torch.equal(a.logits, b.logits)
    assert torch.equal(a.loss, b.loss)
    assert len(a.router_logits) == 2
    if json.loads((ckpt / "config.json").read_text())["model_type"] == "gpt_neox":
        assert hf.get_output_embeddings() is hf.embed_out  # untied
    else:
        assert hf.get_output_embeddings() is None  # tied to transformer.wte


@pytest.mark.parametrize("name", ["neox_parallel", "gpt2"])
def test_remote_code_padding_and_kv_cache_per_family(name, family_checkpoints, tmp_path,
                                                     monkeypatch):
    # Rotary positions come from the mask as learned ones do: a left-padded row equals the
    # unpadded one; the KV cache (rotated keys cached) equals the full forward.
    hf = remote_model(family_checkpoints[name], tmp_path, monkeypatch, tag=name)
    rows = [random_ids(50257, (1, n), seed=n)[0] for n in (17, 9)]
    width = 17
    ids = torch.full((2, width), 50256)
    mask = torch.zeros(2, width, dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, width - len(r):], mask[i, width - len(r):] = r, 1
    with torch.no_grad():
        batch = hf(input_ids=ids, attention_mask=mask)
        for i, r in enumerate(rows):
            alone = hf(input_ids=r[None]).logits[0]
            assert torch.allclose(batch.logits[i, width - len(r):], alone, atol=1e-4), i
        full = hf(input_ids=rows[0][None]).logits
        first = hf(input_ids=rows[0][None, :10], use_cache=True)
        rest = hf(input_ids=rows[0][None, 10:], past_key_values=first.past_key_values,
                  use_cache=True)
    assert torch.allclose(rest.logits[0], full[0, 10:], atol=1e-4)


@pytest.mark.parametrize("name", sorted(FAMILY_MODELS))
def test_transformers_from_pretrained_equals_monoroute_forward(name, family_checkpoints,
                                                               tmp_path):
    transformers = pytest.importorskip(
        "transformers", reason="transformers is not installed (not packaged for Debian 12)")
    ckpt = family_checkpoints[name]
    hf = transformers.AutoModelForCausalLM.from_pretrained(str(ckpt), trust_remote_code=True)
    hf.eval()
    ids = random_ids(50257, (3, 40), seed=7)
    ref = cpp_forward(ckpt, ids, tmp_path)
    with torch.no_grad():
        out = hf(input_ids=ids)
    assert (out.logits - ref["logits"]).abs().max().item() <= 1e-4
