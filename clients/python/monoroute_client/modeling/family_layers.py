# monoroute: the attention layers of each model family in plain PyTorch (no transformers needed).
#
# Part of the remote code monoroute writes into every routed checkpoint (routed_gpt_neo.py
# imports this file, which is copied beside it). Each class follows Hugging Face's modeling code
# line by line (the eager fp32 path), as transcribed in scripts/fixtures/gen_model_fixtures.py:
#   - GPT-Neo (modeling_gpt_neo.py): q/k/v without bias, out_proj with bias, NO scaling, global or
#     local (i - window < j <= i) causal attention.
#   - GPT-NeoX (modeling_gpt_neox.py): fused query_key_value viewed per head as [q | k | v];
#     rotary embeddings on the first int(head_size * rotary_pct) dims of q and k (inv_freq =
#     1 / base^(2i/d), cos / sin of cat(freqs, freqs), rotate_half = cat(-x2, x1)); scores
#     scaled by head_size^-0.5; dense.
#   - GPT-2 (modeling_gpt2.py, pytorch_utils.Conv1D): c_attn = Conv1D (weight [in, out]) whose
#     output is contiguous [Q | K | V] blocks; scores divided by sqrt(head_dim); c_proj.
# All three share `attend`: fp32 scores, the causal (and local) mask and padding keys masked
# with the most negative float, softmax, a KV cache (keys cached after rotary, as HF does).
# Depends on torch only. Modules are not thread-safe (one forward at a time per module).
"""Attention of GPT-Neo, GPT-NeoX and GPT-2 in PyTorch, and GPT-2's ``Conv1D``."""

from typing import Callable, Optional, Tuple

import torch
from torch import nn

#: (key, value) [B, heads, S, head_dim] of the positions seen so far.
KeyValue = Tuple[torch.Tensor, torch.Tensor]


class Conv1D(nn.Module):
    """GPT-2's linear layer with its weight stored transposed: weight [n_in, n_out]."""

    def __init__(self, n_in: int, n_out: int):
        super().__init__()
        self.n_out = n_out
        self.weight = nn.Parameter(torch.empty(n_in, n_out))
        self.bias = nn.Parameter(torch.zeros(n_out))
        nn.init.normal_(self.weight, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size_out = x.size()[:-1] + (self.n_out,)
        return torch.addmm(self.bias, x.reshape(-1, x.size(-1)), self.weight).view(size_out)

    def weight_out_in(self) -> torch.Tensor:
        """The weight as nn.Linear holds it, [n_out, n_in] (a view)."""
        return self.weight.t()


def linear_weight_out_in(layer: nn.Module) -> torch.Tensor:
    """[out, in] weight of an nn.Linear or a Conv1D."""
    return layer.weight_out_in() if isinstance(layer, Conv1D) else layer.weight


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, past: Optional[KeyValue],
           key_valid: Optional[torch.Tensor], window: int,
           scale: Callable[[torch.Tensor], torch.Tensor]) -> Tuple[torch.Tensor, KeyValue]:
    """Causal attention of the T new queries [B, nh, T, d] over past + new keys.

    ``key_valid`` bool [B, S] (False: a padding key); ``window`` > 0: local attention
    (i - window < j <= i); ``scale`` applied to the fp32 scores. Returns ([B, T, nh * d], (k, v))."""
    if past is not None:
        k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
    b, nh, t, d = q.shape
    s = k.shape[2]
    scores = scale(torch.matmul(q.float(), k.float().transpose(-1, -2)))
    i = torch.arange(s - t, s, device=q.device)  # query positions
    j = torch.arange(s, device=q.device)         # key positions
    allowed = j[None, :] <= i[:, None]  # [query, key]: j <= i
    if window:
        allowed = allowed & (j[None, :] > i[:, None] - window)
    if key_valid is not None:
        allowed = allowed[None, None] & key_valid[:, None, None, :].to(torch.bool)
    # The most negative float, not -inf: a fully masked (padding) query stays finite.
    scores = scores.masked_fill(~allowed, torch.finfo(scores.dtype).min)
    probs = torch.softmax(scores, dim=-1).to(v.dtype)
    y = torch.matmul(probs, v).transpose(1, 2).reshape(b, t, nh * d)
    return y, (k, v)


