"""``MonorouteModel``: what ``load_model`` returns, the routed GPT-Neo with a notebook API.

On top of ``MonorouteGPTNeo`` (the computation, shared with the Hugging Face remote code):
``config`` (the parsed ``ModelConfig``), ``device``, ``tokenizer`` (the checkpoint's vocab.json +
merges.txt, when present), ``to_tokens`` / ``to_string``, calls on lists and text
(``model([1, 2, 3])``, ``model("Once upon")``), ``generate`` (greedy or seeded sampling with
``monoroute generate``'s sampler, KV cache), ``run_with_cache`` (TransformerLens-style
activation names, routing included) and ``steer`` (pathways ablated or scaled inside a ``with``).
Not thread-safe (a torch module; one forward at a time).
"""

import contextlib
import dataclasses
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import torch

from monoroute_client.modeling.routed_gpt_neo import (ModelConfig, MonorouteGPTNeo,
                                                      MonorouteOutput, RoutingInfo)
from monoroute_client.sampling import sample_next
from monoroute_client.tokenizer import Tokenizer

#: What the model accepts as input: text, ids (one sequence or a batch) or a tensor.
ModelInput = Union[str, Sequence[int], Sequence[Sequence[int]], torch.Tensor]
#: Pathway scales: {(layer, pathway): factor} or [(layer, pathway, factor), ...].
Scales = Union[Mapping[Tuple[int, int], float], Sequence[Tuple[int, int, float]]]


@dataclasses.dataclass
class TokenRouting:
    """Where one position went in one routed layer."""
    layer: int
    pathways: List[int]   # the top-k, descending (biased) score
    weights: List[float]  # renormalised over the k (before any steering scale)


@dataclasses.dataclass
class GeneratedToken:
    """One generated token with the routing of the position that predicted it."""
    id: int
    text: str
    routing: List[TokenRouting]


@dataclasses.dataclass
class Generation:
    """Result of ``MonorouteModel.generate``."""
    text: str                      # the generated continuation (prompt excluded)
    ids: List[int]                 # its token ids
    prompt_ids: List[int]
    tokens: List[GeneratedToken]   # per generated token
    logits: Optional[List[torch.Tensor]] = None  # with return_logits: [V] fp32 per step

    def __str__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        import html
        return f"<pre>{html.escape(self.text)}</pre>"


class ActivationCache(dict):
    """Activations by TransformerLens-style name (``HOOK_NAMES`` of routed_gpt_neo), [B, T, ...].

    ``cache["blocks.2.mlp.hook_route_weights"]`` etc.; ``routing(layer)`` gives that layer's
    (indices, weights) [B, T, k]."""

    def routing(self, layer: int) -> Tuple[torch.Tensor, torch.Tensor]:
        """(top-k indices, their applied weights) [B, T, k] of routed layer ``layer``."""
        idx = self[f"blocks.{layer}.mlp.hook_route_indices"]
        w = self[f"blocks.{layer}.mlp.hook_route_weights"].gather(-1, idx)
        return idx, w


