"""The non-local block: every position attends to every other position in space and time.

Non-local Neural Networks
Wang, Girshick, Gupta, He. CVPR 2018. https://arxiv.org/abs/1711.07971

A non-local operation computes the response at a position i as a weighted sum over *all* positions j:
``y_i = 1/C(x) sum_j f(x_i, x_j) g(x_j)``; the block adds it back through a 1x1x1 conv, ``z = W_z y + x``.
Convolutions only see a local window, so long-range dependencies (an object at the start of a clip and
its effect at the end) need many layers; one non-local block sees the whole clip at once.

    x (B, C, T, H, W) --theta 1x1x1--> (B, C', THW) ----\\
                      --(max pool 1x2x2) phi 1x1x1--> f(theta_i, phi_j) --normalise--> A (B, THW, THW')
                      --(max pool 1x2x2) g   1x1x1--> (B, C', THW') --------- A @ g --> y (B, C', THW)
    z = x + BN(W_z y)       W_z: 1x1x1 conv C' -> C; BN scale initialised to 0, so a new block is the identity
                            (``zero_init=False``: default BN init, for short runs from scratch)

Pairwise functions (Sec. 3.2): ``gaussian`` exp(x_i . x_j) on the raw features (softmax over j);
``embedded_gaussian`` softmax_j(theta_i . phi_j / sqrt(C')) by default, the scaled dot-product attention of
transformers, as the official code computes it (``NONLOCAL.USE_SCALE = True`` in
facebookresearch/video-nonlocal-net); ``scale=False`` gives the paper's Eq. 3, exp(theta_i . phi_j)
normalised without the scale. ``dot_product`` theta_i . phi_j / N; ``concatenation``
ReLU(w_f . [theta_i, phi_j]) / N. ``dims`` chooses the positions: ``"spacetime"`` (the paper's default),
``"space"`` (within each frame) or ``"time"`` (across frames at each pixel).
C' = C / 2 (the bottleneck); ``subsample`` max-pools the input of phi and g by 2 in space (time for
``"time"``), a quarter of the pairwise computation. The pool sits *before* the phi and g convolutions, as in
the official code (``nonlocal_helper.py``), which also makes those two convolutions 4x cheaper; the paper's
text puts it after them. One more departure: the pool rounds up (``ceil_mode``) so that the odd and 1x1
maps of the miniature networks keep a key (the official pool rounds down: 7x7 -> 3x3 instead of 4x4).
``keep_attention=True`` stores the last attention maps for plots.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from einops import rearrange

MODES = ("embedded_gaussian", "gaussian", "dot_product", "concatenation")
DIMS = ("spacetime", "space", "time")


class NonLocal(nn.Module):
    """A non-local block (residual), for ``(B, C, T, H, W)`` feature maps.

    Args:
        channels: C, the input (and output) channels.
        inter_channels: C' of theta, phi, g; ``channels // 2`` by default (the paper's bottleneck).
        mode: the pairwise function, one of ``MODES``.
        scale: for the softmax forms on embeddings (``embedded_gaussian``), divide theta_i . phi_j by
            sqrt(C') before the softmax (default, the official code's ``USE_SCALE``); ``False`` is the
            paper's unscaled Eq. 3. The plain ``gaussian`` (no embedding) is never scaled, as in the paper.
        dims: which positions attend to each other, one of ``DIMS``.
        subsample: max-pool phi and g (1x2x2; 2x1x1 for ``dims="time"``).
        norm: BN after W_z (the paper's); without it the block adds ``W_z y`` directly.
        zero_init: start the block as the identity (the paper's choice, so blocks can be inserted into a
            pretrained network without changing it): the BN scale (or, without ``norm``, W_z) starts at 0.
            ``False`` keeps PyTorch's default initialisation (BN scale 1), which a network trained from
            scratch in a short run can learn from sooner: with a zero scale, theta, phi, g and W_z get no
            gradient until the scale itself has moved away from 0.
        keep_attention: store the last attention ``(B', N_query, N_key)`` in ``self.attention``.

    Shape: ``(B, C, T, H, W) -> (B, C, T, H, W)``.
    """

    def __init__(self, channels: int, inter_channels: Optional[int] = None, mode: str = "embedded_gaussian",
                 dims: str = "spacetime", subsample: bool = True, norm: bool = True,
                 zero_init: bool = True, keep_attention: bool = False, scale: bool = True):
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if dims not in DIMS:
            raise ValueError(f"dims must be one of {DIMS}, got {dims!r}")
        self.channels, self.mode, self.dims, self.scale = channels, mode, dims, scale
        self.inter = inter_channels or max(1, channels // 2)
        if mode != "gaussian":  # the plain Gaussian compares the raw features: no theta / phi
            self.theta = nn.Conv3d(channels, self.inter, 1)
            self.phi = nn.Conv3d(channels, self.inter, 1)
        self.g = nn.Conv3d(channels, self.inter, 1)
        if mode == "concatenation":  # w_f . [theta_i, phi_j] = w_theta . theta_i + w_phi . phi_j
            self.w_f = nn.Linear(2 * self.inter, 1, bias=False)
        pool = (2, 1, 1) if dims == "time" else (1, 2, 2)
        self.pool = nn.MaxPool3d(pool, pool, ceil_mode=True) if subsample else nn.Identity()
        self.w_z = nn.Conv3d(self.inter, channels, 1)
        self.bn: Optional[nn.BatchNorm3d] = nn.BatchNorm3d(channels) if norm else None
        if zero_init and norm:
            nn.init.zeros_(self.bn.weight)
            nn.init.zeros_(self.bn.bias)
        elif zero_init:
            nn.init.zeros_(self.w_z.weight)
            nn.init.zeros_(self.w_z.bias)
        self.keep_attention = keep_attention
        self.attention: Optional[torch.Tensor] = None

    def _positions(self, x: torch.Tensor) -> torch.Tensor:
        """Group positions for ``dims``: ``(B, C, T, H, W) -> (B', N, C)``."""
        if self.dims == "spacetime":
            return rearrange(x, "b c t h w -> b (t h w) c")  # (B, THW, C)
        if self.dims == "space":
            return rearrange(x, "b c t h w -> (b t) (h w) c")  # (B*T, HW, C)
        return rearrange(x, "b c t h w -> (b h w) t c")  # (B*H*W, T, C)

    def attention_weights(self, x: torch.Tensor) -> torch.Tensor:
        """The normalised pairwise weights ``f / C(x)``: ``(B', N_query, N_key)``.

        For ``dims="spacetime"`` B' = B and N = T*H*W, query positions ordered ``(t h w)``; the keys are the
        subsampled positions (``(t, ceil(h/2), ceil(w/2))`` with ``subsample``).
        """
        if x.dim() != 5 or x.shape[1] != self.channels:
            raise ValueError(f"NonLocal expects (B, C={self.channels}, T, H, W), got {tuple(x.shape)}")
        if self.mode == "gaussian":
            q, k = self._positions(x), self._positions(self.pool(x))  # (B', N, C), (B', N', C)
        else:
            q = self._positions(self.theta(x))  # (B', N, C')
            k = self._positions(self.phi(self.pool(x)))  # (B', N', C'): pool first, as the official code
        if self.mode == "gaussian":
            return torch.softmax(q @ k.transpose(1, 2), dim=-1)  # (B', N, C) x (B', C, N') -> (B', N, N')
        if self.mode == "embedded_gaussian":
            logits = q @ k.transpose(1, 2)  # (B', N, C') x (B', C', N') -> (B', N, N')
            return torch.softmax(logits * self.inter ** -0.5 if self.scale else logits, dim=-1)
        if self.mode == "dot_product":
            return (q @ k.transpose(1, 2)) / k.shape[1]  # (B', N, N'), normalised by N'
        w_q, w_k = self.w_f.weight[0, :self.inter], self.w_f.weight[0, self.inter:]
        f = F.relu((q @ w_q)[:, :, None] + (k @ w_k)[:, None, :])  # (B', N, 1) + (B', 1, N') -> (B', N, N')
        return f / k.shape[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, t, h, w = x.shape
        attn = self.attention_weights(x)  # (B', N, N')
        if self.keep_attention:
            self.attention = attn.detach()
        v = self._positions(self.g(self.pool(x)))  # (B', N', C')
        y = attn @ v  # (B', N, N') x (B', N', C') -> (B', N, C')
        if self.dims == "spacetime":
            y = rearrange(y, "b (t h w) c -> b c t h w", t=t, h=h, w=w)  # (B, C', T, H, W)
        elif self.dims == "space":
            y = rearrange(y, "(b t) (h w) c -> b c t h w", b=b, h=h, w=w)  # (B, C', T, H, W)
        else:
            y = rearrange(y, "(b h w) t c -> b c t h w", b=b, h=h, w=w)  # (B, C', T, H, W)
        z = self.w_z(y)  # (B, C, T, H, W)
        if self.bn is not None:
            z = self.bn(z)
        return x + z  # (B, C, T, H, W)
