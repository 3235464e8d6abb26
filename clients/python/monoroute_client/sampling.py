"""The next-token sampler shared with ``monoroute generate`` (common/engine/generate.cc).

Both sides implement exactly this, so the same logits, seed and settings give the same token:

- ``temperature <= 0``: greedy, the arg-max (lowest id among equal logits).
- otherwise: the candidates are all ids ordered by logit descending (ties: lower id first),
  cut to the first ``top_k`` (0: all); ``z_i = double(logit_i) / temperature``;
  ``w_i = exp(z_i - z_0)`` (glibc's ``exp``: ``math.exp`` / ``std::exp``);
  ``total = w_0 + w_1 + ...`` summed in candidate order; ``target = u * total`` with
  ``u = uniform(seed, step)``; the token is the first candidate whose running sum (same order)
  exceeds ``target`` (the last one if rounding leaves none).
- ``uniform(seed, step) = (splitmix64(splitmix64(seed) ^ step) >> 11) * 2**-53`` in [0, 1), where
  ``step`` counts generated tokens from 0 and splitmix64 is Vigna's finaliser over the state
  advanced by 0x9E3779B97F4A7C15 (all arithmetic mod 2**64). A counter-based stream: token t's
  draw does not depend on earlier draws, so a truncated or resumed generation stays aligned.

Stateless; thread-safe.
"""

import math
from typing import Sequence

import numpy as np

_MASK = (1 << 64) - 1


def splitmix64(x: int) -> int:
    """One splitmix64 output for state ``x`` (state advanced by the golden gamma first)."""
    z = (x + 0x9E3779B97F4A7C15) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def uniform(seed: int, step: int) -> float:
    """The sampler's uniform draw in [0, 1) for generated token number ``step``."""
    return (splitmix64(splitmix64(seed & _MASK) ^ (step & _MASK)) >> 11) * (1.0 / (1 << 53))


def sample_next(logits: Sequence[float], *, temperature: float, top_k: int, seed: int,
                step: int) -> int:
    """The next token id from one position's logits [V] (rules in the module docstring)."""
    a = np.asarray(logits, dtype=np.float32)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"logits must be a non-empty vector, got shape {a.shape}")
    if temperature <= 0:
        return int(np.argmax(a))  # first maximum = lowest id
    if top_k < 0:
        raise ValueError(f"top_k must be >= 0, got {top_k}")
    order = np.argsort(-a.astype(np.float64), kind="stable")
    if top_k:
        order = order[:top_k]
    z = [float(a[i]) / float(temperature) for i in order]
    w = [math.exp(v - z[0]) for v in z]
    total = 0.0
    for v in w:
        total += v
    target = uniform(seed, step) * total
    cum = 0.0
    for i, v in enumerate(w):
        cum += v
        if target < cum:
            return int(order[i])
    return int(order[-1])
