"""Optical flow as colour: the Middlebury colour wheel.

A Database and Evaluation Methodology for Optical Flow
Baker, Scharstein, Lewis, Roth, Black, Szeliski. IJCV 2011. https://vision.middlebury.edu/flow/

Every flow paper shows flow the same way: the direction of a pixel's motion is its hue, the speed its
saturation, so still pixels are white and fast ones are vivid. The hues come from a wheel of 55 colours
sampled along red -> yellow -> green -> cyan -> blue -> magenta -> red, with more samples where the eye
tells hues apart best (the RY, YG, GC, CB, BM, MR segments have 15, 6, 4, 11, 13, 6 colours). We follow
the reference code (``colorcode.cpp`` / ``computeColor.m``): the angle is ``atan2(-dy, -dx)``, so
motion to the right is red, down yellow, left cyan-blue, up violet-blue, and speeds above
``max_magnitude`` are darkened.

    flow (2, ..., H, W) --/ max_magnitude--> (u, v) in the unit disc
        angle atan2(-v, -u) --> position on the 55-colour wheel (linear blend of two neighbours)
        radius             --> saturation: colour = 1 - radius * (1 - wheel colour)
    --> uint8 RGB (..., H, W, 3)

:func:`flow_wheel` draws the legend: the colour of each direction and speed. The flow chapter uses both.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import torch

# the wheel's six segments, as in the Middlebury reference code: (colours, channel held at 255,
# channel ramped, ramp rising?) for red->yellow, yellow->green, green->cyan, cyan->blue, blue->magenta,
# magenta->red
_SEGMENTS = ((15, 0, 1, True), (6, 1, 0, False), (4, 1, 2, True),
             (11, 2, 1, False), (13, 2, 0, True), (6, 0, 2, False))


def make_colorwheel() -> np.ndarray:
    """The 55 Middlebury wheel colours, float ``(55, 3)`` RGB in [0, 255], starting at red."""
    wheel = np.zeros((sum(seg[0] for seg in _SEGMENTS), 3))
    k = 0
    for n, held, ramped, rising in _SEGMENTS:
        ramp = np.floor(255 * np.arange(n) / n)  # 0 .. 255 over one segment
        wheel[k:k + n, held] = 255
        wheel[k:k + n, ramped] = ramp if rising else 255 - ramp
        k += n
    return wheel


_WHEEL = make_colorwheel()


def flow_to_rgb(flow: np.ndarray | torch.Tensor, max_magnitude: Optional[float] = None) -> np.ndarray:
    """Colour-code a flow field (or a stack of them) with the Middlebury wheel.

    Args:
        flow: ``(2, H, W)`` or ``(2, T, H, W)``, channel 0 = dx (right +), channel 1 = dy (down +), as
            :func:`~vidlearn.flow.compute_flow` returns; numpy or torch.
        max_magnitude: the speed (pixels) shown at full saturation; faster pixels are darkened. Default:
            the largest speed in ``flow`` (over the whole stack, so frames are comparable).

    Returns:
        uint8 RGB image ``(H, W, 3)`` or ``(T, H, W, 3)``; zero flow is white.

    Shape: ``(2, ..., H, W) -> (..., H, W, 3)``.
    """
    if isinstance(flow, torch.Tensor):
        flow = flow.detach().cpu().numpy()
    flow = np.asarray(flow)
    if flow.ndim not in (3, 4) or flow.shape[0] != 2:
        raise ValueError(
            f"expected flow of shape (2, H, W) or (2, T, H, W) with channels (dx, dy) first, got {flow.shape}"
        )
    u, v = np.nan_to_num(flow.astype(np.float64))  # (..., H, W) each
    radius = np.hypot(u, v)
    if max_magnitude is None:
        max_magnitude = float(radius.max())
    elif max_magnitude <= 0:
        raise ValueError(f"max_magnitude must be positive, got {max_magnitude}")
    scale = 1.0 / max(max_magnitude, 1e-8)
    u, v, radius = u * scale, v * scale, radius * scale

    n = len(_WHEEL)
    position = (np.arctan2(-v, -u) / np.pi + 1) / 2 * (n - 1)  # (..., H, W) in [0, n-1]
    k0 = np.floor(position).astype(int)
    k1 = (k0 + 1) % n
    frac = (position - k0)[..., None]  # (..., H, W, 1)
    colour = ((1 - frac) * _WHEEL[k0] + frac * _WHEEL[k1]) / 255  # (..., H, W, 3)

    inside = (radius <= 1)[..., None]
    saturated = 1 - radius[..., None] * (1 - colour)  # white at rest, the wheel colour at full speed
    colour = np.where(inside, saturated, colour * 0.75)
    return np.floor(255 * colour).astype(np.uint8)  # (..., H, W, 3)


def flow_wheel(size: int = 128) -> np.ndarray:
    """The legend of :func:`flow_to_rgb`: uint8 ``(size, size, 3)``.

    The pixel at column ``x``, row ``y`` has the colour of a flow pointing from the centre to it (right
    and down are positive, as in images); the rim is full speed, outside the disc is white.
    """
    if size < 2:
        raise ValueError(f"size must be at least 2 pixels, got {size}")
    axis = np.linspace(-1, 1, size)
    dy, dx = np.meshgrid(axis, axis, indexing="ij")  # (size, size) each
    image = flow_to_rgb(np.stack([dx, dy]), max_magnitude=1.0)  # (size, size, 3)
    image[np.hypot(dx, dy) > 1] = 255
    return image
