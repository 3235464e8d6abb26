# monoroute: GPT-Neo, GPT-NeoX (Pythia) and GPT-2 with pathway-routed MLPs in plain PyTorch (no
# transformers needed). The file keeps its historical name.
#
# ONE implementation for two users: monoroute_client.load_model() and the Hugging Face remote
# code that monoroute writes into every routed checkpoint (modeling_monoroute.py imports this
# file, which is copied beside it with family_layers.py). It mirrors monoroute's C++ model
# (common/model/causal_lm.cc, attention.cc, routed_mlp.cc, pathway_router.cc,
# routing_config.cc; docs/model.md), which follows Hugging Face's modeling code per family:
#   - GPT-Neo: learned positions; global or local causal attention; NO 1/sqrt(d) scaling;
#     gelu_new; LM head tied to transformer.wte.
#   - GPT-NeoX: rotary (rotary_pct, rotary_emb_base); parallel residual on or off; gelu (exact)
#     by default; untied embed_out (the vocabulary may be padded beyond the tokenizer).
#   - GPT-2: learned positions; Conv1D weights [in, out]; c_attn = [Q | K | V]; gelu_new; tied.
#   (attention of each family: family_layers.py)
#   - routed layer (routing.layers, or every route_every_n_layers-th from 0): the router
#     hidden -> router_hidden -> P (activation relu | gelu_new | silu), probs = softmax(scores /
#     temperature), top-k (aux_free balancing: chosen on probs + selection_bias, weights still the
#     unbiased probs), weights renormalised over the k; the MLP's I neurons are P contiguous
#     slices and y = down.bias + sum over the k selected p of w_p * k * down_p(act(up_p x)).
# Parameter names are the checkpoint's (Hugging Face's names of the family), routers as
# routing.layers.{i}.router.{0,2}.{weight,bias} and routing.layers.{i}.router.selection_bias.
# Extras over the C++ forward (same numbers when unused): a KV cache (past_key_values), a key
# padding mask with mask-derived positions (left padding), per-pathway output scales (steering),
# router logits, and a TransformerLens-style activation cache (`cache`, hook names below).
# Depends on torch only. Modules are not thread-safe (one forward at a time per module).
"""Routed causal LMs (monoroute) in PyTorch: ``ModelConfig``, ``MonorouteGPTNeo`` (any family)."""

import dataclasses
import math
from typing import Any, Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from .family_layers import (Conv1D, GPT2Attention, GPTNeoSelfAttention, GPTNeoXAttention,
                            linear_weight_out_in)

BALANCING_METHODS = ("glbl", "switch", "aux_free", "none")
ROUTER_ACTIVATIONS = ("relu", "gelu_new", "silu")


@dataclasses.dataclass
class RoutingConfig:
    """The ``routing`` section of config.json (defaults as the C++ model::RoutingConfig)."""
    num_pathways: int = 16
    top_k: int = 4
    router_hidden: int = 128
    route_every_n_layers: int = 2
    layers: List[int] = dataclasses.field(default_factory=list)
    router_activation: str = "relu"
    temperature: float = 1.0
    balancing_method: str = "glbl"

    def routed_layers(self, num_layers: int) -> List[int]:
        """Explicit ``layers`` (sorted) if given, else 0, n, 2n, ... below num_layers."""
        if self.layers:
            return sorted(self.layers)
        return list(range(0, num_layers, self.route_every_n_layers))

    @property
    def uses_selection_bias(self) -> bool:
        """Aux-loss-free balancing chooses the top-k on probs + selection_bias."""
        return self.balancing_method == "aux_free"


FAMILIES = ("gpt_neo", "gpt_neox", "gpt2")