class MonorouteModel(MonorouteGPTNeo):
    """The routed (or dense) GPT-Neo of a checkpoint with a notebook API (module docstring)."""

    def __init__(self, spec: ModelConfig, checkpoint_dir: Optional[str] = None,
                 config_json: Optional[Dict[str, Any]] = None,
                 tokenizer: Optional[Tokenizer] = None):
        super().__init__(spec)
        self.checkpoint_dir = checkpoint_dir
        self.config_json: Dict[str, Any] = dict(config_json or {})
        self.tokenizer = tokenizer

    @property
    def config(self) -> ModelConfig:
        """The model's configuration (sizes, attention layers, ``routing``)."""
        return self.spec

    @property
    def device(self) -> torch.device:
        """Where the parameters are."""
        return self.backbone.tok_emb.weight.device

    @property
    def dtype(self) -> torch.dtype:
        """The parameters' dtype."""
        return self.backbone.tok_emb.weight.dtype

    # -- text ---------------------------------------------------------------------------------

    def _tok(self) -> Tokenizer:
        if self.tokenizer is None:
            raise ValueError(f"{self.checkpoint_dir}: no tokenizer (vocab.json + merges.txt or "
                             "tokenizer.json); set model.tokenizer = Tokenizer(dir)")
        return self.tokenizer

    def to_tokens(self, text: Union[str, Sequence[str]]) -> torch.Tensor:
        """Token ids [1, T] of a text (or [B, T] of equal-length texts) on the model's device."""
        if isinstance(text, str):
            return torch.tensor([self._tok().encode(text)], dtype=torch.long, device=self.device)
        rows = [self._tok().encode(t) for t in text]
        if len({len(r) for r in rows}) > 1:
            raise ValueError("to_tokens: texts of different token lengths (pad them yourself and "
                             "pass attention_mask)")
        return torch.tensor(rows, dtype=torch.long, device=self.device)

    def to_string(self, ids: Union[Sequence[int], torch.Tensor]) -> str:
        """The text of a 1-D sequence of ids."""
        if isinstance(ids, torch.Tensor):
            ids = ids.reshape(-1).tolist()
        return self._tok().decode(ids)

    def as_input_ids(self, x: ModelInput) -> torch.Tensor:
        """``x`` as int64 [B, T] on the model's device: text -> [1, T], a list of ids -> [1, T],
        a list of lists -> [B, T], a 1-D tensor -> [1, T]."""
        if isinstance(x, str):
            return self.to_tokens(x)
        t = x if isinstance(x, torch.Tensor) else torch.as_tensor(x)
        if t.dim() == 1:
            t = t.unsqueeze(0)
        if t.dim() != 2 or t.dtype.is_floating_point or t.dtype == torch.bool:
            raise ValueError(f"input must be token ids [T] or [B, T], got {tuple(t.shape)} "
                             f"{t.dtype}")
        return t.to(self.device, torch.long)

    def forward(self, input_ids: ModelInput, labels: Optional[torch.Tensor] = None,
                **kwargs: Any) -> MonorouteOutput:
        """``MonorouteGPTNeo.forward`` on ``as_input_ids(input_ids)``."""
        return super().forward(self.as_input_ids(input_ids), labels, **kwargs)

    # -- activations ----------------------------------------------------------------------------

    @torch.no_grad()
    def run_with_cache(self, x: ModelInput, names_filter: Optional[Any] = None,
                       attention_mask: Optional[torch.Tensor] = None
                       ) -> Tuple[MonorouteOutput, ActivationCache]:
        """Forward that also returns the activations (names: routed_gpt_neo.HOOK_NAMES, e.g.
        ``blocks.2.mlp.hook_route_logits``). ``names_filter``: a name, a list of names or a
        predicate keeping only some."""
        cache: Dict[str, torch.Tensor] = {}
        out = self.forward(x, attention_mask=attention_mask, cache=cache)
        if names_filter is not None:
            keep = (names_filter if callable(names_filter) else
                    (lambda n, s={names_filter} if isinstance(names_filter, str)
                     else set(names_filter): n in s))
            cache = {k: v for k, v in cache.items() if keep(k)}
        return out, ActivationCache(cache)

    # -- steering -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def steer(self, ablate: Sequence[Tuple[int, int]] = (),
              scale: Optional[Scales] = None) -> Iterator["MonorouteModel"]:
        """Within the ``with``: pathways in ``ablate`` [(layer, pathway)] are disabled (never
        selected, as the offline ablation does) and ``scale`` multiplies selected pathways'
        outputs ({(layer, pathway): x} or [(layer, pathway, x)]); restored on exit. ValueError
        for a layer that is not routed or a pathway out of range (checked before any change)."""
        masks, scales = self.steering_tensors(ablate, scale)
        saved = {l: (self.router(l).disabled, self.router(l).pathway_scale)
                 for l in set(masks) | set(scales)}
        try:
            for layer, enabled in masks.items():
                self.set_pathway_mask(layer, enabled)
            for layer, s in scales.items():
                self.set_pathway_scale(layer, s)
            yield self
        finally:
            for layer, (disabled, s) in saved.items():
                self.router(layer).disabled = disabled
                self.router(layer).pathway_scale = s

    def steering_tensors(self, ablate: Sequence[Tuple[int, int]], scale: Optional[Scales]
                         ) -> Tuple[Dict[int, torch.Tensor], Dict[int, torch.Tensor]]:
        """Per routed layer the enabled mask (bool [P]) and the scales (float [P])."""
        p = self.spec.routing.num_pathways if self.spec.routing else 0
        items = (list(scale.items()) if isinstance(scale, Mapping)
                 else [((l, q), x) for l, q, x in (scale or ())])

        def check(layer: int, pathway: int, what: str) -> None:
            if layer not in self.routed_layers:
                raise ValueError(f"{what}: layer {layer} is not routed (routed: "
                                 f"{self.routed_layers})")
            if not 0 <= pathway < p:
                raise ValueError(f"{what}: pathway {pathway} is outside [0, {p})")

        masks: Dict[int, torch.Tensor] = {}
        for layer, pathway in ablate:
            check(layer, pathway, "ablate")
            masks.setdefault(layer, torch.ones(p, dtype=torch.bool))[pathway] = False
        scales: Dict[int, torch.Tensor] = {}
        for (layer, pathway), x in items:
            check(layer, pathway, "scale")
            scales.setdefault(layer, torch.ones(p))[pathway] = float(x)
        return masks, scales

    # -- generation -----------------------------------------------------------------------------

    @torch.no_grad()
    def generate(self, prompt: ModelInput, max_new_tokens: int = 32, temperature: float = 0.0,
                 top_k: int = 0, seed: int = 0, stop_at_eot: bool = False,
                 use_cache: bool = True, return_logits: bool = False) -> Generation:
        """Continues ``prompt`` (text or ids, one sequence) by ``max_new_tokens`` tokens.

        ``temperature`` 0: greedy; else sampling from the ``top_k`` (0: all) most likely tokens
        with ``monoroute generate``'s sampler (``monoroute_client.sampling``): the same seed
        gives the same tokens as the CLI. ``use_cache``: the KV cache (one position per step).
        ``stop_at_eot``: stop after ``<|endoftext|>``. ValueError when the prompt is empty or
        prompt + max_new_tokens exceeds max_position_embeddings.
        """
        ids = self.as_input_ids(prompt)
        if ids.shape[0] != 1 or ids.shape[1] == 0:
            raise ValueError(f"generate: one non-empty prompt, got {tuple(ids.shape)}")
        if max_new_tokens < 0:
            raise ValueError(f"max_new_tokens must be >= 0, got {max_new_tokens}")
        limit = self.spec.max_position_embeddings
        if ids.shape[1] + max_new_tokens > limit:
            raise ValueError(f"max_new_tokens: prompt {ids.shape[1]} + {max_new_tokens} exceeds "
                             f"max_position_embeddings {limit}")
        eot = self.tokenizer.eot_id if self.tokenizer is not None else None
        prompt_ids = ids[0].tolist()
        out_ids: List[int] = []
        tokens: List[GeneratedToken] = []
        logits_out: List[torch.Tensor] = []
        past = None
        seq = ids
        for step in range(max_new_tokens):
            if use_cache:
                feed = seq if past is None else seq[:, -1:]
                out = super().forward(feed, past_key_values=past, use_cache=True)
                past = out.past_key_values
            else:
                out = super().forward(seq)
            last = out.logits[0, -1].float().cpu()
            tok = sample_next(last.numpy(), temperature=temperature, top_k=top_k, seed=seed,
                              step=step)
            routing = [_last_routing(r) for r in out.routing]
            text = self.tokenizer.decode([tok]) if self.tokenizer is not None else ""
            tokens.append(GeneratedToken(id=tok, text=text, routing=routing))
            out_ids.append(tok)
            if return_logits:
                logits_out.append(last)
            seq = torch.cat([seq, torch.tensor([[tok]], dtype=torch.long, device=self.device)], 1)
            if stop_at_eot and tok == eot:
                break
        text = self.tokenizer.decode(out_ids) if self.tokenizer is not None else ""
        return Generation(text=text, ids=out_ids, prompt_ids=prompt_ids, tokens=tokens,
                          logits=logits_out if return_logits else None)


def _last_routing(info: RoutingInfo) -> TokenRouting:
    """Routing of the last position of a [1, T] forward."""
    return TokenRouting(layer=info.layer, pathways=info.topk_indices[-1].tolist(),
                        weights=[float(w) for w in info.topk_weights[-1].tolist()])
