"""Multi-head self-attention, and attention restricted to the groups of one space-time step.

``Attention`` is the ViT layer (``qkv`` and ``proj`` linear maps, names as in timm). Its forward runs
``torch.nn.functional.scaled_dot_product_attention`` (fused kernels); :func:`softmax_attention` is the same
computation written out, which also returns the attention weights for visualisation.

TimeSformer's schemes factorise attention into steps (see :mod:`vidlearn.layers.attention_pattern`); each
step lets patches interact only inside groups: the frame (``space``), the position across frames
(``time``), a row (``width``), a column (``height``), a quadrant across frames (``local``), a stride-2
sub-grid (``global``), or everything (``space_time``). :func:`to_groups` regroups the ``(t h w)``-ordered
patch tokens so that each group is one short sequence, and :func:`attend_in_groups` runs the attention
with an optional class token that joins every group and is averaged back, as in the official divided
block. Used by :mod:`vidlearn.models.timesformer` (the TimeSformer chapter).
"""

from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from einops import rearrange, repeat

Grid = Sequence[int]  # (T, H, W): frames, patch rows, patch columns


def softmax_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: Optional[torch.Tensor] = None,
    dropout_p: float = 0.0,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Attention written out: ``softmax(q k^T / sqrt(d) + mask) v``; returns the output and the weights.

    ``mask`` is boolean, True where a query may attend to a key, broadcastable to ``(..., Lq, Lk)``.

    Shape: q ``(..., Lq, d)``, k and v ``(..., Lk, d)`` -> output ``(..., Lq, d)``, weights ``(..., Lq, Lk)``.
    """
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (..., Lq, d) x (..., d, Lk) -> (..., Lq, Lk)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = scores.softmax(dim=-1)  # (..., Lq, Lk)
    if dropout_p > 0:
        weights = F.dropout(weights, dropout_p)
    return weights @ v, weights  # (..., Lq, Lk) x (..., Lk, d) -> (..., Lq, d)


class Attention(nn.Module):
    """Multi-head self-attention of ViT.

    Args:
        dim: token width ``D``; ``num_heads`` must divide it.
        qkv_bias: bias in the ``qkv`` projection (ViT and TimeSformer use one).
        attn_drop, proj_drop: dropout on the attention weights and on the output; training mode only.
        use_sdpa: run ``F.scaled_dot_product_attention``; False runs :func:`softmax_attention` (same numbers).

    Shape:
        x: ``(B, L, D)``; mask: boolean, broadcastable to ``(B, heads, L, L)``, True = may attend.
        returns: ``(B, L, D)``, or ``((B, L, D), (B, heads, L, L))`` with ``return_weights=True``.
    """

    def __init__(self, dim: int, num_heads: int, qkv_bias: bool = True, attn_drop: float = 0.0,
                 proj_drop: float = 0.0, use_sdpa: bool = True):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"attention width {dim} must be divisible by num_heads={num_heads}")
        self.num_heads = num_heads
        self.attn_drop = attn_drop
        self.use_sdpa = use_sdpa
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None, return_weights: bool = False):
        qkv = rearrange(self.qkv(x), "b l (three nh hd) -> three b nh l hd", three=3, nh=self.num_heads)
        q, k, v = qkv.unbind(0)  # (B, nh, L, hd) each
        dropout_p = self.attn_drop if self.training else 0.0  # never in eval mode
        weights = None
        if return_weights or not self.use_sdpa:
            out, weights = softmax_attention(q, k, v, mask, dropout_p)  # (B, nh, L, hd), (B, nh, L, L)
        else:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p)  # as above
        out = self.proj_drop(self.proj(rearrange(out, "b nh l hd -> b l (nh hd)")))  # (B, L, D)
        return (out, weights) if return_weights else out


def _pad_to_even(x: torch.Tensor, grid: Grid, pad_time: bool) -> Tuple[torch.Tensor, torch.Tensor]:
    """Zero-pad the patch grid to even ``H, W`` (and ``T`` when ``pad_time``) so it splits in 2 per axis.

    Returns the padded tokens ``(B, T', H', W', D)`` and the ``(T', H', W')`` mask of real patches.
    """
    t, h, w = grid
    x = rearrange(x, "b (t h w) d -> b t h w d", t=t, h=h, w=w)  # (B, T, H, W, D)
    pt, ph, pw = (t % 2) * pad_time, h % 2, w % 2
    x = F.pad(x, (0, 0, 0, pw, 0, ph, 0, pt))  # (B, T', H', W', D)
    real = torch.zeros(t + pt, h + ph, w + pw, dtype=torch.bool, device=x.device)
    real[:t, :h, :w] = True
    return x, real


def to_groups(x: torch.Tensor, step: str, grid: Grid) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
    """Regroup ``(t h w)``-ordered patch tokens into the independent sequences of one attention step.

    Returns the groups ``(B*G, L, D)`` (batch-major) and, for the steps that pad the grid to even sizes
    (``local``, ``global``), the ``(G, L)`` mask of real (not padding) tokens; otherwise None.

    Shape: x ``(B, T*H*W, D)`` -> ``(B*G, L, D)``, e.g. ``time``: ``G = H*W``, ``L = T``.
    """
    t, h, w = grid
    if step == "space_time":
        return x, None  # (B, THW, D): one group
    if step == "space":
        return rearrange(x, "b (t h w) d -> (b t) (h w) d", t=t, h=h, w=w), None  # (B*T, HW, D)
    if step == "time":
        return rearrange(x, "b (t h w) d -> (b h w) t d", t=t, h=h, w=w), None  # (B*HW, T, D)
    if step == "width":
        return rearrange(x, "b (t h w) d -> (b t h) w d", t=t, h=h, w=w), None  # (B*TH, W, D)
    if step == "height":
        return rearrange(x, "b (t h w) d -> (b t w) h d", t=t, h=h, w=w), None  # (B*TW, H, D)
    if step == "local":  # 2 x 2 quadrants, each across all frames
        x, real = _pad_to_even(x, grid, pad_time=False)  # (B, T, H', W', D)
        groups = rearrange(x, "b t (qh h) (qw w) d -> (b qh qw) (t h w) d", qh=2, qw=2)  # (B*4, THW'/4, D)
        return groups, rearrange(real, "t (qh h) (qw w) -> (qh qw) (t h w)", qh=2, qw=2)  # (4, L)
    if step == "global":  # stride 2 in t, h, w: 8 interleaved sub-grids
        x, real = _pad_to_even(x, grid, pad_time=True)  # (B, T', H', W', D)
        groups = rearrange(x, "b (t st) (h sh) (w sw) d -> (b st sh sw) (t h w) d", st=2, sh=2, sw=2)
        real = rearrange(real, "(t st) (h sh) (w sw) -> (st sh sw) (t h w)", st=2, sh=2, sw=2)  # (8, L)
        return groups, real  # groups: (B*8, T'H'W'/8, D)
    raise ValueError(f"unknown attention step {step!r}")


def from_groups(y: torch.Tensor, step: str, grid: Grid, batch: int) -> torch.Tensor:
    """Inverse of :func:`to_groups` (padding removed). Shape: ``(B*G, L, D)`` -> ``(B, T*H*W, D)``."""
    t, h, w = grid
    if step == "space_time":
        return y
    if step == "space":
        return rearrange(y, "(b t) (h w) d -> b (t h w) d", b=batch, h=h)
    if step == "time":
        return rearrange(y, "(b h w) t d -> b (t h w) d", b=batch, h=h)
    if step == "width":
        return rearrange(y, "(b t h) w d -> b (t h w) d", b=batch, t=t)
    if step == "height":
        return rearrange(y, "(b t w) h d -> b (t h w) d", b=batch, t=t)
    hp, wp = h + h % 2, w + w % 2  # padded sizes
    if step == "local":
        y = rearrange(y, "(b qh qw) (t h w) d -> b t (qh h) (qw w) d", b=batch, qh=2, qw=2,
                      h=hp // 2, w=wp // 2)
    elif step == "global":
        y = rearrange(y, "(b st sh sw) (t h w) d -> b (t st) (h sh) (w sw) d", b=batch, st=2, sh=2, sw=2,
                      h=hp // 2, w=wp // 2)
    else:
        raise ValueError(f"unknown attention step {step!r}")
    return rearrange(y[:, :t, :h, :w], "b t h w d -> b (t h w) d")  # (B, THW, D)


def attend_in_groups(
    attn: Attention, x: torch.Tensor, step: str, grid: Grid, cls: Optional[torch.Tensor] = None,
    return_weights: bool = False,
) -> Tuple[torch.Tensor, Optional[torch.Tensor], Optional[torch.Tensor]]:
    """Self-attention of one step: patches attend only within their group (plus the class token, if given).

    The class token is copied into every group (so each group's patches can read it) and its outputs
    are averaged over the groups that hold real patches, as the official divided block does per frame.

    Shape:
        x: ``(B, T*H*W, D)`` patch tokens in ``(t h w)`` order; cls: ``(B, 1, D)`` or None.
        returns: patches ``(B, T*H*W, D)``, cls ``(B, 1, D)`` or None, and with ``return_weights`` the
        grouped weights ``(B*G, heads, L, L)`` (``L`` counts the class token first when given), else None.
    """
    b = x.shape[0]
    if b == 0:  # an empty batch: nothing to attend to, the outputs are as empty
        return x, cls, None
    groups, real = to_groups(x, step, grid)  # (B*G, L, D), (G, L) or None
    g = groups.shape[0] // b
    keys = real if real is not None else torch.ones(g, groups.shape[1], dtype=torch.bool, device=x.device)
    if cls is not None:
        groups = torch.cat([repeat(cls, "b 1 d -> (b g) 1 d", g=g), groups], dim=1)  # (B*G, 1+L, D)
        keys = F.pad(keys, (1, 0), value=True)  # (G, 1+L)
    keys = keys | ~keys.any(dim=-1, keepdim=True)  # a group of padding only: let it attend, output dropped
    mask = None if real is None else repeat(keys, "g l -> (b g) 1 1 l", b=b)  # (B*G, 1, 1, L)
    out = attn(groups, mask=mask, return_weights=return_weights)
    out, weights = out if return_weights else (out, None)  # (B*G, L, D)
    cls_out = None
    if cls is not None:
        per_group = rearrange(out[:, 0], "(b g) d -> b g d", b=b)  # (B, G, D)
        has_patches = (real.any(dim=-1) if real is not None else torch.ones(g, device=x.device)).to(out.dtype)
        cls_out = (per_group * has_patches[:, None]).sum(1, keepdim=True) / has_patches.sum()  # (B, 1, D)
        out = out[:, 1:]  # (B*G, L, D)
    return from_groups(out, step, grid, b), cls_out, weights


def dense_weights(weights: torch.Tensor, step: str, grid: Grid, batch: int, with_cls: bool) -> torch.Tensor:
    """Scatter one step's grouped weights into a full ``(B, heads, M, M)`` map, ``M = [1 +] T*H*W``.

    Row ``q`` says how much query ``q``'s output draws on each token's value, so ``dense @ values`` equals
    the step's output; the class token's row is the average over groups, as its output is. Used for
    attention maps and attention rollout.
    """
    t, h, w = grid
    n = t * h * w
    index = torch.arange(1, n + 1, device=weights.device, dtype=weights.dtype)[None, :, None]  # (1, N, 1)
    index, real = to_groups(index, step, grid)  # (G, L, 1): patch number + 1, 0 for padding
    index = index[..., 0].round().long() - 1 + int(with_cls)  # (G, L): position in the full map
    if real is None:
        real = torch.ones_like(index, dtype=torch.bool)
    if with_cls:
        index = F.pad(index, (1, 0), value=0)  # (G, 1+L): the class token sits at 0
        real = F.pad(real, (1, 0), value=True)
    g, m = index.shape[0], n + int(with_cls)
    wg = rearrange(weights, "(b g) nh q k -> b nh g q k", b=batch)  # (B, nh, G, L, L)
    if with_cls:  # class-token row: mean over the groups that hold patches
        has_patches = real[:, 1:].any(dim=-1)  # (G,)
        scale = torch.ones(g, wg.shape[-2], 1, dtype=wg.dtype, device=wg.device)
        scale[:, 0] = has_patches[:, None].to(wg.dtype) / has_patches.sum()
        wg = wg * scale
    pairs = real[:, :, None] & real[:, None, :]  # (G, L, L)
    flat = (index[:, :, None] * m + index[:, None, :])[pairs]  # (P,) positions in the flattened map
    dense = torch.zeros(batch, wg.shape[1], m * m, dtype=wg.dtype, device=wg.device)
    dense.index_add_(2, flat, wg[:, :, pairs])  # (B, nh, M*M)
    return dense.view(batch, -1, m, m)  # (B, nh, M, M)