@dataclasses.dataclass
class ModelConfig:
    """What the model needs from config.json (any family's fields + optional routing)."""
    vocab_size: int
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    window_size: int
    max_position_embeddings: int
    layer_norm_epsilon: float
    attention_layers: List[str]
    routing: Optional[RoutingConfig] = None
    family: str = "gpt_neo"              # config.json's model_type
    activation: str = "gelu_new"         # MLP activation: gelu_new | gelu (exact erf form)
    rotary_pct: float = 0.25             # GPT-NeoX: fraction of each head's dims rotated
    rotary_emb_base: float = 10000.0     # GPT-NeoX: rotary base
    use_parallel_residual: bool = True   # GPT-NeoX: x + attn(ln1 x) + mlp(ln2 x)
    attention_bias: bool = True          # GPT-NeoX: bias on query_key_value and dense

    @property
    def tie_word_embeddings(self) -> bool:
        """GPT-Neo and GPT-2 tie the LM head to the token embedding; GPT-NeoX has embed_out."""
        return self.family != "gpt_neox"

    @staticmethod
    def from_config(cfg: Dict[str, Any], source: str = "config.json") -> "ModelConfig":
        """Parses and validates a config.json object; ValueError names the field at fault."""
        def bad(msg: str) -> ValueError:
            return ValueError(f"{source}: {msg}")

        family = cfg.get("model_type")
        if family not in FAMILIES:
            raise bad(f"model_type {family!r} is not supported (expected one of "
                      f"{', '.join(repr(f) for f in FAMILIES)})")
        tie = cfg.get("tie_word_embeddings", family != "gpt_neox")
        if bool(tie) != (family != "gpt_neox"):
            raise bad(f"tie_word_embeddings {str(bool(tie)).lower()} is not supported for "
                      f"{family}")

        def get_int(key: str, default: Optional[int] = None) -> int:
            v = cfg.get(key, default)
            if v is None:
                v = default
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise bad(f"{key} must be a positive integer, got {v!r}")
            return v

        spec = {"gpt_neo": _parse_gpt_neo, "gpt_neox": _parse_gpt_neox,
                "gpt2": _parse_gpt2}[family](cfg, get_int, bad)
        if spec.hidden_size % spec.num_heads:
            raise bad(f"hidden_size {spec.hidden_size} is not divisible by the number of heads "
                      f"{spec.num_heads}")
        routing = cfg.get("routing")
        if routing is not None:
            spec.routing = _parse_routing(routing, spec, bad)
        return spec


def _activation(cfg: Dict[str, Any], key: str, default: str, allowed: Tuple[str, ...],
                bad: Any) -> str:
    act = cfg.get(key) or default
    if act not in allowed:
        raise bad(f"{key} {act!r} is not supported")
    return act


def _parse_gpt_neo(cfg: Dict[str, Any], get_int: Any, bad: Any) -> ModelConfig:
    act = _activation(cfg, "activation_function", "gelu_new", ("gelu_new",), bad)
    hidden = get_int("hidden_size", 64)
    num_layers = get_int("num_layers", 8)
    layers: List[str] = []
    for item in cfg.get("attention_types") or []:
        kinds, repeat = item
        for _ in range(repeat):
            layers.extend(kinds)
    explicit = cfg.get("attention_layers")
    if explicit:
        if layers and list(explicit) != layers:
            raise bad("attention_layers disagrees with attention_types")
        layers = list(explicit)
    if not layers:
        layers = ["global"] * num_layers
    if len(layers) != num_layers or any(k not in ("global", "local") for k in layers):
        raise bad(f"attention_layers {layers} does not give num_layers={num_layers} "
                  "entries of 'global' / 'local'")
    return ModelConfig(
        vocab_size=get_int("vocab_size", 50257), hidden_size=hidden, num_layers=num_layers,
        num_heads=get_int("num_heads", 16),
        intermediate_size=get_int("intermediate_size", 4 * hidden),
        window_size=get_int("window_size", 256),
        max_position_embeddings=get_int("max_position_embeddings", 2048),
        layer_norm_epsilon=float(cfg.get("layer_norm_epsilon") or 1e-5),
        attention_layers=layers, family="gpt_neo", activation=act)


def _first(cfg: Dict[str, Any], keys: Tuple[str, ...], default: Any) -> Any:
    for key in keys:
        if cfg.get(key) is not None:
            return cfg[key]
    return default


