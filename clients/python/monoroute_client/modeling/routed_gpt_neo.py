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
# Extras over the C++ forward (same numbers when unused): a KV cache (past_key_values), a key
# padding mask with mask-derived positions (left padding), per-pathway output scales (steering),
# router logits, and a TransformerLens-style activation cache (`cache`, hook names below).
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
#   excluded: hook_mlp_out = sum over P + c_proj.bias).
HOOK_NAMES = ("hook_embed", "hook_pos_embed", "hook_resid_pre", "hook_attn_out", "hook_resid_mid",
              "hook_mlp_out", "hook_resid_post", "hook_normalized", "hook_route_logits",
              "hook_route_probs", "hook_route_indices", "hook_route_weights", "hook_pathway_out")


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

    def forward(self, x: torch.Tensor,
                past: Optional[Tuple[torch.Tensor, torch.Tensor]] = None,
                key_valid: Optional[torch.Tensor] = None
                ) -> Tuple[torch.Tensor, Tuple[torch.Tensor, torch.Tensor]]:
        """x [B, T, H] (the T newest positions); ``past`` the earlier S0 positions' (k, v);
        ``key_valid`` bool [B, S0 + T] (False: a padding key). Returns (y, (k, v) of all)."""
        b, t, h = x.shape
        nh, d = self.num_heads, h // self.num_heads

        def heads(y: torch.Tensor) -> torch.Tensor:
            return y.view(b, t, nh, d).transpose(1, 2)  # [B, nh, T, d]

        q, k, v = heads(self.q_proj(x)), heads(self.k_proj(x)), heads(self.v_proj(x))
        if past is not None:
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        s = k.shape[2]
        scores = torch.matmul(q.float(), k.float().transpose(-1, -2))
        i = torch.arange(s - t, s, device=x.device)  # query positions
        j = torch.arange(s, device=x.device)         # key positions
        allowed = j[None, :] <= i[:, None]  # [query, key]: j <= i
        if self.window:
            allowed = allowed & (j[None, :] > i[:, None] - self.window)
        if key_valid is not None:
            allowed = allowed[None, None] & key_valid[:, None, None, :].to(torch.bool)
        # The most negative float, not -inf: a fully masked (padding) query stays finite.
        scores = scores.masked_fill(~allowed, torch.finfo(scores.dtype).min)
        probs = torch.softmax(scores, dim=-1).to(v.dtype)
        y = torch.matmul(probs, v).transpose(1, 2).reshape(b, t, h)
        return self.out_proj(y), (k, v)


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
                layer: int = -1, cache: Optional[Dict[str, torch.Tensor]] = None
                ) -> Tuple[torch.Tensor, Optional[RoutingInfo]]:
        if router is None:
            return self.c_proj(gelu_new(self.c_fc(x))), None
        info = router(x, layer)
        x2 = x.reshape(-1, x.shape[-1])
        n, p, k = x2.shape[0], router.num_pathways, info.topk_indices.shape[1]
        hid = gelu_new(self.c_fc(x2))  # [N, I]
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
            wp = self.c_proj.weight.view(self.c_proj.weight.shape[0], p, -1)  # [H, P, I/P]
            cache[pre + "hook_pathway_out"] = torch.einsum(
                "nps,hps->nph", hid.view(n, p, -1), wp).reshape(lead + (p, -1))
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

    def forward(self, x: torch.Tensor, router: Optional[PathwayRouter],
                past: Optional[Tuple[torch.Tensor, torch.Tensor]] = None,
                key_valid: Optional[torch.Tensor] = None,
                cache: Optional[Dict[str, torch.Tensor]] = None
                ) -> Tuple[torch.Tensor, Optional[RoutingInfo], Tuple[torch.Tensor, torch.Tensor]]:
        a, present = self.attn.attention(self.ln_1(x), past, key_valid)
        mid = x + a
        m, info = self.mlp(self.ln_2(mid), router, self.layer, cache)
        out = mid + m
        if cache is not None:
            pre = f"blocks.{self.layer}."
            cache.update({pre + "hook_resid_pre": x, pre + "hook_attn_out": a,
                          pre + "hook_resid_mid": mid, pre + "hook_mlp_out": m,
                          pre + "hook_resid_post": out})
        return out, info, present


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


