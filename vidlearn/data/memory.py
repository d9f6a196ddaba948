"""Clips generated (or decoded) once and kept in memory, so that training epochs do not wait for data.

A data set such as :class:`~vidlearn.data.SyntheticActions` makes every clip again each time it is asked for
one: that is free at the ``ci`` preset, but at ``gpu`` a chapter trains for 15 epochs on 6,000 clips of
16x64x64, and Colab's two CPU cores making 2,400 clips/s each would keep a T4 waiting most of the time
(``benchmarks/gpu_work.py`` counts it). :func:`in_memory` makes each clip once, in worker processes, and
returns a data set that reads them from one tensor::

    train = in_memory(SyntheticActions("motion", 6000), dtype=P.cache_dtype)  # made once, here
    clip, label = train[0]                          # (3, 16, 64, 64), normalised on every read
    frames = train.with_transform(middle_frame)     # the same clips, another transform: no copy

The data set's ``transform`` is not cached: the clips are stored as the data set makes them *before* its
transform, which runs on every read, so a random transform (crops, flips) still differs from epoch to
epoch, and :meth:`InMemoryClips.with_transform` gives other views of the same storage.

``dtype``: ``torch.float32`` stores the clips exactly (4 bytes a value); ``torch.uint8`` stores 256 levels
of [0, 1] as a video file does (1 byte a value, rounded to the nearest level, at most 1/510 off), read back
as float32. The ``gpu`` preset stores ``uint8`` (``Preset.cache_dtype``): C3D's 18,000 clips of 16x64x64
take 3.5 GB that way and 14 GB exactly, more than a Colab runtime's memory. ``ci`` and ``cpu`` store exactly,
so their results are those of the data set itself.
"""

from __future__ import annotations

import copy
import numbers
from typing import Callable, Optional, Tuple, Union

import torch
from torch.utils.data import DataLoader, Dataset

__all__ = ["InMemoryClips", "in_memory", "without_transform"]

Transform = Optional[Callable[[torch.Tensor], torch.Tensor]]
_DTYPES = {"float32": torch.float32, "uint8": torch.uint8}
_KEEP = object()  # with_transform's "the transform it has"


def _dtype(dtype: Union[str, torch.dtype]) -> torch.dtype:
    if isinstance(dtype, str) and dtype in _DTYPES:
        return _DTYPES[dtype]
    if dtype in (torch.float32, torch.uint8):
        return dtype
    raise ValueError(f"dtype must be torch.float32 or torch.uint8 (or 'float32', 'uint8'), got {dtype!r}")


class InMemoryClips(Dataset):
    """Clips ``(N, C, T, H, W)`` and labels ``(N,)`` held in memory; items are ``(transform(clip), label)``.

    Made by :func:`in_memory`, or directly from tensors. ``clips`` is float32 in [0, 1] or uint8 (0 to 255,
    read back as ``value / 255``); ``transform`` runs on every read. Attributes of the data set it came from
    that describe it (``classes``, ``num_classes``, ``mode``, ``long``, ``frames``, ``size``) are kept.
    """

    def __init__(self, clips: torch.Tensor, labels: torch.Tensor, transform: Transform = None,
                 classes: Optional[list] = None, source: str = "tensors", **info):
        if not isinstance(clips, torch.Tensor) or clips.dim() != 5:
            raise ValueError(f"clips must be a tensor (N, C, T, H, W), got "
                             f"{tuple(clips.shape) if isinstance(clips, torch.Tensor) else type(clips).__name__}")
        _dtype(clips.dtype)
        if not isinstance(labels, torch.Tensor) or labels.shape != (clips.shape[0],):
            raise ValueError(f"labels must be a tensor ({clips.shape[0]},), one per clip, got "
                             f"{tuple(labels.shape) if isinstance(labels, torch.Tensor) else type(labels).__name__}")
        self.clips, self.labels, self.transform = clips, labels.long(), transform
        self.classes, self.source, self.info = classes, source, dict(info)
        for key, value in info.items():
            setattr(self, key, value)

    @property
    def num_classes(self) -> int:
        return len(self.classes) if self.classes is not None else int(self.labels.max()) + 1

    @property
    def nbytes(self) -> int:
        """Memory the clips take, in bytes."""
        return self.clips.numel() * self.clips.element_size()

    def __len__(self) -> int:
        return self.clips.shape[0]

    def __getitem__(self, index: int) -> Tuple[torch.Tensor, int]:
        n = len(self)
        if isinstance(index, bool) or not isinstance(index, numbers.Integral) or not -n <= index < n:
            raise IndexError(f"index {index!r} out of range for {n} clips in memory")
        x = self.clips[index]
        x = x.float().div_(255) if x.dtype == torch.uint8 else x.clone()  # the reader's own copy
        if self.transform is not None:
            x = self.transform(x)
        return x, int(self.labels[index])

    def with_transform(self, transform: Transform) -> InMemoryClips:
        """The same clips (shared, not copied) with another ``transform`` (``None``: the stored clips)."""
        view = copy.copy(self)
        view.transform = transform
        return view

    def __repr__(self) -> str:
        n, c, t, h, w = self.clips.shape
        return (f"InMemoryClips({n} clips of {c}x{t}x{h}x{w} as {str(self.clips.dtype).split('.')[-1]}, "
                f"{self.nbytes / 2**20:.0f} MiB, from {self.source})")