def _parse_gpt_neox(cfg: Dict[str, Any], get_int: Any, bad: Any) -> ModelConfig:
    """HF GPTNeoXConfig keys (defaults as its __init__); rope_scaling must be null."""
    if cfg.get("rope_scaling") is not None:
        raise bad("rope_scaling is not supported")
    act = _activation(cfg, "hidden_act", "gelu", ("gelu", "gelu_new"), bad)
    num_layers = get_int("num_hidden_layers")
    positions = get_int("max_position_embeddings")
    spec = ModelConfig(
        vocab_size=get_int("vocab_size"), hidden_size=get_int("hidden_size"),
        num_layers=num_layers, num_heads=get_int("num_attention_heads"),
        intermediate_size=get_int("intermediate_size"), window_size=positions,
        max_position_embeddings=positions,
        layer_norm_epsilon=float(cfg.get("layer_norm_eps") or 1e-5),
        attention_layers=["global"] * num_layers, family="gpt_neox", activation=act,
        rotary_pct=float(_first(cfg, ("rotary_pct", "partial_rotary_factor"), 0.25)),
        rotary_emb_base=float(_first(cfg, ("rotary_emb_base", "rope_theta"), 10000.0)),
        use_parallel_residual=bool(cfg.get("use_parallel_residual", True)),
        attention_bias=bool(cfg.get("attention_bias", True)))
    head = spec.hidden_size // spec.num_heads
    if not 0.0 <= spec.rotary_pct <= 1.0 or int(head * spec.rotary_pct) % 2:
        raise bad(f"rotary_pct {spec.rotary_pct} gives {int(head * spec.rotary_pct)} rotary "
                  "dims per head; must be in [0, 1] and give an even count")
    if not spec.rotary_emb_base > 0:
        raise bad("rotary_emb_base must be positive")
    return spec


def _parse_gpt2(cfg: Dict[str, Any], get_int: Any, bad: Any) -> ModelConfig:
    """HF GPT2Config keys; scale_attn_weights must be true, scale_attn_by_inverse_layer_idx
    and reorder_and_upcast_attn false (the options monoroute implements)."""
    if cfg.get("scale_attn_weights", True) is not True:
        raise bad("scale_attn_weights false is not supported")
    for key in ("scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn"):
        if cfg.get(key):
            raise bad(f"{key} true is not supported")
    act = _activation(cfg, "activation_function", "gelu_new", ("gelu_new", "gelu"), bad)
    hidden = get_int("n_embd")
    num_layers = get_int("n_layer")
    positions = get_int("n_positions")
    return ModelConfig(
        vocab_size=get_int("vocab_size"), hidden_size=hidden, num_layers=num_layers,
        num_heads=get_int("n_head"), intermediate_size=get_int("n_inner", 4 * hidden),
        window_size=positions, max_position_embeddings=positions,
        layer_norm_epsilon=float(cfg.get("layer_norm_epsilon") or 1e-5),
        attention_layers=["global"] * num_layers, family="gpt2", activation=act)


def _parse_routing(r: Any, spec: ModelConfig, bad: Any) -> RoutingConfig:
    if not isinstance(r, dict):
        raise bad("routing must be an object")
    out = RoutingConfig()
    for key, value in r.items():
        if key == "balancing":
            if not isinstance(value, dict):
                raise bad("routing.balancing must be an object")
            method = value.get("method", "glbl")
            if method not in BALANCING_METHODS:
                raise bad(f"routing.balancing.method {method!r} is not supported")
            out.balancing_method = method
        elif key in ("num_pathways", "top_k", "router_hidden", "route_every_n_layers"):
            if not isinstance(value, int) or isinstance(value, bool):
                raise bad(f"routing.{key} must be an integer")
            setattr(out, key, value)
        elif key == "layers":
            out.layers = [int(x) for x in value]
        elif key == "router_activation":
            out.router_activation = value
        elif key == "temperature":
            out.temperature = float(value)
        else:
            raise bad(f"unknown key routing.{key}")
    p, k = out.num_pathways, out.top_k
    if p <= 0 or not 1 <= k <= p:
        raise bad(f"routing: top_k {k} must be in [1, num_pathways={p}]")
    if out.router_hidden <= 0:
        raise bad("routing.router_hidden must be positive")
    if spec.intermediate_size % p:
        raise bad(f"routing: intermediate_size {spec.intermediate_size} is not divisible by "
                  f"num_pathways {p}")
    if not out.layers and out.route_every_n_layers <= 0:
        raise bad("routing.route_every_n_layers must be positive")
    if any(not 0 <= x < spec.num_layers for x in out.layers) or len(set(out.layers)) != len(
            out.layers):
        raise bad(f"routing.layers {out.layers} has an entry out of [0, {spec.num_layers}) or a "
                  "repeat")
    if out.router_activation not in ROUTER_ACTIVATIONS:
        raise bad(f"routing.router_activation {out.router_activation!r} is not supported")
    if not out.temperature > 0:
        raise bad("routing.temperature must be positive")
    return out


def gelu_new(x: torch.Tensor) -> torch.Tensor:
    """GPT-2's tanh-approximated GELU."""
    return F.gelu(x, approximate="tanh")


