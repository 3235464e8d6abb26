"""The routed GPT-Neo in PyTorch (``routed_gpt_neo``, torch only) and its Hugging Face front end
(``configuration_monoroute`` / ``modeling_monoroute``, need transformers; not imported here).

monoroute's C++ checkpoint writer embeds these three files and copies them into every routed
checkpoint next to config.json, whose ``auto_map`` points transformers at them
(``trust_remote_code=True``). Keep them free of imports from the rest of monoroute_client.
"""
