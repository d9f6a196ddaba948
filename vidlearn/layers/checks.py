"""Input checks shared by every model, so bad input gets a clear message, not a conv's shape error."""

from __future__ import annotations

import numbers
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn


def check_video(
    x: torch.Tensor,
    *,
    channels: Optional[int] = None,
    min_frames: Optional[int] = None,
    frames: Optional[int] = None,
    size: Optional[Sequence[int]] = None,
    min_size: Optional[Sequence[int]] = None,
    name: str = "input",
    model: str = "this model",
) -> None:
    """Check that ``x`` is a float video batch ``(B, C, T, H, W)`` that ``model`` can take.

    Every check also asks for at least one frame of at least 1 x 1 pixels; ``min_size`` ``(H, W)`` is the
    smallest frame the model takes (its ``min_size`` attribute: below it a conv or pool would have
    nothing left). An empty batch (``B = 0``) is accepted: the models return ``(0, num_classes)``.

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
    if min_frames is None or min_frames < 1:
        min_frames = 1
    if t < min_frames:
        raise ValueError(
            f"{model} needs at least T={min_frames} frames in {name}, got T={t} (shape {tuple(x.shape)})"
        )
    mh, mw = (1, 1) if min_size is None else (max(1, int(min_size[0])), max(1, int(min_size[1])))
    if h < mh or w < mw:
        raise ValueError(
            f"{model} needs {name} frames of at least H x W = {mh} x {mw}, got {h} x {w} "
            f"(shape {tuple(x.shape)}); resize or crop to at least {mh} x {mw}"
        )
    if size is not None and (h, w) != tuple(size):
        raise ValueError(
            f"{model} expects {name} frames of size H x W = {size[0]} x {size[1]}, got {h} x {w} "
            f"(shape {tuple(x.shape)})"
        )


def check_same_batch(model: str, **inputs: torch.Tensor) -> None:
    """Check that the inputs of a multi-input model (``rgb=..., flow=...``) have the same batch size.

    Raises:
        ValueError: naming every input's shape, e.g. rgb (2, 3, 8, 32, 32) and flow (3, 2, 8, 32, 32).
    """
    sizes = {k: v.shape[0] for k, v in inputs.items()}
    if len(set(sizes.values())) > 1:
        shapes = " and ".join(f"{k} {tuple(v.shape)}" for k, v in inputs.items())
        raise ValueError(f"{model} needs {' and '.join(inputs)} with the same batch size B, got {shapes}")


def check_pair(inputs, model: str, names: Tuple[str, str] = ("rgb", "flow")) -> Tuple[torch.Tensor, torch.Tensor]:
    """Check that a two-input model got one ``(a, b)`` pair of tensors with the same batch size; return it.

    Raises ``ValueError`` for a single tensor (a wrongly shaped input) or batch sizes that differ,
    ``TypeError`` for anything else (a list of one tensor, a dict...).
    """
    if not isinstance(inputs, (tuple, list)) or len(inputs) != 2:
        got = type(inputs).__name__ + (f" of shape {tuple(inputs.shape)}" if torch.is_tensor(inputs) else "")
        if isinstance(inputs, (tuple, list)):
            got += f" of length {len(inputs)}"
        error = ValueError if torch.is_tensor(inputs) else TypeError  # a lone tensor: a wrongly shaped input
        raise error(f"{model} expects one tuple ({names[0]}, {names[1]}) of two tensors, got {got}")
    a, b = inputs
    for n, v in zip(names, (a, b)):
        if not isinstance(v, torch.Tensor):
            raise TypeError(f"{model} expects {n} as a torch.Tensor (B, C, T, H, W), got {type(v).__name__}")
    check_same_batch(model, **{names[0]: a, names[1]: b})
    return a, b


def check_num_classes(num_classes, where: str = "num_classes") -> int:
    """Check that a classifier size is a positive int (``bool`` and ``2.5`` or ``'10'`` are refused).

    Returns it unchanged. Raises ``TypeError`` (not an integer) or ``ValueError`` (zero or negative).
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral):
        raise TypeError(f"{where} must be a positive int, got {num_classes!r} ({type(num_classes).__name__})")
    if num_classes < 1:
        raise ValueError(f"{where} must be a positive int, got {num_classes!r} (a classifier needs at least 1 class)")
    return num_classes


def _last(v) -> int:
    return int(v[-1]) if isinstance(v, (tuple, list)) else int(v)


def min_side(*modules: nn.Module) -> int:
    """Smallest input side (H or W) that the convs and pools of ``modules``, run one after another in
    the order they are defined, reduce to at least one pixel.

    Exact for a chain (``nn.Sequential`` of convs and pools, with branches that keep the size, as in
    Inception modules); adaptive pools take any size. Padding ``'same'`` keeps the size.
    """
    layers = [m for mod in modules for m in mod.modules()
              if isinstance(m, (nn.modules.conv._ConvNd, nn.modules.pooling._MaxPoolNd,
                                nn.modules.pooling._AvgPoolNd))]

    def out(n: int) -> int:
        for m in layers:
            k, s = _last(m.kernel_size), _last(m.stride if m.stride is not None else m.kernel_size)
            p = m.padding
            if isinstance(p, str):  # 'same' keeps the size, 'valid' pads nothing
                if p == "same":
                    continue
                p = 0
            p, d = _last(p), _last(getattr(m, "dilation", 1))
            span = n + 2 * p - d * (k - 1) - 1  # as torch's pooling_output_shape, floor division
            if getattr(m, "ceil_mode", False):
                o = (span + s - 1) // s + 1
                if o >= 1 and (o - 1) * s >= n + p:  # the last window must start inside the input
                    o -= 1
            else:
                o = span // s + 1
            if o < 1:
                return 0
            n = o
        return n

    n = 1
    while out(n) < 1:
        n += 1
    return n
