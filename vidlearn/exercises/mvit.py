"""Homework checker of the chapter "MViT: multiscale vision transformers": the grid a strided pooling leaves.

Fan et al., "Multiscale Vision Transformers", ICCV 2021: pooling attention pools the queries, keys and values
with a strided 3D conv over the token grid, so every stage works on a coarser grid than the one before.

* :func:`check_pooled_shape` ``fn(grid (T, H, W), kernel, stride, padding) -> (T', H', W')``

The reference does not use the formula the reader is asked for: it *runs* a 3D convolution with these
settings on the ``meta`` device (shapes without memory or compute) and reads the output's size.
"""

from __future__ import annotations

from typing import Callable, List, Sequence, Tuple

import torch
import torch.nn.functional as F

from vidlearn.exercises import _check, _Mismatch

__all__ = ["check_pooled_shape"]

Triple = Tuple[int, int, int]

# (what it is, grid, kernel, stride, padding): MViT-B's cube embedding and poolings at 16 x 224 x 224, the
# tiny model's, and odd grids where the usual slips give different answers
CASES: List[Tuple[str, Triple, Triple, Triple, Triple]] = [
    ("MViT-B's cube embedding of a 16x224x224 clip", (16, 224, 224), (3, 7, 7), (2, 4, 4), (1, 3, 3)),
    ("query pooling where scale3 starts", (8, 56, 56), (3, 3, 3), (1, 2, 2), (1, 1, 1)),
    ("key/value pooling in scale2", (8, 56, 56), (3, 3, 3), (1, 8, 8), (1, 1, 1)),
    ("query pooling of an odd 7x7 grid", (8, 7, 7), (3, 3, 3), (1, 2, 2), (1, 1, 1)),
    ("the tiny model's key/value pooling", (4, 8, 8), (3, 3, 3), (1, 4, 4), (1, 1, 1)),
    ("a cube embedding of a 12x40x40 clip", (12, 40, 40), (3, 7, 7), (2, 4, 4), (1, 3, 3)),
    ("a 2x2x2 pool without padding", (9, 15, 13), (2, 2, 2), (2, 2, 2), (0, 0, 0)),
]


def pooled_grid(grid: Sequence[int], kernel: Sequence[int], stride: Sequence[int],
                padding: Sequence[int]) -> Triple:
    """``(T', H', W')`` after a 3D conv or pool with these settings, measured by running one on ``meta``."""
    x = torch.empty(1, 1, *grid, device="meta")
    w = torch.empty(1, 1, *kernel, device="meta")
    return tuple(F.conv3d(x, w, stride=tuple(stride), padding=tuple(padding)).shape[2:])  # type: ignore


def _slips(grid, kernel, stride, padding) -> List[Tuple[str, Triple]]:
    """The usual mistakes, computed, so that a wrong answer can be named."""
    n, k, s, p = grid, kernel, stride, padding

    def each(f) -> Triple:
        return tuple(f(*a) for a in zip(n, k, s, p))  # type: ignore[return-value]

    return [
        ("It is one less than expected: after (n + 2p - k) // s comes + 1 (the first window counts too)",
         each(lambda n, k, s, p: (n + 2 * p - k) // s)),
        ("It leaves out the padding: p zeros are added at both ends, (n + 2p - k) // s + 1",
         each(lambda n, k, s, p: (n - k) // s + 1)),
        ("It pads one end only: the padding counts twice, (n + 2p - k) // s + 1",
         each(lambda n, k, s, p: (n + p - k) // s + 1)),
        ("It rounds up: a window that would run past the padded grid is dropped, so divide with //",
         each(lambda n, k, s, p: -(-(n + 2 * p - k) // s) + 1)),
        ("It is n // s: right only when 2p = k - 1 and s divides n; the kernel and padding count too",
         each(lambda n, k, s, p: n // s)),
        ("It is ceil(n / s): right only when 2p = k - 1; use (n + 2p - k) // s + 1",
         each(lambda n, k, s, p: -(-n // s))),
    ]


def _as_triple(got, on: str) -> Triple:
    try:
        values = [int(v) for v in got]
        ok = len(values) == 3 and all(float(v) == int(v) for v in got)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise _Mismatch(f"on {on}, return three whole numbers (T', H', W'), got {got!r}")
    return tuple(values)  # type: ignore[return-value]


def check_pooled_shape(fn: Callable[[Triple, Triple, Triple, Triple], Sequence[int]]) -> bool:
    """Check ``fn(grid, kernel, stride, padding) -> (T', H', W')``: the grid after a strided 3D pooling.

    Every argument is a ``(t, h, w)`` tuple of ints; the answer is the output size of an ``nn.Conv3d`` (or
    a pooling) with that ``kernel_size``, ``stride`` and ``padding`` on a ``T x H x W`` grid. Tried on MViT-B's
    cube embedding and poolings, the tiny model's, and odd grids. Reference: :func:`pooled_grid` (a conv run
    on the ``meta`` device). Returns True when ``fn`` is right.
    """
    hint = ("along each axis, with n positions, kernel k, stride s and padding p: the padded axis has n + 2p "
            "positions, a window of k fits at (n + 2p - k) // s + 1 starts. Return one number per axis, "
            "(T', H', W').")

    def body(call) -> List[str]:
        tried = []
        for label, grid, kernel, stride, padding in CASES:
            on = f"{label} (grid {grid}, kernel {kernel}, stride {stride}, padding {padding})"
            expected = pooled_grid(grid, kernel, stride, padding)
            got = _as_triple(call(on, grid, kernel, stride, padding), on)
            if got != expected:
                axes = [a for a, e, g in zip(("T'", "H'", "W'"), expected, got) if e != g]
                msg = f"on {on}, expected {expected} (T', H', W'), got {got}: {', '.join(axes)} differ"
                slips = _slips(grid, kernel, stride, padding)
                slips.append(("It is in the wrong order: return (T', H', W')", expected[::-1]))
                named = [why for why, wrong in slips if wrong == got]  # slips can agree on one input
                if named:
                    msg += ". " + (named[0] if len(named) == 1 else
                                   " Or: ".join(f"{why}." for why in named)[:-1])
                raise _Mismatch(msg)
            tried.append(f"{grid} -> {expected}")
        return tried

    return _check("pooled shape", fn, hint, body)