@dataclasses.dataclass
class RoutingInfo:
    """Routing of one routed layer over the N = B*T tokens of a forward."""
    layer: int
    probs: torch.Tensor          # [N, P] fp32
    topk_indices: torch.Tensor   # [N, k] int64, descending (biased) score
    topk_weights: torch.Tensor   # [N, k] fp32, sum 1 over k (before any pathway scale)
    logits: Optional[torch.Tensor] = None  # [N, P] fp32 softmax input (scores / temperature)


#: Per layer, the (key, value) tensors [B, heads, S, head_dim] of the S positions seen so far.
PastKeyValues = List[Tuple[torch.Tensor, torch.Tensor]]


@dataclasses.dataclass
class MonorouteOutput:
    """Result of MonorouteGPTNeo.forward."""
    logits: torch.Tensor                 # [B, T, V] fp32
    final_norm: torch.Tensor             # ln_f output [B, T, H]
    routing: List[RoutingInfo]           # one per routed layer, ascending
    loss: Optional[torch.Tensor] = None  # causal-LM loss when labels were given
    past_key_values: Optional[PastKeyValues] = None  # with use_cache: every layer's keys/values


# TransformerLens-style names filled into ``cache`` (a dict) by the forward, [B, T, ...]:
#   hook_embed, hook_pos_embed, blocks.{L}.hook_resid_pre, blocks.{L}.hook_attn_out,
#   blocks.{L}.hook_resid_mid, blocks.{L}.hook_mlp_out, blocks.{L}.hook_resid_post,
#   ln_final.hook_normalized; routed layers also blocks.{L}.mlp.hook_route_logits [.., P]
#   (softmax input), hook_route_probs [.., P], hook_route_indices [.., k],
#   hook_route_weights [.., P] (applied weights, 0 where not selected, pathway scales included),
#   hook_pathway_out [.., P, H] (each pathway's contribution to the MLP output, c_proj bias
#   excluded: hook_mlp_out = sum over P + c_proj.bias). GPT-NeoX has no hook_pos_embed
#   (rotary); with its parallel residual hook_resid_mid = resid_pre + attn_out and
#   hook_resid_post = hook_resid_mid + hook_mlp_out as for the other families.
HOOK_NAMES = ("hook_embed", "hook_pos_embed", "hook_resid_pre", "hook_attn_out", "hook_resid_mid",
              "hook_mlp_out", "hook_resid_post", "hook_normalized", "hook_route_logits",
              "hook_route_probs", "hook_route_indices", "hook_route_weights", "hook_pathway_out")


def activation_fn(name: str) -> Any:
    """The MLP activation: gelu_new (tanh form) or gelu (exact erf form, GPT-NeoX's)."""
    return F.gelu if name == "gelu" else gelu_new


class AttentionHolder(nn.Module):
    """GPT-Neo's "attn" container of a block (HF nests the attention one level deeper)."""

    def __init__(self, spec: ModelConfig, local: bool):
        super().__init__()
        self.attention = GPTNeoSelfAttention(spec.hidden_size, spec.num_heads,
                                             spec.window_size if local else 0)


#: The MLP's (up, down) projection names per family.
MLP_NAMES = {"gpt_neo": ("c_fc", "c_proj"), "gpt2": ("c_fc", "c_proj"),
             "gpt_neox": ("dense_h_to_4h", "dense_4h_to_h")}


