"""The notebook API of ``load_model``'s module (``MonorouteModel``): inputs as lists and text,
``generate`` with and without the KV cache, ``run_with_cache``'s hook names, ``steer``. On a
randomly initialised routed model (no binaries needed); ``test_generate.py`` checks the same
against ``monoroute generate`` on trained checkpoints."""

import pytest

torch = pytest.importorskip("torch", reason="needs python3-torch")

from monoroute_client import Tokenizer  # noqa: E402
from monoroute_client.lm import MonorouteModel  # noqa: E402
from monoroute_client.modeling.routed_gpt_neo import ModelConfig  # noqa: E402

from conftest import TOKENIZER_DIR  # noqa: E402

PROMPT = "Once upon a time, there was a little"


@pytest.fixture(scope="module")
def model():
    cfg = {"model_type": "gpt_neo", "hidden_size": 32, "num_layers": 4, "num_heads": 4,
           "intermediate_size": 128, "max_position_embeddings": 96, "window_size": 8,
           "attention_types": [[["global", "local"], 2]],
           "routing": {"num_pathways": 8, "top_k": 2, "router_hidden": 16,
                       "route_every_n_layers": 2}}
    torch.manual_seed(0)
    m = MonorouteModel(ModelConfig.from_config(cfg), None, cfg, Tokenizer(TOKENIZER_DIR))
    with torch.no_grad():
        for p in m.parameters():
            p.normal_(0, 0.3)
    return m.eval()


def test_config_device_and_inputs(model):
    assert model.config.num_layers == 4 and model.config.routing.top_k == 2
    assert model.device == torch.device("cpu")
    ids = model.to_tokens(PROMPT)
    assert ids.shape == (1, len(model.tokenizer.encode(PROMPT)))
    assert model.to_string(ids[0]) == PROMPT
    a = model([1, 2, 3]).logits
    assert a.shape == (1, 3, 50257)
    assert torch.equal(a, model(torch.tensor([[1, 2, 3]])).logits)
    assert torch.allclose(model([[1, 2, 3], [1, 2, 3]]).logits[1], a[0], atol=1e-5)
    assert torch.equal(model(PROMPT).logits, model(ids).logits)
    with pytest.raises(ValueError, match="token ids"):
        model(torch.zeros(2, 2))


@pytest.mark.parametrize("temperature,top_k", [(0.0, 0), (0.8, 0), (1.3, 5)])
def test_generate_with_and_without_kv_cache(model, temperature, top_k):
    kw = dict(max_new_tokens=24, temperature=temperature, top_k=top_k, seed=7,
              return_logits=True)
    a = model.generate(PROMPT, use_cache=True, **kw)
    b = model.generate(PROMPT, use_cache=False, **kw)
    assert a.ids == b.ids and len(a.ids) == 24
    for x, y in zip(a.logits, b.logits):
        assert torch.allclose(x, y, atol=1e-4), (x - y).abs().max()
    assert a.text == model.tokenizer.decode(a.ids) and str(a) == a.text
    assert a.prompt_ids == model.tokenizer.encode(PROMPT)
    assert [r.layer for r in a.tokens[0].routing] == [0, 2]
    assert all(len(r.pathways) == 2 and abs(sum(r.weights) - 1) < 1e-5
               for t in a.tokens for r in t.routing)
    if temperature > 0:  # another seed, another continuation
        assert model.generate(PROMPT, **{**kw, "seed": 8}).ids != a.ids


def test_generate_rejects_too_long(model):
    with pytest.raises(ValueError, match="max_new_tokens"):
        model.generate(PROMPT, max_new_tokens=200)


def test_run_with_cache_hook_names_and_consistency(model):
    out, cache = model.run_with_cache(PROMPT)
    t = out.logits.shape[1]
    for layer in (0, 2):
        pre = f"blocks.{layer}.mlp."
        assert cache[pre + "hook_route_logits"].shape == (1, t, 8)
        w = cache[pre + "hook_route_weights"]
        assert torch.allclose(w.sum(-1), torch.ones(1, t), atol=1e-5)
        idx, top = cache.routing(layer)
        info = out.routing[[0, 2].index(layer)]
        assert torch.equal(idx.reshape(-1, 2), info.topk_indices)
        assert torch.allclose(top.reshape(-1, 2), info.topk_weights)
        po = cache[pre + "hook_pathway_out"]
        assert po.shape == (1, t, 8, 32)
        bias = model.transformer.h[layer].mlp.c_proj.bias
        assert torch.allclose(po.sum(2) + bias, cache[f"blocks.{layer}.hook_mlp_out"], atol=1e-5)
        unused = (w == 0).unsqueeze(-1).expand_as(po)
        assert bool((po[unused] == 0).all())
    for layer in range(3):
        assert torch.equal(cache[f"blocks.{layer}.hook_resid_post"],
                           cache[f"blocks.{layer + 1}.hook_resid_pre"])
    assert torch.equal(cache["ln_final.hook_normalized"], out.final_norm)
    assert "blocks.1.mlp.hook_route_logits" not in cache  # layer 1 is dense
    _, only = model.run_with_cache(PROMPT, names_filter=lambda n: n.endswith("route_logits"))
    assert sorted(only) == ["blocks.0.mlp.hook_route_logits", "blocks.2.mlp.hook_route_logits"]


def test_steer_ablate_and_scale(model):
    ids = model.to_tokens(PROMPT)
    out, cache = model.run_with_cache(ids)
    used = cache["blocks.0.mlp.hook_route_indices"][0]
    p = int(used[-1, 0])
    with model.steer(ablate=[(0, p)]):
        steered = model(ids)
        assert not bool((steered.routing[0].topk_indices == p).any())
        g = model.generate(PROMPT, max_new_tokens=5)
        assert all(p not in t.routing[0].pathways for t in g.tokens)
    assert torch.equal(model(ids).logits, out.logits)  # restored on exit
    # Scaling pathway p of layer 0 by x changes that layer's MLP output by exactly
    # (x - 1) * p's contribution: nothing else moves at the layer.
    with model.steer(scale={(0, p): 3.0}):
        _, scaled = model.run_with_cache(ids)
    delta = scaled["blocks.0.hook_mlp_out"] - cache["blocks.0.hook_mlp_out"]
    assert torch.allclose(delta, 2.0 * cache["blocks.0.mlp.hook_pathway_out"][:, :, p],
                          atol=1e-5)
    assert torch.equal(scaled["blocks.0.mlp.hook_route_indices"],
                       cache["blocks.0.mlp.hook_route_indices"])
    with model.steer(scale=[(0, p, 1.0)]):
        assert torch.allclose(model(ids).logits, out.logits, atol=1e-6)
    with pytest.raises(ValueError, match="layer 1 is not routed"):
        with model.steer(ablate=[(1, 0)]):
            pass
    with pytest.raises(ValueError, match="pathway 8"):
        with model.steer(scale={(0, 8): 2.0}):
            pass
    assert model.router(0).disabled is None and model.router(0).pathway_scale is None
