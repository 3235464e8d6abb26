# monoroute: GPT-Neo with pathway-routed MLPs in plain PyTorch (no transformers needed).
#
# ONE implementation for two users: monoroute_client.load_model() and the Hugging Face remote
# code that monoroute writes into every routed checkpoint (modeling_monoroute.py imports this
# file, which is copied beside it). It mirrors monoroute's C++ model (common/model/gpt_neo.cc,
# routed_mlp.cc, pathway_router.cc, routing_config.cc; docs/model.md):
#   - GPT-Neo: learned positions; global or local (i - window < j <= i) causal attention; q/k/v
#     without bias, out_proj with bias; NO 1/sqrt(d) scaling; fp32 scores; gelu_new; LM head
#     tied to transformer.wte.
#   - routed layer (routing.layers, or every route_every_n_layers-th from 0): the router
#     hidden -> router_hidden -> P (activation relu | gelu_new | silu), probs = softmax(scores /
#     temperature), top-k (aux_free balancing: chosen on probs + selection_bias, weights still the
#     unbiased probs), weights renormalised over the k; the MLP's I neurons are P contiguous
#     slices and y = c_proj.bias + sum over the k selected p of w_p * k * c_proj_p(gelu(c_fc_p x)).
# Parameter names are the checkpoint's: transformer.* as Hugging Face names them, routers as
# routing.layers.{i}.router.{0,2}.{weight,bias} and routing.layers.{i}.router.selection_bias.
# Depends on torch only. Modules are not thread-safe (one forward at a time per module).
"""Routed GPT-Neo (monoroute) in PyTorch: ``ModelSpec``, ``MonorouteGPTNeo``."""

import dataclasses
import math
from typing import Any, Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

BALANCING_METHODS = ("glbl", "switch", "aux_free", "none")
ROUTER_ACTIVATIONS = ("relu", "gelu_new", "silu")


@dataclasses.dataclass
class RoutingSpec:
    """The ``routing`` section of config.json (defaults as monoroute's RoutingConfig)."""
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


@dataclasses.dataclass
class ModelSpec:
    """What the model needs from config.json (GPT-Neo fields + optional routing)."""
    vocab_size: int
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    window_size: int
    max_position_embeddings: int
    layer_norm_epsilon: float
    attention_layers: List[str]
    routing: Optional[RoutingSpec] = None

    @staticmethod
    def from_config(cfg: Dict[str, Any], source: str = "config.json") -> "ModelSpec":
        """Parses and validates a config.json object; ValueError names the field at fault."""
        def bad(msg: str) -> ValueError:
            return ValueError(f"{source}: {msg}")

        if cfg.get("model_type") != "gpt_neo":
            raise bad(f"model_type {cfg.get('model_type')!r} is not supported (expected "
                      "'gpt_neo')")
        act = cfg.get("activation_function") or "gelu_new"
        if act != "gelu_new":
            raise bad(f"activation_function {act!r} is not supported")
        if cfg.get("tie_word_embeddings", True) is False:
            raise bad("tie_word_embeddings false is not supported")

        def get_int(key: str, default: Optional[int] = None) -> int:
            v = cfg.get(key, default)
            if v is None:
                v = default
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise bad(f"{key} must be a positive integer, got {v!r}")
            return v

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
        spec = ModelSpec(
            vocab_size=get_int("vocab_size", 50257), hidden_size=hidden, num_layers=num_layers,
            num_heads=get_int("num_heads", 16),
            intermediate_size=get_int("intermediate_size", 4 * hidden),
            window_size=get_int("window_size", 256),
            max_position_embeddings=get_int("max_position_embeddings", 2048),
            layer_norm_epsilon=float(cfg.get("layer_norm_epsilon") or 1e-5),
            attention_layers=layers)
        if spec.hidden_size % spec.num_heads:
            raise bad(f"hidden_size {hidden} is not divisible by num_heads {spec.num_heads}")
        routing = cfg.get("routing")
        if routing is not None:
            spec.routing = _parse_routing(routing, spec, bad)
        return spec


def _parse_routing(r: Any, spec: ModelSpec, bad: Any) -> RoutingSpec:
    if not isinstance(r, dict):
        raise bad("routing must be an object")
    out = RoutingSpec()
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
    topk_weights: torch.Tensor   # [N, k] fp32, sum 1 over k


