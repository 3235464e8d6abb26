"""``load_model``: a monoroute / Hugging Face checkpoint directory (GPT-Neo, GPT-NeoX / Pythia,
GPT-2) as a torch module.

Reads ``config.json`` (+ its ``routing`` section) and ``model.safetensors`` (else
``pytorch_model.bin``) and returns ``MonorouteModel`` (``monoroute_client.lm``: ``MonorouteGPTNeo`` plus a notebook API), whose
logits equal ``monoroute forward``'s. Loading is strict like the C++ loader: unexpected tensors,
missing tensors and shape mismatches are ValueErrors naming the tensor (a tied ``lm_head.weight``
and HF's attention mask buffers are accepted and ignored). Thread-safe (no shared state).
"""

import json
import os
from typing import Any, Dict, Optional

import torch

from monoroute_client import safetensors
from monoroute_client.lm import MonorouteModel
from monoroute_client.modeling.routed_gpt_neo import ModelConfig, MonorouteGPTNeo
from monoroute_client.tokenizer import Tokenizer

# Buffers of older HF checkpoints that hold no weights (GPT-Neo "attn.attention.*", GPT-2
# "attn.*", GPT-NeoX "attention.*"); no parameter of any family ends so.
_IGNORED_SUFFIXES = (".attn.attention.bias", ".attn.attention.masked_bias", ".attn.bias",
                     ".attn.masked_bias", ".attention.bias", ".attention.masked_bias",
                     ".attention.rotary_emb.inv_freq")


def _with_gpt2_prefix(state: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """GPT-2 uploads without the ``transformer.`` prefix (the original ``gpt2``: ``h.0.attn.*``,
    ``wte.weight``) renamed to the prefixed names; prefixed state dicts unchanged."""
    if any(k.startswith("transformer.") for k in state):
        return state
    return {(k if k.startswith(("routing.", "lm_head.")) else "transformer." + k): v
            for k, v in state.items()}


def read_config(checkpoint_dir: str) -> Dict[str, Any]:
    """The parsed ``config.json`` of a checkpoint directory."""
    path = os.path.join(checkpoint_dir, "config.json")
    with open(path, encoding="utf-8") as f:
        try:
            return json.load(f)
        except ValueError as e:
            raise ValueError(f"{path}: invalid JSON ({e})") from None


def read_state_dict(checkpoint_dir: str) -> Dict[str, torch.Tensor]:
    """The tensors of ``model.safetensors`` (preferred) or ``pytorch_model.bin``."""
    st = os.path.join(checkpoint_dir, "model.safetensors")
    if os.path.exists(st):
        return safetensors.load_file(st)
    bin_path = os.path.join(checkpoint_dir, "pytorch_model.bin")
    if os.path.exists(bin_path):
        return torch.load(bin_path, map_location="cpu", weights_only=True)
    raise FileNotFoundError(f"{checkpoint_dir}: neither model.safetensors nor pytorch_model.bin")


def load_state(model: MonorouteGPTNeo, state: Dict[str, torch.Tensor], source: str) -> None:
    """Copies a checkpoint state dict into ``model`` (strict; errors name the tensor)."""
    expected = model.state_dict()
    for name, tensor in state.items():
        if name in expected or name.endswith(_IGNORED_SUFFIXES):
            continue
        if name == "lm_head.weight" and model.spec.tie_word_embeddings:
            wte = expected["transformer.wte.weight"]
            if tuple(tensor.shape) != tuple(wte.shape):
                raise ValueError(f"{source}: tensor 'lm_head.weight' has shape "
                                 f"{list(tensor.shape)}, expected {list(wte.shape)} (tied to "
                                 "transformer.wte.weight)")
            continue
        raise ValueError(f"{source}: unexpected tensor {name!r} (not a {model.spec.family} "
                         "checkpoint of this config)")
    for name, target in expected.items():
        if name not in state:
            raise ValueError(f"{source}: tensor {name!r} is missing")
        if tuple(state[name].shape) != tuple(target.shape):
            raise ValueError(f"{source}: tensor {name!r} has shape {list(state[name].shape)}, "
                             f"expected {list(target.shape)}")
        if not state[name].is_floating_point():
            raise ValueError(f"{source}: tensor {name!r} is not floating point")
    with torch.no_grad():
        for name, target in expected.items():
            target.copy_(state[name].to(target.dtype))


def load_model(checkpoint_dir: str, *, dense_only: bool = False,
               device: Optional[Any] = None,
               dtype: torch.dtype = torch.float32) -> MonorouteModel:
    """Loads ``checkpoint_dir`` as a ``MonorouteModel`` (a ``MonorouteGPTNeo`` with
    ``config``, ``device``, ``tokenizer``, ``to_tokens``, ``generate``, ``run_with_cache``,
    ``steer``) in eval mode. The tokenizer is the directory's (tokenizer.json, else vocab.json +
    merges.txt; None when it has neither).

    Args:
        checkpoint_dir: a monoroute checkpoint (``<output_dir>/checkpoints/step-N``) or an HF
            GPT-Neo, GPT-NeoX or GPT-2 directory (config.json + model.safetensors /
            pytorch_model.bin; GPT-2 with or without the ``transformer.`` prefix).
        dense_only: ignore the checkpoint's routing (the dense model; router tensors dropped).
        device: where to put the model (default CPU).
        dtype: parameter dtype (fp32 matches ``monoroute forward``).
    Raises:
        FileNotFoundError: no config.json / weights.
        ValueError: unsupported config (names the field) or a tensor mismatch (names it).
    """
    cfg = read_config(checkpoint_dir)
    if dense_only:
        cfg = {k: v for k, v in cfg.items() if k != "routing"}
    spec = ModelConfig.from_config(cfg, os.path.join(checkpoint_dir, "config.json"))
    state = read_state_dict(checkpoint_dir)
    if spec.family == "gpt2":
        state = _with_gpt2_prefix(state)
    if dense_only:
        state = {k: v for k, v in state.items() if not k.startswith("routing.layers.")}
    try:
        tokenizer: Optional[Tokenizer] = Tokenizer(checkpoint_dir)
    except FileNotFoundError:
        tokenizer = None
    model = MonorouteModel(spec, checkpoint_dir, cfg, tokenizer)
    load_state(model, state, checkpoint_dir)
    model.to(device=device or "cpu", dtype=dtype)
    return model.eval()
