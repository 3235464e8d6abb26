# monoroute: Hugging Face model classes of routed checkpoints (remote code), one per family.
#
# monoroute writes this file, configuration_monoroute.py, routed_gpt_neo.py and family_layers.py
# into every routed checkpoint; config.json's auto_map names the class of the checkpoint's family
# for AutoModelForCausalLM, so
#   AutoModelForCausalLM.from_pretrained(dir, trust_remote_code=True)
# runs the routed model (routers, top-k, renormalised weights) instead of the dense one.
# The computation is routed_gpt_neo.py, the same file monoroute_client.load_model uses.
# Source: clients/python/monoroute_client/modeling/ in the monoroute repository.
"""``MonorouteGPTNeoForCausalLM``, ``MonorouteGPTNeoXForCausalLM``,
``MonorouteGPT2LMHeadModel``: the routed models behind transformers' API."""

from typing import Any, Optional

import torch
from torch import nn
from transformers import PreTrainedModel

try:  # transformers >= 4.36 (Mixtral's output type: router_logits, aux_loss)
    from transformers.modeling_outputs import MoeCausalLMOutputWithPast as _Output
except ImportError:  # older: the plain causal-LM output; router_logits set as an attribute
    from transformers.modeling_outputs import CausalLMOutputWithPast as _Output

try:  # transformers >= 4.45 separates generation from PreTrainedModel
    from transformers import GenerationMixin
except ImportError:  # older: PreTrainedModel already is one
    GenerationMixin = object

from .configuration_monoroute import (MonorouteGPT2Config, MonorouteGPTNeoConfig,
                                      MonorouteGPTNeoXConfig)
from .routed_gpt_neo import BACKBONE_PREFIX, ModelConfig, build_causal_lm, causal_lm_forward


class _MonorouteCausalLM(PreTrainedModel, GenerationMixin):
    """Routed (or dense) causal LM of one family; parameters named as in monoroute's
    checkpoints (the family's Hugging Face names plus ``routing.layers.*``).

    ``attention_mask`` (1 real, 0 padding) is honoured: padding keys are ignored and, without
    ``position_ids``, positions count real tokens only, so a left-padded row gives the logits of
    the unpadded one. KV cache: ``past_key_values`` as a tuple of per-layer (key, value)
    (``use_cache``). ``output_router_logits`` (default ``config.output_router_logits``, else
    False): ``router_logits`` = one [B*T, P] tensor per routed layer (the softmax input, as
    Mixtral's), ascending layer order.
    """

    supports_gradient_checkpointing = False

    def __init__(self, config: Any):
        super().__init__(config)
        self.spec = ModelConfig.from_config(config.to_dict())
        build_causal_lm(self, self.spec)
        self.post_init()

    @property
    def _backbone(self) -> nn.Module:
        return getattr(self, BACKBONE_PREFIX[self.spec.family])

    def _init_weights(self, module: nn.Module) -> None:
        std = getattr(self.config, "initializer_range", 0.02)
        if isinstance(module, (nn.Linear, nn.Embedding)) or type(module).__name__ == "Conv1D":
            module.weight.data.normal_(0.0, std)
            if getattr(module, "bias", None) is not None:
                module.bias.data.zero_()
        elif isinstance(module, nn.LayerNorm):
            module.weight.data.fill_(1.0)
            module.bias.data.zero_()

    def get_input_embeddings(self) -> nn.Module:
        return self._backbone.tok_emb

    def set_input_embeddings(self, value: nn.Module) -> None:
        setattr(self._backbone, self._backbone.names[0], value)

    def get_output_embeddings(self) -> Optional[nn.Module]:
        # GPT-NeoX: the untied embed_out; else None: logits use the token embedding (tied).
        return None if self.spec.tie_word_embeddings else self.embed_out

    def forward(self, input_ids: Optional[torch.Tensor] = None,
                attention_mask: Optional[torch.Tensor] = None,
                labels: Optional[torch.Tensor] = None,
                past_key_values: Optional[Any] = None, use_cache: Optional[bool] = None,
                position_ids: Optional[torch.Tensor] = None,
                output_router_logits: Optional[bool] = None, **kwargs: Any) -> Any:
        if input_ids is None:
            raise ValueError(f"{type(self).__name__} needs input_ids")
        if output_router_logits is None:
            output_router_logits = bool(getattr(self.config, "output_router_logits", False))
        past = [tuple(p) for p in past_key_values] if past_key_values else None
        out = causal_lm_forward(self.spec, self._backbone, self.routing, input_ids, labels,
                                attention_mask=attention_mask, past_key_values=past,
                                use_cache=bool(use_cache), position_ids=position_ids,
                                lm_head=self.get_output_embeddings())
        router_logits = tuple(r.logits for r in out.routing) if output_router_logits else None
        presents = tuple(out.past_key_values) if out.past_key_values is not None else None
        fields = {"loss": out.loss, "logits": out.logits, "past_key_values": presents}
        if "router_logits" in getattr(_Output, "__dataclass_fields__", {}):
            return _Output(router_logits=router_logits, **fields)
        result = _Output(**fields)
        result.router_logits = router_logits
        return result

    def prepare_inputs_for_generation(self, input_ids: torch.Tensor,
                                      past_key_values: Optional[Any] = None,
                                      attention_mask: Optional[torch.Tensor] = None,
                                      **kwargs: Any) -> dict:
        if past_key_values:
            input_ids = input_ids[:, -1:]
        return {"input_ids": input_ids, "past_key_values": past_key_values,
                "attention_mask": attention_mask, "use_cache": kwargs.get("use_cache", True)}


class MonorouteGPTNeoForCausalLM(_MonorouteCausalLM):
    """Routed GPT-Neo: ``transformer.*``, LM head tied to ``transformer.wte``."""

    config_class = MonorouteGPTNeoConfig
    base_model_prefix = "transformer"
    # The LM head is tied to transformer.wte (no lm_head module); HF GPT-Neo mask buffers.
    _keys_to_ignore_on_load_unexpected = [r"^lm_head\.weight$", r"\.attn\.attention\.bias$",
                                          r"\.attn\.attention\.masked_bias$"]


class MonorouteGPTNeoXForCausalLM(_MonorouteCausalLM):
    """Routed GPT-NeoX (Pythia): ``gpt_neox.*`` and the untied ``embed_out``."""

    config_class = MonorouteGPTNeoXConfig
    base_model_prefix = "gpt_neox"
    # Non-persistent buffers that older Pythia uploads carry.
    _keys_to_ignore_on_load_unexpected = [r"\.attention\.bias$", r"\.attention\.masked_bias$",
                                          r"\.attention\.rotary_emb\.inv_freq$"]


class MonorouteGPT2LMHeadModel(_MonorouteCausalLM):
    """Routed GPT-2: ``transformer.*`` with Conv1D weights [in, out], LM head tied to
    ``transformer.wte``."""

    config_class = MonorouteGPT2Config
    base_model_prefix = "transformer"
    _keys_to_ignore_on_load_unexpected = [r"^lm_head\.weight$", r"\.attn\.bias$",
                                          r"\.attn\.masked_bias$"]
