"""The temporal shift of TSM: move a fraction of the channels one frame along time, for free.

TSM: Temporal Shift Module for Efficient Video Understanding. Lin, Gan, Han. ICCV 2019.
https://arxiv.org/abs/1811.08383

A 2D CNN sees each frame alone. Shifting some channels one step along time lets the next 2D
convolution mix information from neighbouring frames, with zero parameters and zero multiply-adds
(the shift is only memory movement). For a feature map with ``C`` channels and ``fold = C // fold_div``:

    bidirectional (offline, the default)           online (unidirectional, streaming)
    channels [0, fold)      <- frame t+1           channels [0, fold)  <- frame t-1
    channels [fold, 2 fold) <- frame t-1           channels [fold, C)  unchanged
    channels [2 fold, C)    unchanged

Frames shifted in from outside the clip are zeros (the paper's zero padding, not a circular shift).
The online variant only looks at the past, so it can run frame by frame on a live stream, caching the
``fold`` channels of the previous frame in each shift layer (:meth:`TemporalShift.start_stream`).

2D backbones fold time into the batch, so the shift works on ``(N*T, C, H, W)`` with ``T = n_segment``
(frames are consecutive within each clip: ``(b t)`` order, as ``einops.rearrange`` makes them).

:func:`insert_temporal_shift` puts the shift into every residual block of a torchvision-style ResNet
(``layer1`` ... ``layer4``): ``"residual"`` placement (the paper's choice) shifts inside the residual
branch, before ``conv1``, so the identity path keeps the unshifted frame; ``"inplace"`` shifts the
block's input, which the paper found hurts spatial feature learning. As in the official code
(mit-han-lab/temporal-shift-module ``ops/temporal_shift.py``, ``make_temporal_shift`` with
``place='blockres'``), every block is shifted, except in very deep ResNets (``layer3`` of 23 blocks or
more: ResNet-101 and -152), where only every second block of each stage is (``n_round = 2``).
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn

DIRECTIONS = ("bidirectional", "online")
PLACEMENTS = ("residual", "inplace")


def temporal_shift(x: torch.Tensor, n_segment: int, fold_div: int = 8,
                   direction: str = "bidirectional") -> torch.Tensor:
    """Shift ``C // fold_div`` channels one frame back (and, bidirectionally, as many forward).

    Args:
        x: frames of ``N`` clips folded into the batch, ``(N*T, C, H, W)`` with ``T = n_segment``,
            or any ``(N*T, C, ...)`` tensor.
        n_segment: frames per clip ``T``.
        fold_div: ``1 / fold_div`` of the channels moves each way (8 in the paper).
        direction: ``"bidirectional"`` (past and future) or ``"online"`` (past only).

    Shape:
        ``(N*T, C, ...) -> (N*T, C, ...)``; a new tensor, ``x`` is not modified.
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    if x.dim() < 2 or x.shape[0] % n_segment != 0:
        raise ValueError(
            f"temporal_shift expects (N*T, C, ...) with a batch divisible by n_segment={n_segment}, "
            f"got shape {tuple(x.shape)}"
        )
    nt, c = x.shape[:2]
    fold = c // fold_div
    v = x.reshape(nt // n_segment, n_segment, c, *x.shape[2:])  # (N, T, C, ...)
    out = torch.zeros_like(v)
    if direction == "bidirectional":
        out[:, :-1, :fold] = v[:, 1:, :fold]  # frame t takes these channels from t+1 (last frame: zeros)
        out[:, 1:, fold:2 * fold] = v[:, :-1, fold:2 * fold]  # from t-1 (first frame: zeros)
        out[:, :, 2 * fold:] = v[:, :, 2 * fold:]
    else:
        out[:, 1:, :fold] = v[:, :-1, :fold]  # only the past: from t-1
        out[:, :, fold:] = v[:, :, fold:]
    return out.reshape(x.shape)  # (N*T, C, ...)


class TemporalShift(nn.Module):
    """:func:`temporal_shift` as a layer (no parameters), with a streaming mode for online TSM.

    In streaming mode (``direction="online"`` only) each call gets ONE frame per clip ``(N, C, H, W)``;
    the layer returns it with its first ``fold`` channels replaced by the previous call's (zeros at the
    first frame) and remembers this frame's. Streaming a clip frame by frame gives exactly the offline
    online-shift result, frame by frame.

    Shape: ``(N*T, C, H, W) -> (N*T, C, H, W)``; streaming: ``(N, C, H, W) -> (N, C, H, W)``.
    """

    def __init__(self, n_segment: int, fold_div: int = 8, direction: str = "bidirectional"):
        super().__init__()
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
        if n_segment < 1 or fold_div < 1:
            raise ValueError(f"n_segment and fold_div must be >= 1, got {n_segment} and {fold_div}")
        self.n_segment = n_segment
        self.fold_div = fold_div
        self.direction = direction
        self.streaming = False
        self._cache: Optional[torch.Tensor] = None  # the previous frame's shifted channels, when streaming

    def start_stream(self) -> None:
        """Enter streaming mode with an empty cache (the first frame receives zeros)."""
        if self.direction != "online":
            raise ValueError("only the online (unidirectional) shift can stream: the bidirectional one "
                             "needs the next frame")
        self.streaming, self._cache = True, None

    def stop_stream(self) -> None:
        """Leave streaming mode and drop the cache."""
        self.streaming, self._cache = False, None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.streaming:
            return temporal_shift(x, self.n_segment, self.fold_div, self.direction)
        fold = x.shape[1] // self.fold_div
        past = torch.zeros_like(x[:, :fold]) if self._cache is None else self._cache
        self._cache = x[:, :fold].detach()
        return torch.cat([past, x[:, fold:]], dim=1)  # (N, C, H, W)

    def extra_repr(self) -> str:
        return f"n_segment={self.n_segment}, fold_div={self.fold_div}, direction={self.direction!r}"


def insert_temporal_shift(net: nn.Module, n_segment: int, fold_div: int = 8,
                          direction: str = "bidirectional", placement: str = "residual",
                          every: Optional[int] = None) -> nn.Module:
    """Insert a :class:`TemporalShift` into every residual block of a torchvision-style ResNet, in place.

    ``net`` needs ``layer1`` ... ``layer4`` made of blocks with a ``conv1`` (torchvision's ``BasicBlock``
    and ``Bottleneck``, or any block following that convention). ``"residual"``: ``block.conv1`` becomes
    ``Sequential(shift, conv1)``; ``"inplace"``: the block becomes ``Sequential(shift, block)``. Load 2D
    (e.g. ImageNet) weights into ``net`` *before* inserting: the parameter names change, the values not.
    ``every``: shift blocks 0, every, 2 every, ... of each stage; ``None`` is the official rule, 2 when
    ``layer3`` has 23 blocks or more (ResNet-101/152), else 1.

    Returns ``net`` (modified in place).
    """
    if placement not in PLACEMENTS:
        raise ValueError(f"placement must be one of {PLACEMENTS}, got {placement!r}")
    stages = [getattr(net, f"layer{i}", None) for i in range(1, 5)]
    if any(s is None for s in stages):
        raise ValueError(f"insert_temporal_shift expects a ResNet with layer1..layer4, got "
                         f"{type(net).__name__}")
    if shift_layers(net):
        raise ValueError("this network already has temporal shifts")
    if every is None:
        every = 2 if len(stages[2]) >= 23 else 1
    if every < 1:
        raise ValueError(f"every must be >= 1, got {every}")
    for stage in stages:
        for i, block in enumerate(list(stage)):
            if i % every:
                continue
            if not hasattr(block, "conv1"):
                raise ValueError(f"residual blocks need a conv1 to shift before, got {type(block).__name__}")
            shift = TemporalShift(n_segment, fold_div, direction)
            if placement == "residual":
                block.conv1 = nn.Sequential(shift, block.conv1)
            else:
                stage[i] = nn.Sequential(shift, block)
    return net


def shift_layers(net: nn.Module) -> list:
    """Every :class:`TemporalShift` in ``net``, in forward order."""
    return [m for m in net.modules() if isinstance(m, TemporalShift)]