class MLP(nn.Module):
    """The family's MLP weights (GPT-Neo c_fc / c_proj, GPT-2 the same as Conv1D, GPT-NeoX
    dense_h_to_4h / dense_4h_to_h); dense or routed depending on ``router``."""

    def __init__(self, spec: ModelConfig):
        super().__init__()
        layer = Conv1D if spec.family == "gpt2" else nn.Linear
        self.up_name, self.down_name = MLP_NAMES[spec.family]
        self.add_module(self.up_name, layer(spec.hidden_size, spec.intermediate_size))
        self.add_module(self.down_name, layer(spec.intermediate_size, spec.hidden_size))
        self.act = activation_fn(spec.activation)

    @property
    def up(self) -> nn.Module:
        """The up projection (hidden -> intermediate)."""
        return getattr(self, self.up_name)

    @property
    def down(self) -> nn.Module:
        """The down projection (intermediate -> hidden)."""
        return getattr(self, self.down_name)

    def forward(self, x: torch.Tensor, router: Optional["PathwayRouter"] = None,
                layer: int = -1, cache: Optional[Dict[str, torch.Tensor]] = None
                ) -> Tuple[torch.Tensor, Optional[RoutingInfo]]:
        if router is None:
            return self.down(self.act(self.up(x))), None
        info = router(x, layer)
        x2 = x.reshape(-1, x.shape[-1])
        n, p, k = x2.shape[0], router.num_pathways, info.topk_indices.shape[1]
        hid = self.act(self.up(x2))  # [N, I]
        w = info.topk_weights
        if router.pathway_scale is not None:  # steering: scale each pathway's output
            w = w * router.pathway_scale.to(w).gather(0, info.topk_indices.reshape(-1)).view(
                info.topk_indices.shape)
        gate = torch.zeros(n, p, dtype=w.dtype, device=x.device).scatter(
            1, info.topk_indices, w * float(k))  # gate scale k
        hid = (hid.view(n, p, -1) * gate.to(hid.dtype).unsqueeze(-1)).view(n, -1)
        if cache is not None:
            pre = f"blocks.{layer}.mlp."
            lead = x.shape[:-1]
            cache[pre + "hook_route_logits"] = info.logits.view(lead + (p,))
            cache[pre + "hook_route_probs"] = info.probs.view(lead + (p,))
            cache[pre + "hook_route_indices"] = info.topk_indices.view(lead + (k,))
            cache[pre + "hook_route_weights"] = (gate / float(k)).view(lead + (p,))
            down = linear_weight_out_in(self.down)
            wp = down.reshape(down.shape[0], p, -1)  # [H, P, I/P]
            cache[pre + "hook_pathway_out"] = torch.einsum(
                "nps,hps->nph", hid.view(n, p, -1), wp).reshape(lead + (p, -1))
        return self.down(hid).view(x.shape[:-1] + (-1,)), info


class PathwayRouter(nn.Module):
    """hidden -> router_hidden ("0") -> activation -> P ("2"); softmax(/temperature); top-k.

    ``selection_bias`` [P] (aux-free balancing) shifts the top-k choice only. A pathway mask
    (``set_pathway_mask``) gives disabled pathways probability 0 and excludes them from the
    choice even after the selection bias.
    """

    def __init__(self, hidden: int, routing: RoutingConfig):
        super().__init__()
        self.num_pathways = routing.num_pathways
        self.top_k = routing.top_k
        self.activation = routing.router_activation
        self.temperature = routing.temperature
        self.use_selection_bias = routing.uses_selection_bias
        self.add_module("0", nn.Linear(hidden, routing.router_hidden))
        self.add_module("2", nn.Linear(routing.router_hidden, routing.num_pathways))
        self.register_buffer("selection_bias", torch.zeros(routing.num_pathways))
        self.disabled: Optional[torch.Tensor] = None
        # fp32 [P] multiplier of each selected pathway's weight (steering); None: all 1.
        self.pathway_scale: Optional[torch.Tensor] = None

    def set_pathway_scale(self, scale: Optional[Any]) -> None:
        """Multiplies each pathway's output by ``scale[p]`` when selected (float [P]; None:
        1). Routing (which pathways, their renormalised weights) is unchanged."""
        if scale is None:
            self.pathway_scale = None
            return
        scale = torch.as_tensor(scale, dtype=torch.float32)
        if scale.shape != (self.num_pathways,) or not bool(torch.isfinite(scale).all()):
            raise ValueError(f"pathway scale must be finite float [{self.num_pathways}]")
        self.pathway_scale = scale

    def set_pathway_mask(self, enabled: Optional[torch.Tensor]) -> None:
        """bool [P] (True = enabled; at least top_k), or None to enable all."""
        if enabled is None:
            self.disabled = None
            return
        enabled = torch.as_tensor(enabled, dtype=torch.bool)
        if enabled.shape != (self.num_pathways,) or int(enabled.sum()) < self.top_k:
            raise ValueError(f"pathway mask must be bool [{self.num_pathways}] with at least "
                             f"top_k={self.top_k} enabled")
        self.disabled = ~enabled

    def forward(self, x: torch.Tensor, layer: int = -1) -> RoutingInfo:
        x2 = x.reshape(-1, x.shape[-1])
        fc1, fc2 = getattr(self, "0"), getattr(self, "2")
        hid = fc1(x2.to(fc1.weight.dtype))
        if self.activation == "relu":
            hid = torch.relu(hid)
        elif self.activation == "silu":
            hid = F.silu(hid)
        else:
            hid = gelu_new(hid)
        scores = fc2(hid).float()
        if self.temperature != 1.0:
            scores = scores / self.temperature
        disabled = None if self.disabled is None else self.disabled.to(scores.device)
        if disabled is not None:
            scores = scores.masked_fill(disabled, -math.inf)
        logits = scores
        probs = torch.softmax(scores, dim=-1)
        if self.use_selection_bias or disabled is not None:
            choice = probs.detach()
            if self.use_selection_bias:
                choice = choice + self.selection_bias.to(choice)
            if disabled is not None:
                choice = choice.masked_fill(disabled, -math.inf)
            idx = choice.topk(self.top_k, dim=-1).indices
            top = probs.gather(-1, idx)
        else:
            top, idx = probs.topk(self.top_k, dim=-1)
        return RoutingInfo(layer=layer, probs=probs, topk_indices=idx,
                           topk_weights=top / top.sum(-1, keepdim=True), logits=logits)


