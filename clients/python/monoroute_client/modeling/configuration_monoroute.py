# monoroute: Hugging Face config class of a routed GPT-Neo checkpoint (remote code).
#
# monoroute writes this file into every routed checkpoint; config.json's auto_map names it for
# AutoConfig, so `AutoConfig.from_pretrained(dir, trust_remote_code=True)` keeps the `routing`
# section. Source: clients/python/monoroute_client/modeling/ in the monoroute repository.
"""``MonorouteGPTNeoConfig``: transformers' GPTNeoConfig plus monoroute's ``routing`` section."""

from typing import Any, Dict, Optional

from transformers import GPTNeoConfig


class MonorouteGPTNeoConfig(GPTNeoConfig):
    """GPT-Neo config with ``routing`` (num_pathways, top_k, router_hidden, route_every_n_layers,
    layers, router_activation, temperature, balancing) as written by monoroute."""

    model_type = "gpt_neo"

    def __init__(self, routing: Optional[Dict[str, Any]] = None, **kwargs: Any):
        self.routing = routing
        super().__init__(**kwargs)
