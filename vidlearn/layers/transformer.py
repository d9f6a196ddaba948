"""Pieces every video transformer of the book shares: stochastic depth (drop path) and the two-layer MLP.

TimeSformer, ViViT, MViT and VideoMAE build their blocks from these, as the official code of each builds them
from timm's ``DropPath`` and ``Mlp``. One definition keeps the four models' state dicts (``fc1``, ``fc2``) and
their numerics the same.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

GELUS = ("none", "tanh")  # exact GELU (timm, TimeSformer, VideoMAE) or its tanh approximation (ViViT's JAX code)


def drop_path_mask(x: torch.Tensor, p: float, training: bool) -> Optional[torch.Tensor]:
    """Stochastic depth's per-sample factor ``(B, 1, 1)``: 0 with probability ``p``, else ``1 / (1 - p)``.

    ``None`` when nothing is dropped (``p == 0`` or eval mode). One mask serves every residual of a sample
    that belongs to the same branch (the class token's and the patches').
    """
    if p == 0.0 or not training:
        return None
    keep = torch.rand((x.shape[0],) + (1,) * (x.dim() - 1), device=x.device) >= p  # (B, 1, 1)
    return keep.to(x.dtype) / (1 - p)


def drop_path(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Stochastic depth: zero a sample's whole residual branch with probability ``p`` (training only)."""
    mask = drop_path_mask(x, p, training)
    return x if mask is None else x * mask


class Mlp(nn.Module):
    """The transformer's two-layer GELU MLP. Shape: ``(B, L, D) -> (B, L, D)``.

    ``gelu``: ``"none"`` (exact) or ``"tanh"`` (the approximation ViViT's JAX code uses).
    """

    def __init__(self, dim: int, hidden: int, drop: float, gelu: str = "none"):
        super().__init__()
        if gelu not in GELUS:
            raise ValueError(f"gelu must be one of {GELUS}, got {gelu!r}")
        self.fc1, self.fc2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)
        self.drop, self.gelu = nn.Dropout(drop), gelu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.fc2(self.drop(F.gelu(self.fc1(x), approximate=self.gelu))))  # (B, L, D)