class RouterHolder(nn.Module):
    """``routing.layers.{i}``: holds that layer's ``router``."""

    def __init__(self, hidden: int, routing: RoutingConfig):
        super().__init__()
        self.router = PathwayRouter(hidden, routing)


#: A block's (first LayerNorm, attention, second LayerNorm) module names per family.
BLOCK_NAMES = {"gpt_neo": ("ln_1", "attn", "ln_2"), "gpt2": ("ln_1", "attn", "ln_2"),
               "gpt_neox": ("input_layernorm", "attention", "post_attention_layernorm")}


def _make_attention(spec: ModelConfig, layer: int) -> nn.Module:
    if spec.family == "gpt_neox":
        return GPTNeoXAttention(spec.hidden_size, spec.num_heads, spec.rotary_pct,
                                spec.rotary_emb_base, spec.attention_bias)
    if spec.family == "gpt2":
        return GPT2Attention(spec.hidden_size, spec.num_heads)
    return AttentionHolder(spec, spec.attention_layers[layer] == "local")


class Block(nn.Module):
    """One transformer block: x + attn(ln1 x), then + mlp(ln2 .); GPT-NeoX with
    use_parallel_residual: x + attn(ln1 x) + mlp(ln2 x). Modules under the family's HF names."""

    def __init__(self, spec: ModelConfig, layer: int):
        super().__init__()
        h, eps = spec.hidden_size, spec.layer_norm_epsilon
        self.layer = layer
        self.parallel = spec.family == "gpt_neox" and spec.use_parallel_residual
        self.names = BLOCK_NAMES[spec.family]
        self.add_module(self.names[0], nn.LayerNorm(h, eps=eps))
        self.add_module(self.names[1], _make_attention(spec, layer))
        self.add_module(self.names[2], nn.LayerNorm(h, eps=eps))
        self.mlp = MLP(spec)

    def _attention(self) -> nn.Module:
        attn = getattr(self, self.names[1])
        return attn.attention if isinstance(attn, AttentionHolder) else attn

    def forward(self, x: torch.Tensor, router: Optional[PathwayRouter],
                past: Optional[Tuple[torch.Tensor, torch.Tensor]] = None,
                key_valid: Optional[torch.Tensor] = None,
                cache: Optional[Dict[str, torch.Tensor]] = None,
                positions: Optional[torch.Tensor] = None
                ) -> Tuple[torch.Tensor, Optional[RoutingInfo], Tuple[torch.Tensor, torch.Tensor]]:
        ln1, ln2 = getattr(self, self.names[0]), getattr(self, self.names[2])
        a, present = self._attention()(ln1(x), positions, past, key_valid)
        mid = x + a
        m, info = self.mlp(ln2(x if self.parallel else mid), router, self.layer, cache)
        out = (m + a + x) if self.parallel else (mid + m)
        if cache is not None:
            pre = f"blocks.{self.layer}."
            cache.update({pre + "hook_resid_pre": x, pre + "hook_attn_out": a,
                          pre + "hook_resid_mid": mid, pre + "hook_mlp_out": m,
                          pre + "hook_resid_post": out})
        return out, info, present


#: The backbone's (token embedding, blocks, final LayerNorm) names per family; GPT-Neo and
#: GPT-2 also have learned positions "wpe".
BACKBONE_NAMES = {"gpt_neo": ("wte", "h", "ln_f"), "gpt2": ("wte", "h", "ln_f"),
                  "gpt_neox": ("embed_in", "layers", "final_layer_norm")}
#: The attribute of the causal LM that holds the backbone (HF's base_model_prefix).
BACKBONE_PREFIX = {"gpt_neo": "transformer", "gpt2": "transformer", "gpt_neox": "gpt_neox"}


