"""load_model / the routed GPT-Neo in PyTorch against `monoroute forward` (the C++ model), the
safetensors reader, strict loading, and the Hugging Face remote code in routed checkpoints."""

import dataclasses
import importlib
import json
import os
import shutil
import struct
import subprocess
import sys
import types

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="needs python3-torch")

import monoroute_client  # noqa: E402
from monoroute_client import load_model, safetensors  # noqa: E402
from monoroute_client.modeling import routed_gpt_neo  # noqa: E402

from conftest import REPO, binary  # noqa: E402

FIXTURE = os.path.join(REPO, "tests", "fixtures", "gptneo_tiny")
MODELING_DIR = os.path.dirname(routed_gpt_neo.__file__)
REMOTE_FILES = ("configuration_monoroute.py", "modeling_monoroute.py", "routed_gpt_neo.py",
                "family_layers.py")


def write_safetensors(path, tensors):
    """A minimal safetensors writer for the test inputs (int64 / float32 only)."""
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        a = t.contiguous().numpy()
        dtype = {np.dtype("int64"): "I64", np.dtype("float32"): "F32"}[a.dtype]
        header[name] = {"dtype": dtype, "shape": list(a.shape),
                        "data_offsets": [off, off + a.nbytes]}
        blobs.append(a.astype(a.dtype.newbyteorder("<")).tobytes())
        off += a.nbytes
    h = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def cpp_forward(model_dir, ids, tmp_path, *extra):
    """Runs `monoroute forward` on ids (more flags: ``extra``); returns its output tensors."""
    mono = binary("monoroute")
    inp, out = tmp_path / "in.safetensors", tmp_path / "out.safetensors"
    write_safetensors(inp, {"input_ids": ids})
    help_text = subprocess.run([mono, "forward", "--help"], capture_output=True, text=True).stdout
    out_flag = "--out" if "--out " in help_text or "--out," in help_text else "--output"
    r = subprocess.run([mono, "forward", "--model", str(model_dir), "--input", str(inp), out_flag,
                        str(out), *extra], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"monoroute forward failed: {r.stdout}\n{r.stderr}"
    return safetensors.load_file(str(out))


def random_ids(vocab, shape=(3, 40), seed=0):
    return torch.randint(0, vocab, shape, generator=torch.Generator().manual_seed(seed))


def test_dense_fixture_matches_hf_reference():
    # expected.safetensors holds Hugging Face transformers' outputs for the fixture.
    expected = safetensors.load_file(os.path.join(FIXTURE, "expected.safetensors"))
    model = load_model(FIXTURE)
    assert model.routed_layers == []
    with torch.no_grad():
        out = model(expected["input_ids"], labels=expected["input_ids"])
    assert (out.logits - expected["logits"]).abs().max().item() <= 1e-4
    assert (out.final_norm - expected["final_norm"]).abs().max().item() <= 1e-4
    assert abs(out.loss.item() - expected["loss"].item()) <= 1e-4
    assert out.routing == []


def test_dense_matches_monoroute_forward(tmp_path):
    ids = random_ids(1000, (2, 48))  # longer than the window (8): local attention matters
    ref = cpp_forward(FIXTURE, ids, tmp_path)
    with torch.no_grad():
        out = load_model(FIXTURE)(ids, labels=ids)
    assert (out.logits - ref["logits"]).abs().max().item() <= 1e-4
    assert abs(out.loss.item() - ref["loss"].item()) <= 1e-4


@pytest.mark.parametrize("kind", ["glbl", "aux_free"])
def test_routed_matches_monoroute_forward(kind, routed_checkpoints, tmp_path):
    ckpt = routed_checkpoints[kind]
    cfg = json.loads((ckpt / "config.json").read_text())
    model = load_model(str(ckpt))
    assert model.routed_layers == ([0, 2] if kind == "glbl" else [1, 3])
    ids = random_ids(cfg["vocab_size"])
    ref = cpp_forward(ckpt, ids, tmp_path)
    with torch.no_grad():
        out = model(ids, labels=ids)
    diff = (out.logits - ref["logits"]).abs().max().item()
    assert diff <= 1e-4, f"{kind}: max |logits - monoroute forward| = {diff}"
    assert (out.final_norm - ref["final_norm"]).abs().max().item() <= 1e-4
    assert abs(out.loss.item() - ref["loss"].item()) <= 1e-4
    assert [r.layer for r in out.routing] == model.routed_layers
    for r in out.routing:
        assert r.topk_indices.shape == (ids.numel(), 2)
        assert torch.allclose(r.topk_weights.sum(-1), torch.ones(ids.numel()))
    if kind == "aux_free":
        # The trained selection bias changes which pathways are chosen: ignoring it must not
        # reproduce the C++ logits (so the test above really exercised the biased choice).
        bias = [model.router(layer).selection_bias for layer in model.routed_layers]
        assert any(b.abs().sum().item() > 0 for b in bias)
        for layer in model.routed_layers:
            model.router(layer).use_selection_bias = False
        with torch.no_grad():
            unbiased = model(ids)
        assert (unbiased.logits - ref["logits"]).abs().max().item() > 1e-3


def test_ablation_changes_logits_only_through_the_pathway(routed_checkpoints, tmp_path):
    # steer(ablate=...) equals the offline ablation's model (`monoroute forward --ablate`, the
    # C++ SetPathwayMask) within 1e-4, and changes nothing before the first position that routed
    # a token to the pathway: the ablation acts only through that pathway.
    ckpt = routed_checkpoints["glbl"]
    cfg = json.loads((ckpt / "config.json").read_text())
    model = load_model(str(ckpt))
    ids = random_ids(cfg["vocab_size"], (3, 40), seed=3)
    with torch.no_grad():
        intact = model(ids)
    layer = model.routed_layers[0]
    sel = next(r for r in intact.routing if r.layer == layer).topk_indices.view(3, 40, -1)
    # The pathway whose first use comes latest: positions before it are the unaffected prefix.
    first_use = {}
    for p in range(cfg["routing"]["num_pathways"]):
        used = (sel == p).any(-1)  # [B, T]
        if used.any(-1).all():
            first_use[p] = used.float().argmax(-1)  # first position per row
    assert first_use, "no pathway is used in every row"
    p = max(first_use, key=lambda q: int(first_use[q].min()))
    ref = cpp_forward(ckpt, ids, tmp_path, "--ablate", f"{layer}:{p}")
    with torch.no_grad(), model.steer(ablate=[(layer, p)]):
        ablated = model(ids)
    diff = (ablated.logits - ref["logits"]).abs().max().item()
    assert diff <= 1e-4, f"max |steered - monoroute forward --ablate| = {diff}"
    assert not (sel == p).any() or (ablated.logits - intact.logits).abs().max().item() > 1e-4
    for row in range(3):
        t0 = int(first_use[p][row])
        before = (ablated.logits[row, :t0] - intact.logits[row, :t0]).abs().max().item() \
            if t0 > 0 else 0.0
        # fp32 noise only (the masked routing takes another kernel path): 1e-6.
        assert before <= 1e-6, f"row {row}: logits changed before the pathway's first use {t0}"
        assert (ablated.logits[row, t0] - intact.logits[row, t0]).abs().max().item() > 1e-4
    ablated_sel = next(r for r in ablated.routing if r.layer == layer).topk_indices
    assert not (ablated_sel == p).any(), "the disabled pathway was still selected"


def test_dense_only_drops_the_routers(routed_checkpoints):
    ckpt = str(routed_checkpoints["glbl"])
    dense = load_model(ckpt, dense_only=True)
    assert dense.routed_layers == []
    assert not any(k.startswith("routing.") for k in dense.state_dict())


def test_pathway_mask_excludes_disabled_pathways(routed_checkpoints):
    model = load_model(str(routed_checkpoints["aux_free"]))
    ids = random_ids(model.spec.vocab_size, (2, 16))
    enabled = torch.ones(8, dtype=torch.bool)
    enabled[[0, 5]] = False
    model.set_pathway_mask(1, enabled)
    with torch.no_grad():
        out = model(ids)
    r = out.routing[0]
    assert r.layer == 1
    assert not torch.isin(r.topk_indices, torch.tensor([0, 5])).any()
    assert r.probs[:, [0, 5]].abs().max().item() == 0.0
    with pytest.raises(ValueError, match="at least top_k=2"):
        model.set_pathway_mask(1, torch.tensor([True] + [False] * 7))


def test_strict_loading_names_the_tensor(tmp_path):
    d = tmp_path / "m"
    shutil.copytree(FIXTURE, d)
    state = safetensors.load_file(str(d / "model.safetensors"))
    state["transformer.h.0.mlp.c_fc.weight"] = state["transformer.h.0.mlp.c_fc.weight"][:10]
    write_safetensors(d / "model.safetensors", state)
    with pytest.raises(ValueError, match=r"'transformer\.h\.0\.mlp\.c_fc\.weight' has shape"):
        load_model(str(d))
    state = safetensors.load_file(os.path.join(FIXTURE, "model.safetensors"))
    state["extra.weight"] = torch.zeros(2)
    write_safetensors(d / "model.safetensors", state)
    with pytest.raises(ValueError, match="unexpected tensor 'extra.weight'"):
        load_model(str(d))
    cfg = json.loads((d / "config.json").read_text())
    cfg["activation_function"] = "relu"
    (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="activation_function 'relu' is not supported"):
        load_model(str(d))


def test_pytorch_model_bin_fixture_loads():
    a = load_model(os.path.join(REPO, "tests", "fixtures", "gptneo_tiny_bin"))
    b = load_model(FIXTURE)
    ids = random_ids(1000, (1, 8))
    with torch.no_grad():
        assert torch.allclose(a(ids).logits, b(ids).logits, atol=1e-6)


def test_safetensors_reader_rejects_bad_files(tmp_path):
    p = tmp_path / "bad.safetensors"
    p.write_bytes(b"\x05\x00")
    with pytest.raises(ValueError, match="shorter than 8 bytes"):
        safetensors.load_file(str(p))
    h = json.dumps({"x": {"dtype": "F32", "shape": [4], "data_offsets": [0, 12]}}).encode()
    p.write_bytes(struct.pack("<Q", len(h)) + h + b"\0" * 16)
    with pytest.raises(ValueError, match="tensor 'x' has data_offsets"):
        safetensors.load_file(str(p))
    h = json.dumps({"x": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]}}).encode()
    p.write_bytes(struct.pack("<Q", len(h)) + h + bytes([0x80, 0x3F, 0x00, 0xC0]))
    assert safetensors.load_file(str(p))["x"].float().tolist() == [1.0, -2.0]