def _split_heads(x: torch.Tensor, nh: int) -> torch.Tensor:
    b, t, h = x.shape
    return x.view(b, t, nh, h // nh).transpose(1, 2)  # [B, nh, T, d]


class GPTNeoSelfAttention(nn.Module):
    """GPT-Neo ("attn.attention"): no bias on q/k/v, unscaled fp32 scores, global or local."""

    def __init__(self, hidden: int, num_heads: int, window: int):
        super().__init__()
        self.num_heads = num_heads
        self.window = window
        self.k_proj = nn.Linear(hidden, hidden, bias=False)
        self.v_proj = nn.Linear(hidden, hidden, bias=False)
        self.q_proj = nn.Linear(hidden, hidden, bias=False)
        self.out_proj = nn.Linear(hidden, hidden)

    def forward(self, x: torch.Tensor, positions: torch.Tensor, past: Optional[KeyValue] = None,
                key_valid: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, KeyValue]:
        """x [B, T, H] (the T newest positions; ``positions`` unused: learned embeddings)."""
        nh = self.num_heads
        q, k, v = (_split_heads(self.q_proj(x), nh), _split_heads(self.k_proj(x), nh),
                   _split_heads(self.v_proj(x), nh))
        y, present = attend(q, k, v, past, key_valid, self.window, lambda s: s)
        return self.out_proj(y), present


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    """GPT-NeoX's half split: cat(-x2, x1)."""
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


class GPTNeoXAttention(nn.Module):
    """GPT-NeoX ("attention"): query_key_value per head [q | k | v], partial rotary, dense."""

    def __init__(self, hidden: int, num_heads: int, rotary_pct: float, rotary_emb_base: float,
                 bias: bool):
        super().__init__()
        self.num_heads = num_heads
        self.head_size = hidden // num_heads
        self.rotary_ndims = int(self.head_size * rotary_pct)
        self.base = rotary_emb_base
        self.norm_factor = self.head_size ** -0.5
        self.query_key_value = nn.Linear(hidden, 3 * hidden, bias=bias)
        self.dense = nn.Linear(hidden, hidden, bias=bias)

    def _cos_sin(self, positions: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """cos, sin [B or 1, 1, T, rotary_ndims] of the position ids [B or 1, T] (HF's cached
        tables: outer(t, inv_freq), cat(freqs, freqs), indexed by position)."""
        d = self.rotary_ndims
        inv_freq = 1.0 / (self.base ** (torch.arange(0, d, 2, dtype=torch.int64).float() / d))
        freqs = positions.to(torch.float32)[..., None] * inv_freq.to(positions.device)
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos().unsqueeze(1), emb.sin().unsqueeze(1)

    def forward(self, x: torch.Tensor, positions: torch.Tensor, past: Optional[KeyValue] = None,
                key_valid: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, KeyValue]:
        """x [B, T, H]; ``positions`` [B or 1, T] the rotary position ids."""
        b, t, _ = x.shape
        hs, r = self.head_size, self.rotary_ndims
        qkv = self.query_key_value(x).view(b, t, self.num_heads, 3 * hs)
        q = qkv[..., :hs].permute(0, 2, 1, 3)
        k = qkv[..., hs:2 * hs].permute(0, 2, 1, 3)
        v = qkv[..., 2 * hs:].permute(0, 2, 1, 3)
        if r > 0:
            cos, sin = self._cos_sin(positions)
            q_rot, k_rot = q[..., :r], k[..., :r]
            q = torch.cat((q_rot * cos + rotate_half(q_rot) * sin, q[..., r:]), dim=-1)
            k = torch.cat((k_rot * cos + rotate_half(k_rot) * sin, k[..., r:]), dim=-1)
        norm = self.norm_factor
        y, present = attend(q, k, v, past, key_valid, 0, lambda s: s * norm)
        return self.dense(y), present


class GPT2Attention(nn.Module):
    """GPT-2 ("attn"): c_attn Conv1D -> contiguous [Q | K | V], scores / sqrt(head_dim),
    c_proj Conv1D."""

    def __init__(self, hidden: int, num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.hidden = hidden
        self.c_attn = Conv1D(hidden, 3 * hidden)
        self.c_proj = Conv1D(hidden, hidden)

    def forward(self, x: torch.Tensor, positions: torch.Tensor, past: Optional[KeyValue] = None,
                key_valid: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, KeyValue]:
        """x [B, T, H] (``positions`` unused: learned embeddings)."""
        q, k, v = self.c_attn(x).split(self.hidden, dim=2)
        nh = self.num_heads
        root = float(v.shape[-1] // nh) ** 0.5
        y, present = attend(_split_heads(q, nh), _split_heads(k, nh), _split_heads(v, nh), past,
                            key_valid, 0, lambda s: s / root)
        return self.c_proj(y), present