@dataclasses.dataclass
class MonorouteOutput:
    """Result of MonorouteGPTNeo.forward."""
    logits: torch.Tensor                 # [B, T, V] fp32
    final_norm: torch.Tensor             # ln_f output [B, T, H]
    routing: List[RoutingInfo]           # one per routed layer, ascending
    loss: Optional[torch.Tensor] = None  # causal-LM loss when labels were given


class SelfAttention(nn.Module):
    """GPT-Neo self-attention ("attn.attention"): no bias on q/k/v, unscaled fp32 scores."""

    def __init__(self, spec: ModelSpec, local: bool):
        super().__init__()
        h = spec.hidden_size
        self.num_heads = spec.num_heads
        self.window = spec.window_size if local else 0
        self.k_proj = nn.Linear(h, h, bias=False)
        self.v_proj = nn.Linear(h, h, bias=False)
        self.q_proj = nn.Linear(h, h, bias=False)
        self.out_proj = nn.Linear(h, h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, h = x.shape
        nh, d = self.num_heads, h // self.num_heads

        def heads(y: torch.Tensor) -> torch.Tensor:
            return y.view(b, t, nh, d).transpose(1, 2)  # [B, nh, T, d]

        q, k, v = heads(self.q_proj(x)), heads(self.k_proj(x)), heads(self.v_proj(x))
        scores = torch.matmul(q.float(), k.float().transpose(-1, -2))
        i = torch.arange(t, device=x.device)
        allowed = i[None, :] <= i[:, None]  # [query, key]: j <= i
        if self.window:
            allowed = allowed & (i[None, :] > i[:, None] - self.window)
        scores = scores.masked_fill(~allowed, -math.inf)
        probs = torch.softmax(scores, dim=-1).to(v.dtype)
        y = torch.matmul(probs, v).transpose(1, 2).reshape(b, t, h)
        return self.out_proj(y)


class AttentionHolder(nn.Module):
    """The "attn" container of a block (HF nests the attention one level deeper)."""

    def __init__(self, spec: ModelSpec, local: bool):
        super().__init__()
        self.attention = SelfAttention(spec, local)


class MLP(nn.Module):
    """GPT-Neo MLP weights (c_fc, c_proj); dense or routed depending on ``router``."""

    def __init__(self, spec: ModelSpec):
        super().__init__()
        self.c_fc = nn.Linear(spec.hidden_size, spec.intermediate_size)
        self.c_proj = nn.Linear(spec.intermediate_size, spec.hidden_size)

    def forward(self, x: torch.Tensor, router: Optional["PathwayRouter"] = None,
                layer: int = -1) -> Tuple[torch.Tensor, Optional[RoutingInfo]]:
        if router is None:
            return self.c_proj(gelu_new(self.c_fc(x))), None
        info = router(x, layer)
        x2 = x.reshape(-1, x.shape[-1])
        n, p, k = x2.shape[0], router.num_pathways, info.topk_indices.shape[1]
        hid = gelu_new(self.c_fc(x2))  # [N, I]
        gate = torch.zeros(n, p, dtype=info.topk_weights.dtype, device=x.device).scatter(
            1, info.topk_indices, info.topk_weights * float(k))  # gate scale k
        hid = (hid.view(n, p, -1) * gate.to(hid.dtype).unsqueeze(-1)).view(n, -1)
        return self.c_proj(hid).view(x.shape[:-1] + (-1,)), info


class PathwayRouter(nn.Module):
    """hidden -> router_hidden ("0") -> activation -> P ("2"); softmax(/temperature); top-k.

    ``selection_bias`` [P] (aux-free balancing) shifts the top-k choice only. A pathway mask
    (``set_pathway_mask``) gives disabled pathways probability 0 and excludes them from the
    choice even after the selection bias.
    """

    def __init__(self, hidden: int, routing: RoutingSpec):
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
                           topk_weights=top / top.sum(-1, keepdim=True))


class RouterHolder(nn.Module):
    """``routing.layers.{i}``: holds that layer's ``router``."""

    def __init__(self, hidden: int, routing: RoutingSpec):
        super().__init__()
        self.router = PathwayRouter(hidden, routing)