# -- Hugging Face remote code ----------------------------------------------------------------

def test_routed_checkpoint_carries_the_remote_code(routed_checkpoints):
    ckpt = routed_checkpoints["glbl"]
    cfg = json.loads((ckpt / "config.json").read_text())
    assert cfg["model_type"] == "gpt_neo"
    assert cfg["auto_map"] == {
        "AutoConfig": "configuration_monoroute.MonorouteGPTNeoConfig",
        "AutoModelForCausalLM": "modeling_monoroute.MonorouteGPTNeoForCausalLM"}
    assert cfg["architectures"] == ["MonorouteGPTNeoForCausalLM"]
    for name in REMOTE_FILES:  # one implementation: byte-identical to the package's files
        with open(os.path.join(MODELING_DIR, name), "rb") as f:
            assert (ckpt / name).read_bytes() == f.read(), name


def test_dense_checkpoint_has_no_remote_code(tmp_path):
    mono = binary("monoroute")
    from conftest import tiny_job, write_stories
    spec = tmp_path / "dense.yaml"
    spec.write_text(tiny_job(write_stories(tmp_path / "t.txt", 60), tmp_path / "d", steps=1,
                             routing="enabled: false", record=False, tokenizer=True))
    r = subprocess.run([mono, "train", "--config", str(spec), "--quiet"], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    (ckpt,) = (tmp_path / "d" / "checkpoints").iterdir()
    cfg = json.loads((ckpt / "config.json").read_text())
    assert "auto_map" not in cfg and "routing" not in cfg
    assert not any((ckpt / n).exists() for n in REMOTE_FILES)


def fake_transformers(moe=True):
    """A stand-in for the few transformers names the remote code imports (transformers is not
    installable here). It checks OUR files: the class wiring, parameter names = checkpoint names,
    forward = load_model's. It does not exercise transformers' own from_pretrained loader."""
    tf = types.ModuleType("transformers")
    outputs = types.ModuleType("transformers.modeling_outputs")

    class PretrainedConfig:
        model_type = ""

        def __init__(self, **kwargs):
            for k, v in kwargs.items():
                setattr(self, k, v)

        def to_dict(self):
            d = {k: v for k, v in vars(self).items()}
            d["model_type"] = self.model_type
            return d

    class GPTNeoConfig(PretrainedConfig):
        model_type = "gpt_neo"

    class GPTNeoXConfig(PretrainedConfig):
        model_type = "gpt_neox"

    class GPT2Config(PretrainedConfig):
        model_type = "gpt2"

    class PreTrainedModel(torch.nn.Module):
        def __init__(self, config):
            super().__init__()
            self.config = config

        def post_init(self):
            self.apply(self._init_weights)

    @dataclasses.dataclass
    class MoeCausalLMOutputWithPast:  # transformers' fields (Mixtral), as a plain dataclass
        loss: object = None
        aux_loss: object = None
        logits: object = None
        past_key_values: object = None
        hidden_states: object = None
        attentions: object = None
        router_logits: object = None

    @dataclasses.dataclass
    class CausalLMOutputWithPast:
        loss: object = None
        logits: object = None
        past_key_values: object = None
        hidden_states: object = None
        attentions: object = None

    tf.PretrainedConfig, tf.GPTNeoConfig, tf.PreTrainedModel = (PretrainedConfig, GPTNeoConfig,
                                                                PreTrainedModel)
    tf.GPTNeoXConfig, tf.GPT2Config = GPTNeoXConfig, GPT2Config
    outputs.CausalLMOutputWithPast = CausalLMOutputWithPast
    if moe:
        outputs.MoeCausalLMOutputWithPast = MoeCausalLMOutputWithPast
    tf.modeling_outputs = outputs
    return {"transformers": tf, "transformers.modeling_outputs": outputs}


def import_remote_code(ckpt, tmp_path, monkeypatch, moe=True, tag="ckpt"):
    """The checkpoint's own files imported as a package, the way transformers' dynamic modules
    do, against the stand-in transformers: (modeling module, configuration module)."""
    pkg = tmp_path / f"remote_{tag}_{int(moe)}"
    pkg.mkdir()
    for name in REMOTE_FILES:
        shutil.copy(ckpt / name, pkg / name)
    (pkg / "__init__.py").write_text("")
    for name, mod in fake_transformers(moe).items():
        monkeypatch.setitem(sys.modules, name, mod)
    monkeypatch.syspath_prepend(str(tmp_path))
    return (importlib.import_module(f"{pkg.name}.modeling_monoroute"),
            importlib.import_module(f"{pkg.name}.configuration_monoroute"))


def remote_model(ckpt, tmp_path, monkeypatch, moe=True, tag="ckpt"):
    """The auto_map's model class of ``ckpt`` built from its config.json with the stand-in
    transformers, the checkpoint's tensors loaded strictly, in eval mode."""
    modeling, config_mod = import_remote_code(ckpt, tmp_path, monkeypatch, moe, tag)
    cfg_dict = json.loads((ckpt / "config.json").read_text())
    cls_cfg = getattr(config_mod, cfg_dict["auto_map"]["AutoConfig"].split(".")[1])
    cls_model = getattr(modeling, cfg_dict["auto_map"]["AutoModelForCausalLM"].split(".")[1])
    hf = cls_model(cls_cfg(**{k: v for k, v in cfg_dict.items() if k != "model_type"}))
    hf.load_state_dict(safetensors.load_file(str(ckpt / "model.safetensors")), strict=True)
    return hf.eval()


@pytest.mark.parametrize("moe", [True, False])
def test_remote_code_padded_batch_equals_unpadded_rows_and_router_logits(
        routed_checkpoints, tmp_path, monkeypatch, moe):
    ckpt = routed_checkpoints["glbl"]
    hf = remote_model(ckpt, tmp_path, monkeypatch, moe)
    rows = [random_ids(50257, (1, n), seed=n)[0] for n in (20, 13, 7)]
    width, pad = max(len(r) for r in rows), 50256
    with torch.no_grad():
        for side in ("left", "right"):
            ids = torch.full((3, width), pad)
            mask = torch.zeros(3, width, dtype=torch.long)
            for i, r in enumerate(rows):
                sl = slice(width - len(r), width) if side == "left" else slice(0, len(r))
                ids[i, sl], mask[i, sl] = r, 1
            batch = hf(input_ids=ids, attention_mask=mask, output_router_logits=True)
            for i, r in enumerate(rows):
                alone = hf(input_ids=r[None], output_router_logits=True)
                sl = slice(width - len(r), width) if side == "left" else slice(0, len(r))
                assert torch.allclose(batch.logits[i, sl], alone.logits[0], atol=1e-4), side
                for bl, al in zip(batch.router_logits, alone.router_logits):
                    assert torch.allclose(bl.view(3, width, -1)[i, sl], al, atol=1e-4), side
            assert len(batch.router_logits) == 2  # layers 0 and 2, [B*T, P] each
            assert batch.router_logits[0].shape == (3 * width, 8)
        assert hf(input_ids=rows[0][None]).router_logits is None  # off by default
        # The KV cache gives the same logits as the full forward.
        full = hf(input_ids=rows[0][None]).logits
        first = hf(input_ids=rows[0][None, :12], use_cache=True)
        rest = hf(input_ids=rows[0][None, 12:], past_key_values=first.past_key_values,
                  use_cache=True)
        assert torch.allclose(rest.logits[0], full[0, 12:], atol=1e-4)


def test_remote_code_from_the_checkpoint_equals_load_model(routed_checkpoints, tmp_path,
                                                           monkeypatch):
    ckpt = routed_checkpoints["aux_free"]
    modeling, config_mod = import_remote_code(ckpt, tmp_path, monkeypatch)
    cfg_dict = json.loads((ckpt / "config.json").read_text())
    cls_cfg = getattr(config_mod, cfg_dict["auto_map"]["AutoConfig"].split(".")[1])
    cls_model = getattr(modeling, cfg_dict["auto_map"]["AutoModelForCausalLM"].split(".")[1])
    config = cls_cfg(**{k: v for k, v in cfg_dict.items() if k != "model_type"})
    assert config.routing == cfg_dict["routing"]
    hf = cls_model(config)
    state = safetensors.load_file(str(ckpt / "model.safetensors"))
    # Parameter and buffer names are exactly the checkpoint's tensor names.
    assert set(hf.state_dict()) == set(state)
    hf.load_state_dict(state, strict=True)
    hf.eval()
    ours = load_model(str(ckpt))
    ids = random_ids(cfg_dict["vocab_size"], (2, 24), seed=3)
    with torch.no_grad():
        a = hf(input_ids=ids, labels=ids)
        b = ours(ids, labels=ids)
    assert torch.equal(a.logits, b.logits)
    assert torch.equal(a.loss, b.loss)
    with pytest.raises(ValueError, match="attention_mask"):
        hf(input_ids=ids, attention_mask=torch.ones(2, 3))


def test_remote_code_imports_only_torch_and_transformers():
    # transformers' check_imports requires every absolutely imported package to be installed;
    # relative imports must name files shipped beside config.json.
    import re
    for name in REMOTE_FILES:
        with open(os.path.join(MODELING_DIR, name), encoding="utf-8") as f:
            text = f.read()
        text = re.sub(r"\s*try\s*:.*?except.*?:", "", text, flags=re.DOTALL)
        absolute = set(re.findall(r"^\s*import\s+(\S+)\s*$", text, flags=re.MULTILINE))
        absolute |= set(re.findall(r"^\s*from\s+(\S+)\s+import", text, flags=re.MULTILINE))
        top = {m.split(".")[0] for m in absolute if not m.startswith(".")}
        assert top <= {"torch", "transformers", "typing", "dataclasses", "math"}, (name, top)
        for rel in re.findall(r"^\s*from\s+\.(\S+)\s+import", text, flags=re.MULTILINE):
            assert f"{rel}.py" in REMOTE_FILES, (name, rel)


def test_load_model_is_exported_lazily():
    assert callable(monoroute_client.load_model)