def _as_list(items):  # a batch as the list of its items (module level: worker processes pickle it)
    return items


def without_transform(dataset: Dataset) -> Tuple[Dataset, Transform]:
    """``dataset`` without its ``transform`` (a shallow copy; the data set itself keeps it) and that transform.

    For code that needs the clips as made, in [0, 1] (optical flow, storage as uint8), from a data set
    that normalises by default (``SyntheticActions``); a data set without a ``transform`` comes back as it is.
    """
    transform = getattr(dataset, "transform", None)
    if transform is None:
        return dataset, None
    raw = copy.copy(dataset)
    raw.transform = None
    return raw, transform


def in_memory(dataset: Dataset, dtype: Union[str, torch.dtype] = torch.float32, num_workers: int = 0,
              transform=_KEEP, batch_size: int = 64) -> InMemoryClips:
    """Make every clip of ``dataset`` once and keep them in memory: an :class:`InMemoryClips`.

    Args:
        dataset: items ``(clip (C, T, H, W) in [0, 1], int label)`` of one shape, such as
            ``SyntheticActions`` or a ``VideoFolder`` with a fixed sampler. Its ``transform`` (if it has one)
            is set aside while the clips are made and runs on every read instead.
        dtype: ``torch.float32`` (exact) or ``torch.uint8`` (256 levels; a quarter of the memory). Also the
            names ``"float32"`` and ``"uint8"`` (``Preset.cache_dtype``).
        num_workers: processes that make the clips (a ``DataLoader``'s workers); 0 makes them here.
        transform: the transform of the result; by default the data set's own.
        batch_size: clips made per worker task.

    Raises:
        ValueError: an empty data set, clips of different shapes, values outside [0, 1] for ``uint8``
            (which would not survive the rounding), or items that are not ``(tensor, int)``; the message
            names the item.
    """
    store = _dtype(dtype)
    n = len(dataset)
    if n == 0:
        raise ValueError("the dataset is empty: there are no clips to keep in memory")
    raw, own = without_transform(dataset)
    loader = DataLoader(raw, batch_size=batch_size, shuffle=False, num_workers=num_workers,
                        collate_fn=_as_list)
    clips: Optional[torch.Tensor] = None
    labels = torch.empty(n, dtype=torch.long)
    i = 0
    for items in loader:
        for x, y in items:
            if isinstance(y, torch.Tensor) and y.dim() == 0 and not y.is_floating_point():
                y = int(y)  # a TensorDataset's label
            if not isinstance(x, torch.Tensor) or x.dim() != 4 or isinstance(y, bool) or not isinstance(
                    y, numbers.Integral):
                raise ValueError(f"item {i} of {type(dataset).__name__} is ({type(x).__name__}, "
                                 f"{type(y).__name__}); expected (clip tensor (C, T, H, W), int label)")
            if clips is None:
                clips = torch.empty((n, *x.shape), dtype=store)
            elif x.shape != clips.shape[1:]:
                raise ValueError(f"item {i} has shape {tuple(x.shape)}, item 0 {tuple(clips.shape[1:])}: "
                                 "clips kept in memory must all have one shape")
            if store == torch.uint8:
                lo, hi = float(x.min()), float(x.max())
                if lo < 0.0 or hi > 1.0:
                    raise ValueError(f"item {i} has values in [{lo:.3g}, {hi:.3g}]; uint8 storage holds clips "
                                     "in [0, 1] (keep normalisation in the transform, or use float32)")
                clips[i] = x.mul(255).round_().to(torch.uint8)
            else:
                clips[i] = x
            labels[i] = int(y)
            i += 1
    info = {key: getattr(dataset, key) for key in ("mode", "long", "frames", "size")
            if hasattr(dataset, key)}
    return InMemoryClips(clips, labels, transform=own if transform is _KEEP else transform,
                         classes=list(dataset.classes) if hasattr(dataset, "classes") else None,
                         source=repr(dataset), **info)