class Transformer(nn.Module):
    """The backbone under the family's Hugging Face names: ``transformer`` = wte, wpe, h[], ln_f
    (GPT-Neo, GPT-2) or ``gpt_neox`` = embed_in, layers[], final_layer_norm (no positions:
    rotary)."""

    def __init__(self, spec: ModelConfig):
        super().__init__()
        emb, blocks, norm = BACKBONE_NAMES[spec.family]
        self.names = (emb, blocks, norm)
        self.add_module(emb, nn.Embedding(spec.vocab_size, spec.hidden_size))
        if spec.family != "gpt_neox":
            self.wpe = nn.Embedding(spec.max_position_embeddings, spec.hidden_size)
        self.add_module(blocks, nn.ModuleList([Block(spec, i) for i in range(spec.num_layers)]))
        self.add_module(norm, nn.LayerNorm(spec.hidden_size, eps=spec.layer_norm_epsilon))

    @property
    def tok_emb(self) -> nn.Embedding:
        """The token embedding (wte / embed_in)."""
        return getattr(self, self.names[0])

    @property
    def blocks(self) -> nn.ModuleList:
        """The blocks (h / layers)."""
        return getattr(self, self.names[1])

    @property
    def final_norm(self) -> nn.LayerNorm:
        """The final LayerNorm (ln_f / final_layer_norm)."""
        return getattr(self, self.names[2])


class Routing(nn.Module):
    """``routing``: ``layers`` = {"<layer>": RouterHolder} of the routed layers (empty: dense)."""

    def __init__(self, spec: ModelConfig):
        super().__init__()
        self.layers = nn.ModuleDict()
        if spec.routing is not None:
            for i in spec.routing.routed_layers(spec.num_layers):
                self.layers[str(i)] = RouterHolder(spec.hidden_size, spec.routing)


def _positions(t: int, past_len: int, attention_mask: Optional[torch.Tensor],
               device: torch.device) -> torch.Tensor:
    """Position ids [B or 1, T] of the T new tokens: past_len + arange(T), or with a padding
    mask [B, past_len + T] the count of real tokens before each one (left padding)."""
    if attention_mask is None:
        return torch.arange(past_len, past_len + t, device=device).unsqueeze(0)
    pos = attention_mask.to(device, torch.long).cumsum(-1) - 1
    return pos.clamp_min(0)[:, -t:]


def causal_lm_forward(spec: ModelConfig, transformer: Transformer, routing: Routing,
                      input_ids: torch.Tensor, labels: Optional[torch.Tensor] = None,
                      attention_mask: Optional[torch.Tensor] = None,
                      past_key_values: Optional[PastKeyValues] = None, use_cache: bool = False,
                      cache: Optional[Dict[str, torch.Tensor]] = None,
                      position_ids: Optional[torch.Tensor] = None,
                      lm_head: Optional[nn.Module] = None) -> MonorouteOutput:
    """The model's forward over ``transformer`` and ``routing`` (shared by both front ends).

    input_ids int [B, T] (past + T <= max_position_embeddings); labels [B, T] as Hugging Face's
    (shifted inside; -100 ignored) -> loss. ``attention_mask`` [B, past + T] (1 real, 0 padding):
    padding keys are ignored and positions count real tokens only, so a left-padded row equals
    the unpadded one. ``past_key_values`` / ``use_cache``: the KV cache. ``cache``: a dict filled
    with the activations named in HOOK_NAMES. ``lm_head``: the untied LM head (GPT-NeoX's
    embed_out); None: tied to the token embedding.
    """
    if input_ids.dim() != 2:
        raise ValueError(f"input_ids must be [B, T], got {tuple(input_ids.shape)}")
    t = input_ids.shape[1]
    past_len = past_key_values[0][0].shape[2] if past_key_values else 0
    if past_len + t > spec.max_position_embeddings:
        raise ValueError(f"sequence length {past_len + t} exceeds max_position_embeddings "
                         f"{spec.max_position_embeddings}")
    device = transformer.tok_emb.weight.device
    ids = input_ids.to(device, torch.long)
    key_valid = None
    if attention_mask is not None:
        if attention_mask.shape != (ids.shape[0], past_len + t):
            raise ValueError(f"attention_mask must be [B, past + T] = {[ids.shape[0], past_len + t]}"
                             f", got {list(attention_mask.shape)}")
        key_valid = attention_mask.to(device).bool()
    if position_ids is None:
        position_ids = _positions(t, past_len, attention_mask if key_valid is not None and
                                  not bool(key_valid.all()) else None, device)
    position_ids = position_ids.to(device, torch.long)
    x = emb = transformer.tok_emb(ids)
    if cache is not None:
        cache["hook_embed"] = emb
    if spec.family != "gpt_neox":  # learned positions (GPT-NeoX: rotary, inside attention)
        pos = transformer.wpe(position_ids)
        x = emb + pos
        if cache is not None:
            cache["hook_pos_embed"] = pos.expand_as(emb)
    infos: List[RoutingInfo] = []
    presents: PastKeyValues = []
    for i, block in enumerate(transformer.blocks):
        holder = routing.layers[str(i)] if str(i) in routing.layers else None
        x, info, present = block(x, holder.router if holder is not None else None,
                                 past_key_values[i] if past_key_values else None, key_valid,
                                 cache, position_ids)
        presents.append(present)
        if info is not None:
            infos.append(info)
    final = transformer.final_norm(x)
    if cache is not None:
        cache["ln_final.hook_normalized"] = final
    head = lm_head.weight if lm_head is not None else transformer.tok_emb.weight
    logits = torch.matmul(final, head.t()).float()
    loss = None
    if labels is not None:
        labels = labels.to(logits.device)
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]),
                               labels[:, 1:].reshape(-1), ignore_index=-100)
    return MonorouteOutput(logits=logits, final_norm=final, routing=infos, loss=loss,
                           past_key_values=presents if use_cache else None)


