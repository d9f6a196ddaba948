"""Patch and tubelet embeddings for video transformers: a clip cut into pieces, each mapped to ``D``.

- :class:`PatchEmbed` (ViT, TimeSformer): a ``P x P`` convolution with stride ``P`` embeds the patches of
  each frame independently (no temporal extent: one token per patch per frame).
- :class:`TubeletEmbed` (ViViT): a ``t x h x w`` convolution with the same stride embeds space-time
  tubelets, one token per tubelet; :func:`inflate_patch_embedding` starts it from an image ViT's patch
  filter (ViViT's central-frame initialisation).

Tokens come out in ``(t h w)`` order: time-major, then row, then column. Used by
:mod:`vidlearn.models.timesformer` and :mod:`vidlearn.models.vivit`.
"""

from __future__ import annotations

from typing import Optional, Tuple

import torch
import torch.nn as nn
from einops import rearrange

from vidlearn.layers.checks import check_video
from vidlearn.layers.inflate import inflate_weight

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


def inflate_patch_embedding(weight_2d: torch.Tensor, t: int, method: str = "central_frame") -> torch.Tensor:
    """An image ViT's patch filter ``(D, C, h, w)`` as a tubelet filter ``(D, C, t, h, w)`` (paper Sec. 3.4).

    ``central_frame``: zero at every temporal position except the centre ``t // 2``, which holds the 2D
    filter (the paper's best, Table 1): at initialisation a token sees one frame of its tubelet.
    ``filter_inflation``: the 2D filter replicated ``t`` times and divided by ``t`` (I3D): a static tubelet
    gives the 2D filter's response.
    """
    methods = {"central_frame": "center", "filter_inflation": "bootstrap"}
    if method not in methods:
        raise ValueError(f"method must be one of {tuple(methods)}, got {method!r}")
    return inflate_weight(weight_2d, t, methods[method])  # (D, C, t, h, w)


class TubeletEmbed(nn.Module):
    """Tubelet embedding: a Conv3d with kernel = stride = ``(t, h, w)``, one token per tubelet.

    Shape: ``(B, C, T, H, W)`` -> tokens ``(B, n_t*n_h*n_w, D)`` in ``(t h w)`` order and the grid.
    """

    def __init__(self, tubelet_size: Tuple[int, int, int], in_chans: int, embed_dim: int):
        super().__init__()
        self.tubelet_size = tuple(tubelet_size)
        self.proj = nn.Conv3d(in_chans, embed_dim, kernel_size=self.tubelet_size, stride=self.tubelet_size)

    @torch.no_grad()
    def load_2d(self, weight_2d: torch.Tensor, bias: Optional[torch.Tensor] = None,
                method: str = "central_frame") -> None:
        """Initialise from an image ViT's patch embedding (see :func:`inflate_patch_embedding`)."""
        self.proj.weight.copy_(inflate_patch_embedding(weight_2d, self.tubelet_size[0], method))
        if bias is not None:
            self.proj.bias.copy_(bias)

    def forward(self, x: torch.Tensor, model: str = "TubeletEmbed") -> Tuple[torch.Tensor, Grid3]:
        (t, h, w), (_, _, frames, height, width) = self.tubelet_size, x.shape
        if frames % t or height % h or width % w:
            raise ValueError(
                f"{model} cuts the clip into {t}x{h}x{w} tubelets (t x h x w), so T, H and W must be multiples "
                f"of {t}, {h} and {w}; got T x H x W = {frames} x {height} x {width} (shape {tuple(x.shape)})"
            )
        x = self.proj(x)  # (B, D, n_t, n_h, n_w)
        grid = tuple(x.shape[2:])
        return rearrange(x, "b d t h w -> b (t h w) d"), grid  # (B, n_t*n_h*n_w, D)