class Block(nn.Module):
    """One transformer block: x + attn(ln_1 x), then + mlp(ln_2 x)."""

    def __init__(self, spec: ModelSpec, layer: int):
        super().__init__()
        h, eps = spec.hidden_size, spec.layer_norm_epsilon
        self.layer = layer
        self.ln_1 = nn.LayerNorm(h, eps=eps)
        self.attn = AttentionHolder(spec, spec.attention_layers[layer] == "local")
        self.ln_2 = nn.LayerNorm(h, eps=eps)
        self.mlp = MLP(spec)

    def forward(self, x: torch.Tensor, router: Optional[PathwayRouter]
                ) -> Tuple[torch.Tensor, Optional[RoutingInfo]]:
        x = x + self.attn.attention(self.ln_1(x))
        m, info = self.mlp(self.ln_2(x), router, self.layer)
        return x + m, info


class Transformer(nn.Module):
    """``transformer``: wte, wpe, h[], ln_f (Hugging Face's GPTNeoModel names)."""

    def __init__(self, spec: ModelSpec):
        super().__init__()
        self.wte = nn.Embedding(spec.vocab_size, spec.hidden_size)
        self.wpe = nn.Embedding(spec.max_position_embeddings, spec.hidden_size)
        self.h = nn.ModuleList([Block(spec, i) for i in range(spec.num_layers)])
        self.ln_f = nn.LayerNorm(spec.hidden_size, eps=spec.layer_norm_epsilon)


class Routing(nn.Module):
    """``routing``: ``layers`` = {"<layer>": RouterHolder} of the routed layers (empty: dense)."""

    def __init__(self, spec: ModelSpec):
        super().__init__()
        self.layers = nn.ModuleDict()
        if spec.routing is not None:
            for i in spec.routing.routed_layers(spec.num_layers):
                self.layers[str(i)] = RouterHolder(spec.hidden_size, spec.routing)


def causal_lm_forward(spec: ModelSpec, transformer: Transformer, routing: Routing,
                      input_ids: torch.Tensor,
                      labels: Optional[torch.Tensor] = None) -> MonorouteOutput:
    """The model's forward over ``transformer`` and ``routing`` (shared by both front ends).

    input_ids int [B, T] (T <= max_position_embeddings); labels [B, T] as Hugging Face's
    (shifted inside; -100 ignored) -> loss.
    """
    if input_ids.dim() != 2:
        raise ValueError(f"input_ids must be [B, T], got {tuple(input_ids.shape)}")
    t = input_ids.shape[1]
    if t > spec.max_position_embeddings:
        raise ValueError(f"sequence length {t} exceeds max_position_embeddings "
                         f"{spec.max_position_embeddings}")
    ids = input_ids.to(transformer.wte.weight.device, torch.long)
    x = transformer.wte(ids) + transformer.wpe.weight[:t].unsqueeze(0)
    infos: List[RoutingInfo] = []
    for i, block in enumerate(transformer.h):
        holder = routing.layers[str(i)] if str(i) in routing.layers else None
        x, info = block(x, holder.router if holder is not None else None)
        if info is not None:
            infos.append(info)
    final = transformer.ln_f(x)
    logits = torch.matmul(final, transformer.wte.weight.t()).float()
    loss = None
    if labels is not None:
        labels = labels.to(logits.device)
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]),
                               labels[:, 1:].reshape(-1), ignore_index=-100)
    return MonorouteOutput(logits=logits, final_norm=final, routing=infos, loss=loss)


class MonorouteGPTNeo(nn.Module):
    """GPT-Neo causal LM, dense or pathway-routed; ``state_dict()`` keys = checkpoint names."""

    def __init__(self, spec: ModelSpec):
        super().__init__()
        self.spec = spec
        self.transformer = Transformer(spec)
        self.routing = Routing(spec)

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

    def forward(self, input_ids: torch.Tensor,
                labels: Optional[torch.Tensor] = None) -> MonorouteOutput:
        """input_ids int [B, T] -> MonorouteOutput (logits, final_norm, routing, loss)."""
        return causal_lm_forward(self.spec, self.transformer, self.routing, input_ids, labels)