def build_causal_lm(owner: nn.Module, spec: ModelConfig) -> None:
    """Adds the family's modules to ``owner`` under the checkpoint's names: the backbone
    (``transformer`` or ``gpt_neox``), GPT-NeoX's untied ``embed_out``, ``routing``."""
    owner.add_module(BACKBONE_PREFIX[spec.family], Transformer(spec))
    if not spec.tie_word_embeddings:
        owner.embed_out = nn.Linear(spec.hidden_size, spec.vocab_size, bias=False)
    owner.routing = Routing(spec)


class MonorouteGPTNeo(nn.Module):
    """Causal LM of any family (GPT-Neo, GPT-NeoX, GPT-2), dense or pathway-routed;
    ``state_dict()`` keys = checkpoint names. (The name is historical: ``MonorouteCausalLM``.)"""

    def __init__(self, spec: ModelConfig):
        super().__init__()
        self.spec = spec
        build_causal_lm(self, spec)

    @property
    def backbone(self) -> Transformer:
        """``transformer`` (GPT-Neo, GPT-2) or ``gpt_neox``."""
        return getattr(self, BACKBONE_PREFIX[self.spec.family])

    @property
    def lm_head(self) -> Optional[nn.Module]:
        """GPT-NeoX's ``embed_out``; None where the head is tied to the token embedding."""
        return None if self.spec.tie_word_embeddings else self.embed_out

    @property
    def routed_layers(self) -> List[int]:
        """Indices of the routed layers (empty when dense)."""
        return sorted(int(i) for i in self.routing.layers.keys())

    def router(self, layer: int) -> PathwayRouter:
        """The router of routed layer ``layer`` (KeyError when not routed)."""
        return self.routing.layers[str(layer)].router

    def set_pathway_mask(self, layer: int, enabled: Optional[Any]) -> None:
        """Disables pathways of one routed layer (bool [P], True = enabled; None: all)."""
        self.router(layer).set_pathway_mask(enabled)

    def set_pathway_scale(self, layer: int, scale: Optional[Any]) -> None:
        """Scales pathways' outputs in one routed layer (float [P]; None: all 1)."""
        self.router(layer).set_pathway_scale(scale)

    def forward(self, input_ids: torch.Tensor, labels: Optional[torch.Tensor] = None,
                attention_mask: Optional[torch.Tensor] = None,
                past_key_values: Optional[PastKeyValues] = None, use_cache: bool = False,
                cache: Optional[Dict[str, torch.Tensor]] = None) -> MonorouteOutput:
        """input_ids int [B, T] -> MonorouteOutput (logits, final_norm, routing, loss; the
        other arguments: ``causal_lm_forward``)."""
        return causal_lm_forward(self.spec, self.backbone, self.routing, input_ids, labels,
                                 attention_mask, past_key_values, use_cache, cache,
                                 lm_head=self.lm_head)


#: The family-neutral name of the model class.
MonorouteCausalLM = MonorouteGPTNeo
