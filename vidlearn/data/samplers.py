"""Frame samplers: which frames of a video a model sees.

Every sampler is a small callable ``sampler(num_video_frames, rng=None)`` that returns frame indices as an
``np.int64`` array (``SlowFastSampler``: a pair of arrays) and reads no video: ``VideoFolder`` decodes
only the frames it is given. ``rng`` is a ``numpy.random.Generator``, a seed, or ``None`` (fresh OS
entropy); only training samplers use it. ``train`` switches between the random training behaviour and
the deterministic test behaviour (set ``sampler.train = False`` to evaluate).

    UniformSampler(T)                  T frames evenly spread over the whole video (centres of T bins)
    DenseSampler(T, stride)            T consecutive frames (every ``stride``-th): C3D, I3D, R(2+1)D...
    SegmentSampler(K, F)               TSN: K equal segments, a snippet of F frames from each
    SlowFastSampler(T, tau, alpha)     SlowFast: T frames every tau, and alpha*T frames every tau/alpha
    MultiViewSampler(V, T, stride)     V evenly spaced dense clips for multi-view testing, shape (V, T)

Short videos, one policy for all samplers: **an index past the last frame is clamped to the last frame**,
so a video shorter than a sampler needs gives a clip of the requested length that ends on a repeated
frame (segments or views of a very short video repeat frames likewise). Never an ``IndexError``. A video
of 0 frames, or a sampler built with 0 frames or a non-positive stride, is a ``ValueError``.

Used by ``VideoFolder`` and the chapter "Working with video" (TSN, SlowFast and multi-view testing later).
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Tuple, Union

import numpy as np

RNG = Union[None, int, np.random.Generator]


def _positive(name: str, value: int) -> int:
    try:
        value = operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be a positive int, got {value!r}") from None
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return value


def _video_length(num_video_frames: int) -> int:
    try:
        n = operator.index(num_video_frames)
    except TypeError:
        raise ValueError(f"num_video_frames must be an int, got {num_video_frames!r}") from None
    if n < 1:
        raise ValueError(f"cannot sample frames from a video of {n} frames")
    return n


def _clamp(indices: np.ndarray, n: int) -> np.ndarray:
    """The short-video policy: indices past the end become the last frame."""
    return np.minimum(indices, n - 1).astype(np.int64)


def _start(room: int, train: bool, rng: RNG) -> int:
    """Where a window with ``room`` frames of slack starts: at random when training, centred when testing."""
    return int(np.random.default_rng(rng).integers(0, room + 1)) if train else room // 2


@dataclass
class UniformSampler:
    """``num_frames`` indices evenly spread over the whole video: the centres of ``num_frames`` equal bins.

    Deterministic (``train`` is always ``False``); sorted; on a short video frames repeat.
    """

    num_frames: int
    train: bool = False

    def __post_init__(self):
        self.num_frames = _positive("num_frames", self.num_frames)

    def __call__(self, num_video_frames: int, rng: RNG = None) -> np.ndarray:
        n = _video_length(num_video_frames)
        centres = (np.arange(self.num_frames) + 0.5) * (n / self.num_frames)
        return _clamp(np.floor(centres), n)  # (T,)


@dataclass
class DenseSampler:
    """``num_frames`` frames ``stride`` apart: a random window when training, the centre one when testing.

    Sorted; a video shorter than the window ``(num_frames - 1) * stride + 1`` starts at 0 and ends clamped.
    """

    num_frames: int
    stride: int = 1
    train: bool = True

    def __post_init__(self):
        self.num_frames = _positive("num_frames", self.num_frames)
        self.stride = _positive("stride", self.stride)

    @property
    def span(self) -> int:
        """Frames of video the clip covers."""
        return (self.num_frames - 1) * self.stride + 1

    def __call__(self, num_video_frames: int, rng: RNG = None) -> np.ndarray:
        n = _video_length(num_video_frames)
        start = _start(max(n - self.span, 0), self.train, rng)
        return _clamp(start + np.arange(self.num_frames) * self.stride, n)  # (T,)


@dataclass
class SegmentSampler:
    """TSN's sparse sampling: split the video into ``num_segments`` equal segments and take a snippet of
    ``frames_per_segment`` consecutive frames from each: at a random place when training, the centre when
    testing (Wang et al., ECCV 2016, Sec. 3.1).

    Returns ``num_segments * frames_per_segment`` indices, segment after segment; sorted whenever every
    segment holds at least ``frames_per_segment`` frames.
    """

    num_segments: int
    frames_per_segment: int = 1
    train: bool = True

    def __post_init__(self):
        self.num_segments = _positive("num_segments", self.num_segments)
        self.frames_per_segment = _positive("frames_per_segment", self.frames_per_segment)

    def __call__(self, num_video_frames: int, rng: RNG = None) -> np.ndarray:
        n = _video_length(num_video_frames)
        k, f = self.num_segments, self.frames_per_segment
        bounds = (np.arange(k + 1) * n) // k  # segment k is [bounds[k], bounds[k + 1])
        room = np.maximum(np.diff(bounds) - f, 0)  # (K,)
        if self.train:
            offsets = np.random.default_rng(rng).integers(0, room + 1)  # (K,), one draw per segment
        else:
            offsets = room // 2
        starts = bounds[:-1] + offsets  # (K,)
        return _clamp(starts[:, None] + np.arange(f), n).reshape(-1)  # (K * F,)


@dataclass
class SlowFastSampler:
    """SlowFast's two pathways over the same ``num_frames * tau`` frames of video (Feichtenhofer et al.,
    ICCV 2019, Sec. 3): Slow takes ``num_frames`` frames every ``tau``, Fast ``alpha * num_frames`` frames
    every ``tau / alpha``. The window starts at random when training and is centred when testing.

    Returns ``(slow_idx, fast_idx)``, both sorted, with ``slow_idx == fast_idx[::alpha]``.
    """

    num_frames: int
    tau: int = 16
    alpha: int = 8
    train: bool = True

    def __post_init__(self):
        self.num_frames = _positive("num_frames", self.num_frames)
        self.tau = _positive("tau", self.tau)
        self.alpha = _positive("alpha", self.alpha)
        if self.alpha > self.tau:
            raise ValueError(f"alpha={self.alpha} > tau={self.tau}: the Fast pathway's stride tau / alpha "
                             "must be at least one frame")

    @property
    def span(self) -> int:
        """Frames of video both pathways cover."""
        return self.num_frames * self.tau

    def __call__(self, num_video_frames: int, rng: RNG = None) -> Tuple[np.ndarray, np.ndarray]:
        n = _video_length(num_video_frames)
        start = _start(max(n - self.span, 0), self.train, rng)
        fast = start + (np.arange(self.num_frames * self.alpha) * self.tau) // self.alpha  # (alpha * T,)
        return _clamp(fast[:: self.alpha], n), _clamp(fast, n)  # (T,), (alpha * T,)


@dataclass
class MultiViewSampler:
    """``num_clips`` dense clips (``num_frames`` frames, ``stride`` apart) at evenly spaced positions from
    the start to the end of the video, for multi-view testing (one clip: the centre one).

    Deterministic (``train`` is always ``False``); returns ``(num_clips, num_frames)``, each row sorted.
    """

    num_clips: int
    num_frames: int
    stride: int = 1
    train: bool = False

    def __post_init__(self):
        self.num_clips = _positive("num_clips", self.num_clips)
        self.num_frames = _positive("num_frames", self.num_frames)
        self.stride = _positive("stride", self.stride)

    def __call__(self, num_video_frames: int, rng: RNG = None) -> np.ndarray:
        n = _video_length(num_video_frames)
        room = max(n - (self.num_frames - 1) * self.stride - 1, 0)
        if self.num_clips == 1:
            starts = np.array([room // 2])
        else:
            starts = np.round(np.linspace(0, room, self.num_clips)).astype(np.int64)  # (V,)
        return _clamp(starts[:, None] + np.arange(self.num_frames) * self.stride, n)  # (V, T)
