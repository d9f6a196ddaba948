"""Pooling attention's parts (MViT, MViTv2): pooling a token grid, and v2's decomposed relative position bias.

Multiscale Vision Transformers. Fan et al., ICCV 2021 (Sec. 3.1, pooling attention) and MViTv2, Li et al.,
CVPR 2022 (Sec. 4.1, Eq. 4, the decomposed relative position bias); official code facebookresearch/SlowFast
(``slowfast/models/attention.py``), torchvision ``models/video/mvit.py`` (whose parameter names these use).

Tokens are ``(B, heads, 1 + T*H*W, C)``: a class token first, then the grid in ``(t h w)`` order. Used by
:mod:`vidlearn.models.mvit`.
"""

from __future__ import annotations

import math
from typing import Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

Grid3 = Tuple[int, int, int]  # (T', H', W'): the token grid


def conv_out(grid: Sequence[int], kernel: Sequence[int], stride: Sequence[int], padding: Sequence[int]) -> Grid3:
    """The grid a conv or pool with these settings leaves: ``(n + 2p - k) // s + 1`` per axis."""
    return tuple((n + 2 * p - k) // s + 1 for n, k, s, p in zip(grid, kernel, stride, padding))


def pool_tokens(x: torch.Tensor, pool: nn.Module, grid: Grid3) -> Tuple[torch.Tensor, Grid3]:
    """Pool the grid tokens of ``x`` in 3D; the class token (first) passes unchanged.

    Shape: ``(B, heads, 1+T*H*W, C) -> (B, heads, 1+T'*H'*W', C)`` and the new grid ``(T', H', W')``.
    """
    b, n, _, c = x.shape
    cls, tokens = x[:, :, :1], x[:, :, 1:]
    tokens = tokens.transpose(2, 3).reshape(b * n, c, *grid)  # (B*heads, C, T, H, W)
    tokens = pool(tokens)  # (B*heads, C, T', H', W')
    new_grid = tuple(tokens.shape[2:])
    tokens = tokens.reshape(b, n, c, math.prod(new_grid)).transpose(2, 3)  # (B, heads, T'*H'*W', C)
    return torch.cat([cls, tokens], dim=2), new_grid


class AttentionPool(nn.Module):
    """The pooling of MHPA: a depthwise (per channel) strided 3D conv over the token grid, then LayerNorm.

    Shape: ``(B, heads, 1+N, C) -> (B, heads, 1+N', C)`` and the new grid.
    """

    def __init__(self, dim: int, kernel: Grid3, stride: Grid3, eps: float):
        super().__init__()
        self.pool = nn.Conv3d(dim, dim, kernel, stride=stride, padding=[k // 2 for k in kernel], groups=dim,
                              bias=False)
        self.norm_act = nn.Sequential(nn.LayerNorm(dim, eps=eps))  # torchvision's name: pool_q.norm_act.0

    def forward(self, x: torch.Tensor, grid: Grid3) -> Tuple[torch.Tensor, Grid3]:
        x, grid = pool_tokens(x, self.pool, grid)  # (B, heads, 1+N', C)
        return self.norm_act(x), grid


def relative_table(table: torch.Tensor, q_size: int, k_size: int) -> torch.Tensor:
    """``R[i, j] = table[offset + i - j]`` for one axis: ``(q_size, k_size, C)`` (MViTv2 Eq. 4).

    Query and key grids may differ (keys are pooled more): positions are scaled to the finer grid, so the
    distance counts in units of the finer grid's steps. The table holds ``2 * max(q, k) - 1`` distances.
    """
    length = 2 * max(q_size, k_size) - 1
    if table.shape[0] != length:  # another grid: resample the table (official code: linear)
        table = F.interpolate(table.t()[None], size=length, mode="linear")[0].t()  # (length, C)
    q_scale, k_scale = max(k_size / q_size, 1.0), max(q_size / k_size, 1.0)
    q_pos = torch.arange(q_size, device=table.device)[:, None] * q_scale  # (q, 1)
    k_pos = (torch.arange(k_size, device=table.device)[None, :] + (1.0 - k_size)) * k_scale  # (1, k): shifted
    return table[(q_pos - k_pos).long()]  # (q, k, C): the most negative distance reads row 0


def relative_position_bias(q: torch.Tensor, q_grid: Grid3, k_grid: Grid3, rel_t: torch.Tensor,
                           rel_h: torch.Tensor, rel_w: torch.Tensor) -> torch.Tensor:
    """MViTv2's decomposed relative position bias, added to the attention logits (before softmax).

    ``bias[i, j] = q_i . (R_t[t(i), t(j)] + R_h[h(i), h(j)] + R_w[w(i), w(j)])``: three small tables instead
    of one entry per pair of positions. The class token (row and column 0) gets no bias.

    Shape: q ``(B, heads, 1+Nq, C)`` -> ``(B, heads, 1+Nq, 1+Nk)``.
    """
    b, n, _, c = q.shape
    (qt, qh, qw), (kt, kh, kw) = q_grid, k_grid
    r_q = q[:, :, 1:].reshape(b, n, qt, qh, qw, c)  # (B, heads, qt, qh, qw, C)
    by_t = torch.einsum("bnthwc,tkc->bnthwk", r_q, relative_table(rel_t, qt, kt))  # (B, heads, qt, qh, qw, kt)
    by_h = torch.einsum("bnthwc,hkc->bnthwk", r_q, relative_table(rel_h, qh, kh))  # (..., kh)
    by_w = torch.einsum("bnthwc,wkc->bnthwk", r_q, relative_table(rel_w, qw, kw))  # (..., kw)
    bias = by_t[..., :, None, None] + by_h[..., None, :, None] + by_w[..., None, None, :]  # (..., kt, kh, kw)
    bias = bias.reshape(b, n, qt * qh * qw, kt * kh * kw)  # (B, heads, Nq, Nk)
    return F.pad(bias, (1, 0, 1, 0))  # (B, heads, 1+Nq, 1+Nk)
