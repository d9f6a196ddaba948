"""Turning flow fields into a temporal-stream input: stacking and 8-bit quantisation.

Two-Stream Convolutional Networks for Action Recognition in Videos
Simonyan, Zisserman. NeurIPS 2014. https://arxiv.org/abs/1406.2199 (Sec. 3.1, "optical flow stacking")

The temporal stream is an ordinary 2D CNN whose input has ``2L`` channels: the horizontal and vertical
flow of ``L`` consecutive frame pairs (the paper uses ``L = 10``). Channel ``2k`` holds ``dx`` and channel
``2k + 1`` holds ``dy`` of pair ``start + k`` (the paper's ``I(u, v, 2k-1) = d^x``, ``I(u, v, 2k) = d^y``
with 1-based ``k``), so the order is

    [x_t, y_t, x_{t+1}, y_{t+1}, ..., x_{t+L-1}, y_{t+L-1}]        (2L, H, W)

Quantisation is the storage trick of the two-stream papers and of TSN (Wang et al., ECCV 2016): clip
flow to ``[-bound, bound]`` (20 pixels in TSN's ``dense_flow`` tool) and rescale linearly to
``[0, 255]``, so a field becomes two 8-bit images that compress as JPEG/PNG (or ``.npz``) and load fast.
Rounding costs at most half a step, ``bound / 255`` pixels, inside the bound.

Every function here takes numpy arrays or torch tensors and returns the same kind.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import torch
from einops import rearrange

Array = TypeVar("Array", np.ndarray, torch.Tensor)

PAPER_STACK_LENGTH = 10  # L in Two-Stream (Simonyan & Zisserman 2014) and TSN


def _check_flow(flow: Array, layout: str) -> None:
    if not isinstance(flow, (np.ndarray, torch.Tensor)):
        raise TypeError(f"expected flow as a numpy array or torch tensor, got {type(flow).__name__}")
    if flow.ndim < 4 or flow.shape[-4] != 2:
        raise ValueError(
            f"expected flow of shape {layout} with 2 channels (dx, dy), got shape {tuple(flow.shape)}"
        )


def stack_clip(flow: Array) -> Array:
    """Stack a clip's ``L`` fields into ``2L`` channels in the paper's order ``[x_t, y_t, x_{t+1}, ...]``.

    Shape: ``(..., 2, L, H, W) -> (..., 2L, H, W)`` (leading batch dimensions are kept).
    """
    _check_flow(flow, "(..., 2, L, H, W)")
    return rearrange(flow, "... c l h w -> ... (l c) h w")  # (..., 2L, H, W)


def stack_flow(flow: Array, start: int = 0, length: int = PAPER_STACK_LENGTH) -> Array:
    """The two-stream input at time ``start``: fields ``start .. start + length - 1`` stacked.

    Args:
        flow: ``(2, T', H, W)`` (e.g. :func:`~vidlearn.flow.compute_flow`'s output, ``T' = T - 1``).
        start: index of the first field.
        length: ``L``, the number of fields (10 in the paper).

    Shape: ``(2, T', H, W) -> (2L, H, W)``, channels ``[x_start, y_start, x_{start+1}, y_{start+1}, ...]``.
    """
    _check_flow(flow, "(2, T, H, W)")
    if flow.ndim != 4:
        raise ValueError(f"expected flow of shape (2, T, H, W), got shape {tuple(flow.shape)}")
    fields = flow.shape[1]
    if length < 1 or start < 0 or start + length > fields:
        raise ValueError(
            f"cannot stack fields {start} .. {start + length - 1}: flow has {fields} fields "
            f"(shape {tuple(flow.shape)}); need 0 <= start and start + length <= {fields}, length >= 1"
        )
    return stack_clip(flow[:, start:start + length])  # (2L, H, W)


def unstack_flow(stacked: Array) -> Array:
    """Undo :func:`stack_clip`: ``(..., 2L, H, W) -> (..., 2, L, H, W)``."""
    if stacked.ndim < 3 or stacked.shape[-3] % 2:
        raise ValueError(
            f"expected stacked flow (..., 2L, H, W) with an even channel count, got {tuple(stacked.shape)}"
        )
    return rearrange(stacked, "... (l c) h w -> ... c l h w", c=2)  # (..., 2, L, H, W)


def _check_bound(bound: float) -> None:
    if not bound > 0:
        raise ValueError(f"bound must be a positive number of pixels, got {bound}")


def quantize_flow(flow: Array, bound: float = 20.0) -> Array:
    """Clip flow to ``[-bound, bound]`` pixels and map it linearly to uint8 ``[0, 255]``.

    ``-bound -> 0``, ``0 -> 128`` (127.5 rounded), ``+bound -> 255``. Any shape; numpy in, numpy out;
    torch in, torch out.
    """
    _check_bound(bound)
    scale = 255.0 / (2 * bound)
    if isinstance(flow, torch.Tensor):
        return ((flow.float().clamp(-bound, bound) + bound) * scale).round().to(torch.uint8)
    flow = np.asarray(flow, dtype=np.float32)
    return np.rint((np.clip(flow, -bound, bound) + bound) * scale).astype(np.uint8)


def dequantize_flow(quantized: Array, bound: float = 20.0) -> Array:
    """Invert :func:`quantize_flow`: uint8 -> float32 pixels, at most ``bound / 255`` off inside the bound."""
    _check_bound(bound)
    is_uint8 = quantized.dtype == (torch.uint8 if isinstance(quantized, torch.Tensor) else np.uint8)
    if not is_uint8:
        raise TypeError(f"expected uint8 quantised flow (from quantize_flow), got dtype {quantized.dtype}")
    step = 2 * bound / 255.0
    if isinstance(quantized, torch.Tensor):
        return quantized.float() * step - bound
    return (quantized.astype(np.float32) * step - bound).astype(np.float32)
