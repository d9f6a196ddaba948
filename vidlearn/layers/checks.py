"""Input checks shared by every model, so bad input gets a clear message, not a conv's shape error."""

from __future__ import annotations

from typing import Optional, Sequence

import torch


def check_video(
    x: torch.Tensor,
    *,
    channels: Optional[int] = None,
    min_frames: Optional[int] = None,
    frames: Optional[int] = None,
    size: Optional[Sequence[int]] = None,
    name: str = "input",
    model: str = "this model",
) -> None:
    """Check that ``x`` is a float video batch ``(B, C, T, H, W)`` that ``model`` can take.

    Raises:
        TypeError: ``x`` is not a floating-point tensor.
        ValueError: wrong rank, channel count, frame count or spatial size; the message says what was
            expected and what came.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{model} expects {name} as a torch.Tensor (B, C, T, H, W), got {type(x).__name__}")
    if x.dim() != 5:
        hint = " (a single clip? add the batch dimension with x[None])" if x.dim() == 4 else ""
        raise ValueError(
            f"{model} expects {name} of shape (B, C, T, H, W) with 5 dimensions, "
            f"got {x.dim()} dimensions {tuple(x.shape)}{hint}"
        )
    if not x.is_floating_point():
        raise TypeError(
            f"{model} expects a floating-point {name}, got {x.dtype}; convert uint8 frames with "
            "vidlearn.data.transforms.ToTensorVideo first"
        )
    _, c, t, h, w = x.shape
    if channels is not None and c != channels:
        raise ValueError(
            f"{model} expects {name} with C={channels} channels in (B, C, T, H, W), got C={c} "
            f"(shape {tuple(x.shape)}); is the layout (B, T, C, H, W) by mistake?"
        )
    if frames is not None and t != frames:
        raise ValueError(f"{model} expects {name} with T={frames} frames, got T={t} (shape {tuple(x.shape)})")
    if min_frames is not None and t < min_frames:
        raise ValueError(
            f"{model} needs at least T={min_frames} frames in {name}, got T={t} (shape {tuple(x.shape)})"
        )
    if size is not None and (h, w) != tuple(size):
        raise ValueError(
            f"{model} expects {name} frames of size H x W = {size[0]} x {size[1]}, got {h} x {w} "
            f"(shape {tuple(x.shape)})"
        )
