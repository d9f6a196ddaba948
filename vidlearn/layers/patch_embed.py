"""Patch embedding for video transformers: every frame cut into ``P x P`` patches, each mapped to ``D``.

As in ViT and TimeSformer, a ``P x P`` convolution with stride ``P`` embeds the patches of each frame
independently (no temporal extent: one token per patch per frame). Tokens come out in ``(t h w)`` order:
frame-major, then patch row, then patch column. Used by :mod:`vidlearn.models.timesformer`.
"""

from __future__ import annotations

from typing import Tuple

import torch
import torch.nn as nn
from einops import rearrange

from vidlearn.layers.checks import check_video

Grid3 = Tuple[int, int, int]  # (T, H', W'): frames, patch rows, patch columns


class PatchEmbed(nn.Module):
    """Per-frame patch embedding.

    Shape:
        x: ``(B, C, T, H, W)`` float with ``H`` and ``W`` multiples of ``patch_size``.
        returns: tokens ``(B, T*H'*W', D)`` in ``(t h w)`` order and the grid ``(T, H', W')``,
        ``H' = H / patch_size``, ``W' = W / patch_size``.
    """

    def __init__(self, patch_size: int = 16, in_chans: int = 3, embed_dim: int = 768):
        super().__init__()
        self.patch_size = patch_size
        self.in_chans = in_chans
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x: torch.Tensor, model: str = "PatchEmbed") -> Tuple[torch.Tensor, Grid3]:
        check_video(x, channels=self.in_chans, model=model)
        b, _, t, h, w = x.shape
        p = self.patch_size
        if h % p or w % p:
            raise ValueError(
                f"{model} cuts frames into {p}x{p} patches, so H and W must be multiples of {p}; "
                f"got H x W = {h} x {w} (shape {tuple(x.shape)}). Resize or crop to e.g. "
                f"{max(p, h // p * p)} x {max(p, w // p * p)}."
            )
        frames = rearrange(x, "b c t h w -> (b t) c h w")  # (B*T, C, H, W)
        patches = self.proj(frames)  # (B*T, D, H/P, W/P)
        grid = (t, h // p, w // p)
        return rearrange(patches, "(b t) d h w -> b (t h w) d", t=t), grid  # (B, T*H'*W', D); B may be 0
