"""Homework checker of the Non-local chapter: the embedded-Gaussian non-local block.

Non-local Neural Networks, Wang, Girshick, Gupta, He. CVPR 2018 (Eq. 1-3, Sec. 3.2-3.3). The reader writes
``z = W_z y + x`` with ``y_i = sum_j softmax_j(theta(x_i) . phi(x_j) / sqrt(C')) g(x_j)``; the reference is
:class:`vidlearn.layers.non_local.NonLocal` without subsampling and batch norm.
"""

from __future__ import annotations

from typing import Callable, List

import torch
import torch.nn as nn
from einops import rearrange

from vidlearn.exercises import _check, _compare, _Mismatch
from vidlearn.layers.non_local import NonLocal

__all__ = ["check_non_local_block"]


def check_non_local_block(fn: Callable[[torch.Tensor, nn.Module, nn.Module, nn.Module, nn.Module],
                                       torch.Tensor]) -> bool:
    """Check the embedded-Gaussian block ``fn(x (B, C, T, H, W), theta, phi, g, w_z) -> z (B, C, T, H, W)``.

    ``theta``, ``phi``, ``g`` are the 1x1x1 ``nn.Conv3d`` embeddings C -> C', ``w_z`` the 1x1x1 conv
    C' -> C. Expected, over all N = T*H*W positions (no subsampling, no batch norm)::

        y_i = sum_j softmax_j(theta(x_i) . phi(x_j) / sqrt(C')) g(x_j)       # (B, C', T, H, W)
        z = w_z(y) + x                                                       # (B, C, T, H, W)

    The 1/sqrt(C') scale is vidlearn's default (``scale=True``, the official code's ``USE_SCALE``); the
    paper's Eq. 3 has none, and the checker names that answer. Reference:
    :class:`vidlearn.layers.non_local.NonLocal` with ``subsample=False, norm=False``. ``x`` must not be
    modified.
    """
    hint = ("flatten the positions: q = theta(x) as (B, THW, C'), k = phi(x) as (B, C', THW), v = g(x) as "
            "(B, THW, C'); weights = softmax(q @ k / sqrt(C'), dim=-1), (B, THW, THW), each query's row over "
            "all keys j sums to 1; y = weights @ v, back to (B, C', T, H, W); return x + w_z(y). With "
            "einops.rearrange:\n"
            "    'b c t h w -> b (t h w) c'   and back   'b (t h w) c -> b c t h w'")

    def body(call) -> List[str]:
        tried = []
        for b, c, inter, t, h, w in [(2, 8, 4, 4, 3, 3), (1, 6, 3, 2, 4, 5), (2, 4, 2, 3, 2, 2),
                                     (1, 8, 5, 1, 3, 4)]:
            block = NonLocal(c, inter, subsample=False, norm=False, zero_init=False).eval()
            x = torch.randn(b, c, t, h, w)
            on = f"x of shape {(b, c, t, h, w)} (B, C, T, H, W) with C' = {inter}"
            x_in = x.clone()
            got = call(on, x_in, block.theta, block.phi, block.g, block.w_z)
            if not torch.equal(x_in, x):
                raise _Mismatch(f"on {on}, your function modified x in place: return a new tensor")
            with torch.no_grad():
                expected = block(x)  # (B, C, T, H, W)
                q = rearrange(block.theta(x), "b c t h w -> b (t h w) c")  # (B, N, C')
                k = rearrange(block.phi(x), "b c t h w -> b (t h w) c")  # (B, N, C')
                logits = q @ k.transpose(1, 2)  # (B, N, C') x (B, C', N) -> (B, N, N)
                unscaled = _output(block, x, torch.softmax(logits, dim=-1))
                over_queries = _output(block, x, torch.softmax(logits * inter ** -0.5, dim=1))
                by_c = _output(block, x, torch.softmax(logits / inter, dim=-1))
                dot_product = _output(block, x, logits / logits.shape[-1])
                y = torch.softmax(logits * inter ** -0.5, dim=-1) @ rearrange(
                    block.g(x), "b c t h w -> b (t h w) c")  # (B, N, N) x (B, N, C') -> (B, N, C')
                no_permute = x + block.w_z(y.reshape(b, inter, t, h, w))
            mistakes = {
                "It equals the paper's Eq. 3 without the scale: vidlearn (like the official code) divides "
                "theta_i . phi_j by sqrt(C') before the softmax": unscaled,
                "It looks like the softmax normalises over the queries i (dim 1 of the (B, THW, THW) weights) "
                "instead of over the keys j (the last dim): each query's weights must sum to 1": over_queries,
                "It is divided by C' instead of sqrt(C') before the softmax": by_c,
                "It equals W_z y without the residual: the block returns z = W_z y + x": expected - x,
                "It equals x itself: the block adds W_z y to its input": x,
                "It equals the dot-product form (theta_i . phi_j divided by N, no softmax): the embedded "
                "Gaussian normalises exp(theta_i . phi_j) over j with a softmax": dot_product,
                "It looks like y (B, THW, C') was reshaped to (B, C', T, H, W) without moving the channel axis "
                "first: permute it to (B, C', THW), then reshape": no_permute,
            }
            shape_hints = {(b, inter, t, h, w): "This is the shape of y: apply w_z (C' -> C) and add x",
                           (b, t * h * w, c): "Put the positions back into (B, C, T, H, W)",
                           (b, t * h * w, inter): "This is y with flattened positions: reshape it to "
                                                  "(B, C', T, H, W), apply w_z and add x"}

            def where(idx, h=h, w=w):
                _, _, tt, row, col = idx
                return f"query position {tt * h * w + row * w + col} in (t h w) order"

            _compare(got, expected, on, ("clip", "channel", "frame", "row", "col"), mistakes,
                     shape_hints=shape_hints, where=where)
            tried.append(f"{(b, c, t, h, w)} C'={inter}")
        return tried

    return _check("non-local block", fn, hint, body)


def _output(block: NonLocal, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``x + W_z y`` with ``y = weights @ g(x)``: the block's output for other (wrong) attention weights."""
    _, _, t, h, w = x.shape
    v = rearrange(block.g(x), "b c t h w -> b (t h w) c")  # (B, N, C')
    y = rearrange(weights @ v, "b (t h w) c -> b c t h w", t=t, h=h, w=w)  # (B, C', T, H, W)
    return x + block.w_z(y)  # (B, C, T, H, W)