def _positions(t: int, past_len: int, attention_mask: Optional[torch.Tensor],
               device: torch.device) -> torch.Tensor:
    """Position ids [B or 1, T] of the T new tokens: past_len + arange(T), or with a padding
    mask [B, past_len + T] the count of real tokens before each one (left padding)."""
    if attention_mask is None:
        return torch.arange(past_len, past_len + t, device=device).unsqueeze(0)
    pos = attention_mask.to(device, torch.long).cumsum(-1) - 1
    return pos.clamp_min(0)[:, -t:]


def causal_lm_forward(spec: ModelSpec, transformer: Transformer, routing: Routing,
                      input_ids: torch.Tensor, labels: Optional[torch.Tensor] = None,
                      attention_mask: Optional[torch.Tensor] = None,
                      past_key_values: Optional[PastKeyValues] = None, use_cache: bool = False,
                      cache: Optional[Dict[str, torch.Tensor]] = None,
                      position_ids: Optional[torch.Tensor] = None) -> MonorouteOutput:
    """The model's forward over ``transformer`` and ``routing`` (shared by both front ends).

    input_ids int [B, T] (past + T <= max_position_embeddings); labels [B, T] as Hugging Face's
    (shifted inside; -100 ignored) -> loss. ``attention_mask`` [B, past + T] (1 real, 0 padding):
    padding keys are ignored and positions count real tokens only, so a left-padded row equals
    the unpadded one. ``past_key_values`` / ``use_cache``: the KV cache. ``cache``: a dict filled
    with the activations named in HOOK_NAMES.
    """
    if input_ids.dim() != 2:
        raise ValueError(f"input_ids must be [B, T], got {tuple(input_ids.shape)}")
    t = input_ids.shape[1]
    past_len = past_key_values[0][0].shape[2] if past_key_values else 0
    if past_len + t > spec.max_position_embeddings:
        raise ValueError(f"sequence length {past_len + t} exceeds max_position_embeddings "
                         f"{spec.max_position_embeddings}")
    device = transformer.wte.weight.device
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
    pos = transformer.wpe(position_ids.to(device, torch.long))
    emb = transformer.wte(ids)
    x = emb + pos
    if cache is not None:
        cache["hook_embed"], cache["hook_pos_embed"] = emb, pos.expand_as(emb)
    infos: List[RoutingInfo] = []
    presents: PastKeyValues = []
    for i, block in enumerate(transformer.h):
        holder = routing.layers[str(i)] if str(i) in routing.layers else None
        x, info, present = block(x, holder.router if holder is not None else None,
                                 past_key_values[i] if past_key_values else None, key_valid,
                                 cache)
        presents.append(present)
        if info is not None:
            infos.append(info)
    final = transformer.ln_f(x)
    if cache is not None:
        cache["ln_final.hook_normalized"] = final
    logits = torch.matmul(final, transformer.wte.weight.t()).float()
    loss = None
    if labels is not None:
        labels = labels.to(logits.device)
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]),
                               labels[:, 1:].reshape(-1), ignore_index=-100)
    return MonorouteOutput(logits=logits, final_norm=final, routing=infos, loss=loss,
                           past_key_values=presents if use_cache else None)


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

    def set_pathway_scale(self, layer: int, scale: Optional[Any]) -> None:
        """Scales pathways' outputs in one routed layer (float [P]; None: all 1)."""
        self.router(layer).set_pathway_scale(scale)

    def forward(self, input_ids: torch.Tensor, labels: Optional[torch.Tensor] = None,
                attention_mask: Optional[torch.Tensor] = None,
                past_key_values: Optional[PastKeyValues] = None, use_cache: bool = False,
                cache: Optional[Dict[str, torch.Tensor]] = None) -> MonorouteOutput:
        """input_ids int [B, T] -> MonorouteOutput (logits, final_norm, routing, loss; the
        other arguments: ``causal_lm_forward``)."""
        return causal_lm_forward(self.spec, self.transformer, self.routing, input_ids, labels,
                                 attention_mask, past_key_values, use_cache, cache)
