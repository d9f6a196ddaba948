"""Homework checker of the chapter "C3D": the receptive field of a stack of 3D convolutions and poolings.

Tran, Bourdev, Fergus, Torresani, Paluri, "Learning Spatiotemporal Features with 3D Convolutional Networks",
ICCV 2015: 3x3x3 convolutions and 3D pooling, stacked, let a unit see more and more frames and pixels.

* :func:`check_receptive_field` ``fn(layers: list of nn.Conv3d / nn.MaxPool3d) -> (frames, height, width)``

The reference does not use the recursion the reader is asked for: it *measures* the receptive field, by
backpropagating a gradient from one output unit through all-ones filters and counting the input positions
that receive one.
"""

from __future__ import annotations

from typing import Callable, List, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from vidlearn.exercises import _check, _Mismatch
from vidlearn.models.c3d import C3D, C3DConfig

__all__ = ["check_receptive_field"]

Triple = Tuple[int, int, int]
LAYERS = (nn.Conv3d, nn.MaxPool3d, nn.AvgPool3d)


def _triple(v) -> Triple:
    return (v, v, v) if isinstance(v, (int, str)) else tuple(v)  # type: ignore[return-value]


def _measured_axis(layers: Sequence[nn.Module], axis: int) -> int:
    """Receptive field along one axis, measured on a long 1D input of ones.

    Every layer becomes a 1D convolution with an all-ones kernel of its size, stride, padding and dilation
    along ``axis`` (a pooling window counts like a kernel: the gradient reaches all of it). The gradient of
    the central output unit is non-zero exactly on the input positions it sees; the input is doubled until
    they lie away from its ends.
    """
    size = 8
    while size <= 2 ** 15:
        x = torch.ones(1, 1, size, requires_grad=True)
        y = x
        for m in layers:
            k, s, p = _triple(m.kernel_size)[axis], _triple(m.stride or m.kernel_size)[axis], _triple(m.padding)[axis]
            d = _triple(getattr(m, "dilation", 1))[axis]
            if isinstance(p, int) and y.shape[-1] + 2 * p < d * (k - 1) + 1:
                break  # the input is too short for this stack
            y = F.conv1d(y, torch.ones(1, 1, k), stride=s, padding=p, dilation=d)  # (1, 1, L')
        else:
            y[0, 0, y.shape[-1] // 2].backward()
            seen = x.grad[0, 0].nonzero().flatten()
            lo, hi = int(seen.min()), int(seen.max())
            if lo > 0 and hi < size - 1:  # not cut off by the input's ends
                return hi - lo + 1
        size *= 2
    raise ValueError("receptive field larger than 32768 positions: is this a real network?")


def measured_receptive_field(layers: Sequence[nn.Module]) -> Triple:
    """``(frames, height, width)`` one output unit of ``layers`` sees, measured by backpropagation.

    All-ones filters are separable (a ``kt x kh x kw`` box of ones is the product of three 1D boxes), so the
    3D receptive field is the product of the three 1D ones, each measured on its own by :func:`_measured_axis`.
    """
    with torch.enable_grad():
        return tuple(_measured_axis(layers, axis) for axis in range(3))  # type: ignore[return-value]


def _recursion(layers: Sequence[nn.Module], own_stride: bool = False, jump: bool = True, start: int = 1,
               kinds: tuple = LAYERS) -> Triple:
    """The usual recursion, and its usual mistakes (for naming them): ``rf += (k - 1) * jump``, ``jump *= s``."""
    out = []
    for axis in range(3):
        rf, j = start, 1
        for m in layers:
            if not isinstance(m, kinds):
                continue
            k, s = _triple(m.kernel_size)[axis], _triple(m.stride or m.kernel_size)[axis]
            if own_stride:
                j *= s
            rf += (k - 1) * (j if jump else 1)
            if not own_stride:
                j *= s
        out.append(rf)
    return tuple(out)  # type: ignore[return-value]


def _describe(m: nn.Module) -> str:
    k, s = _triple(m.kernel_size), _triple(m.stride or m.kernel_size)
    return f"{type(m).__name__} k{k} s{s}"


def _stacks() -> List[Tuple[str, str, List[nn.Module]]]:
    """``(short label, description, layers)`` of every stack the checker tries."""
    def c3d(depth: int) -> List[nn.Module]:
        net = C3D(C3DConfig.tiny(time_pools=(1, 2, 2, 2, 2)))  # the paper's layers, with fewer channels
        layers = [m for m in net.features if isinstance(m, (nn.Conv3d, nn.MaxPool3d))]
        return [nn.Conv3d(m.in_channels, m.out_channels, (depth, 3, 3), padding=(depth // 2, 1, 1))
                if isinstance(m, nn.Conv3d) else m for m in layers]

    small = {
        "one conv": [nn.Conv3d(3, 8, 3, padding=1)],
        "two convs": [nn.Conv3d(3, 4, (3, 5, 5), (1, 2, 2), (1, 2, 2)), nn.Conv3d(4, 4, 3, padding=1)],
        "an I3D-like stem": [  # pool windows wider than their strides
            nn.Conv3d(3, 8, 7, 2, 3), nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1)), nn.Conv3d(8, 8, 1),
            nn.Conv3d(8, 8, 3, padding=1), nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1))],
        "two pools": [nn.MaxPool3d((1, 2, 2), (1, 2, 2)), nn.MaxPool3d((2, 2, 2), (2, 2, 2))],
    }
    named = [(k, f"{k} [{', '.join(_describe(m) for m in v)}]", v) for k, v in small.items()]
    return named + [("C3D", "C3D's 8 convs (3x3x3) and 5 pools", c3d(3)),
                    ("C3D depth 1", "C3D with temporal depth 1 (convs 1x3x3)", c3d(1))]


