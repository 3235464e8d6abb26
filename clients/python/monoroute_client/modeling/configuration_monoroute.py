# monoroute: Hugging Face config classes of routed checkpoints (remote code), one per family.
#
# monoroute writes this file into every routed checkpoint; config.json's auto_map names the class
# of the checkpoint's family for AutoConfig, so `AutoConfig.from_pretrained(dir,
# trust_remote_code=True)` keeps the `routing` section. Source:
# clients/python/monoroute_client/modeling/ in the monoroute repository.
"""Transformers' config of each family plus monoroute's ``routing`` section:
``MonorouteGPTNeoConfig``, ``MonorouteGPTNeoXConfig``, ``MonorouteGPT2Config``."""

from typing import Any, Dict, Optional

from transformers import GPT2Config, GPTNeoConfig, GPTNeoXConfig


class MonorouteGPTNeoConfig(GPTNeoConfig):
    """GPT-Neo config with ``routing`` (num_pathways, top_k, router_hidden, route_every_n_layers,
    layers, router_activation, temperature, balancing) as written by monoroute."""

    model_type = "gpt_neo"

    def __init__(self, routing: Optional[Dict[str, Any]] = None, **kwargs: Any):
        self.routing = routing
        super().__init__(**kwargs)


class MonorouteGPTNeoXConfig(GPTNeoXConfig):
    """GPT-NeoX (Pythia) config with monoroute's ``routing`` section."""

    model_type = "gpt_neox"

    def __init__(self, routing: Optional[Dict[str, Any]] = None, **kwargs: Any):
        self.routing = routing
        super().__init__(**kwargs)


class MonorouteGPT2Config(GPT2Config):
    """GPT-2 config with monoroute's ``routing`` section."""

    model_type = "gpt2"

    def __init__(self, routing: Optional[Dict[str, Any]] = None, **kwargs: Any):
        self.routing = routing
        super().__init__(**kwargs)
