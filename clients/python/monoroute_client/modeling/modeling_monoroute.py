# monoroute: Hugging Face model class of a routed GPT-Neo checkpoint (remote code).
#
# monoroute writes this file, configuration_monoroute.py and routed_gpt_neo.py into every routed
# checkpoint; config.json's auto_map names this class for AutoModelForCausalLM, so
#   AutoModelForCausalLM.from_pretrained(dir, trust_remote_code=True)
# runs the routed model (routers, top-k, renormalised weights) instead of the dense GPT-Neo.
# The computation is routed_gpt_neo.py, the same file monoroute_client.load_model uses.
# Source: clients/python/monoroute_client/modeling/ in the monoroute repository.
"""``MonorouteGPTNeoForCausalLM``: the routed GPT-Neo behind transformers' API."""

from typing import Any, Optional

import torch
from torch import nn
from transformers import PreTrainedModel
from transformers.modeling_outputs import CausalLMOutput

try:  # transformers >= 4.45 separates generation from PreTrainedModel
    from transformers import GenerationMixin
except ImportError:  # older: PreTrainedModel already is one
    GenerationMixin = object

from .configuration_monoroute import MonorouteGPTNeoConfig
from .routed_gpt_neo import ModelSpec, Routing, Transformer, causal_lm_forward


class MonorouteGPTNeoForCausalLM(PreTrainedModel, GenerationMixin):
    """Routed (or dense) GPT-Neo causal LM; parameters named as in monoroute's checkpoints.

    No KV cache: generation recomputes the whole prefix each step. ``attention_mask`` must be
    all ones (padding is not supported, as in ``monoroute forward``).
    """

    config_class = MonorouteGPTNeoConfig
    base_model_prefix = "transformer"
    supports_gradient_checkpointing = False
    # The LM head is tied to transformer.wte (no lm_head module); HF GPT-Neo mask buffers.
    _keys_to_ignore_on_load_unexpected = [r"^lm_head\.weight$", r"\.attn\.attention\.bias$",
                                          r"\.attn\.attention\.masked_bias$"]

    def __init__(self, config: MonorouteGPTNeoConfig):
        super().__init__(config)
        self.spec = ModelSpec.from_config(config.to_dict())
        self.transformer = Transformer(self.spec)
        self.routing = Routing(self.spec)
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        std = getattr(self.config, "initializer_range", 0.02)
        if isinstance(module, (nn.Linear, nn.Embedding)):
            module.weight.data.normal_(0.0, std)
            if getattr(module, "bias", None) is not None:
                module.bias.data.zero_()
        elif isinstance(module, nn.LayerNorm):
            module.weight.data.fill_(1.0)
            module.bias.data.zero_()

    def get_input_embeddings(self) -> nn.Module:
        return self.transformer.wte

    def set_input_embeddings(self, value: nn.Module) -> None:
        self.transformer.wte = value

    def get_output_embeddings(self) -> None:
        return None  # logits use transformer.wte.weight directly (tied)

    def forward(self, input_ids: Optional[torch.Tensor] = None,
                attention_mask: Optional[torch.Tensor] = None,
                labels: Optional[torch.Tensor] = None, **kwargs: Any) -> CausalLMOutput:
        if input_ids is None:
            raise ValueError("MonorouteGPTNeoForCausalLM needs input_ids")
        if attention_mask is not None and not bool(attention_mask.bool().all()):
            raise ValueError("MonorouteGPTNeoForCausalLM does not support padding "
                             "(attention_mask with zeros)")
        out = causal_lm_forward(self.spec, self.transformer, self.routing, input_ids, labels)
        return CausalLMOutput(loss=out.loss, logits=out.logits)

    def prepare_inputs_for_generation(self, input_ids: torch.Tensor, **kwargs: Any) -> dict:
        return {"input_ids": input_ids}