def _as_triple(got, on: str) -> Triple:
    try:
        values = [int(v) for v in got]
        ok = len(values) == 3 and all(float(v) == int(v) for v in got)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise _Mismatch(f"on {on}, return three whole numbers (frames, height, width), got {got!r}")
    return tuple(values)  # type: ignore[return-value]


def check_receptive_field(fn: Callable[[List[nn.Module]], Sequence[int]]) -> bool:
    """Check ``fn(layers) -> (frames, height, width)``: the receptive field of one unit after ``layers``.

    ``layers`` is a list of ``nn.Conv3d`` and ``nn.MaxPool3d`` in data order, their ``kernel_size`` and
    ``stride`` ``(t, h, w)`` tuples (no dilation); the answer is how many input frames, rows and columns one
    unit of the last layer sees. Tried on small stacks, on C3D's own layers and on C3D with temporal depth 1.
    Reference: :func:`measured_receptive_field` (backpropagation through all-ones filters), which agrees with
    :func:`vidlearn.viz.conv3d.receptive_fields`. Returns True when ``fn`` is right.
    """
    hint = ("start from rf = 1 and jump = 1 along each axis (t, h, w); for every layer, in order, with kernel k "
            "and stride s along that axis: rf += (k - 1) * jump, then jump *= s. The jump is how many input "
            "positions lie between two neighbouring units of the current layer. Pools count like convs.")

    def body(call) -> List[str]:
        tried = []
        for label, on, layers in _stacks():
            expected = measured_receptive_field(layers)
            got = _as_triple(call(on, list(layers)), on)
            if got == expected:
                tried.append(label)
                continue
            axes = [name for name, e, g in zip(("frames", "height", "width"), expected, got) if e != g]
            msg = (f"on {on}, expected a receptive field of {expected} (frames, height, width), got {got}: "
                   f"the {', '.join(axes[:-1]) + ' and ' if len(axes) > 1 else ''}{axes[-1]} differ")
            mistakes = {
                "It is 1 + the sum of (k - 1): after a layer of stride s, neighbouring units lie s input "
                "positions apart, so later kernels add (k - 1) times the product of the earlier strides":
                    _recursion(layers, jump=False),
                "It multiplies each layer's (k - 1) by the product of the strides including its own: only the "
                "strides of the layers before it count (update the jump after adding)":
                    _recursion(layers, own_stride=True),
                "It leaves out the pools: a pool's window widens the field like a kernel, and its stride "
                "multiplies the jump": _recursion(layers, kinds=(nn.Conv3d,)),
                "It is one less than expected on every axis: a single input position has a field of 1, start "
                "from rf = 1": _recursion(layers, start=0),
                "It is in the wrong order: return (frames, height, width)": expected[::-1],
            }
            for why, wrong in mistakes.items():
                if wrong == got and wrong != expected:
                    msg += f". {why}"
                    break
            raise _Mismatch(msg)
        return tried

    return _check("receptive field", fn, hint, body)
