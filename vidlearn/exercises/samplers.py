"""Homework checker of the chapter "Working with video": a frame sampler.

* :func:`check_uniform_sampler` ``fn(num_video_frames: int, num_frames: int) -> (num_frames,)`` integer frame
  indices, as :class:`vidlearn.data.samplers.UniformSampler` ``(num_frames)(num_video_frames)`` returns them
"""

from __future__ import annotations

from typing import Callable, Dict, List

import numpy as np
import torch

from vidlearn.data.samplers import UniformSampler
from vidlearn.exercises import _check, _Mismatch

__all__ = ["check_uniform_sampler"]

# (num_video_frames, num_frames): long and short videos, one frame, as many frames as the video has
_CASES = [(250, 8), (10, 4), (37, 16), (100, 1), (16, 16), (5, 8), (1, 3)]


def _as_indices(got, on: str) -> np.ndarray:
    """The reader's answer as a 1-D int64 array, or a message that says why it is not one."""
    if isinstance(got, torch.Tensor):
        got = got.detach().cpu().numpy()
    elif isinstance(got, (list, tuple, range)):
        got = np.asarray(got)
    if not isinstance(got, np.ndarray):
        raise _Mismatch(f"on {on}, return the frame indices as a numpy array (or a list or tensor) of "
                        f"integers, got {type(got).__name__}")
    if got.dtype == bool or not (np.issubdtype(got.dtype, np.integer) or np.issubdtype(got.dtype, np.floating)):
        raise _Mismatch(f"on {on}, the indices should be integers, got dtype {got.dtype}")
    if np.issubdtype(got.dtype, np.floating):
        if not (np.isfinite(got).all() and np.array_equal(got, np.floor(got))):
            raise _Mismatch(f"on {on}, the indices should be whole frame numbers, got {_show(got)}: take the "
                            "floor of each bin's centre (np.floor) and convert with .astype(np.int64)")
        raise _Mismatch(f"on {on}, the indices should be integers (a frame number indexes an array), got "
                        f"dtype {got.dtype}: convert them with .astype(np.int64)")
    return got.astype(np.int64)


def _show(a: np.ndarray, most: int = 16) -> str:
    a = np.asarray(a).reshape(-1)
    body = ", ".join(str(v) for v in a[:most].tolist())
    return f"[{body}{', ...' if a.size > most else ''}]"


def _mistakes(n: int, t: int) -> Dict[str, np.ndarray]:
    """The answers common mistakes give, with the explanation the checker prints for each."""
    centres = (np.arange(t) + 0.5) * n / t
    return {
        "These are the starts of the T equal bins: take their centres, (i + 0.5) * n / T":
            np.floor(np.arange(t) * n / t),
        "These are the bin centres rounded: take their floor, so that the last index stays below n":
            np.round(centres),
        "These are T points from the first to the last frame (np.linspace(0, n - 1, T)): the uniform "
        "sampler takes the centres of T equal bins, (i + 0.5) * n / T":
            np.round(np.linspace(0, n - 1, t)),
        "These are T points from the first to the last frame, floored (np.linspace(0, n - 1, T)): the "
        "uniform sampler takes the centres of T equal bins, (i + 0.5) * n / T":
            np.floor(np.linspace(0, n - 1, t)),
        "These are the first T frames, a dense clip: spread them evenly over the whole video":
            np.minimum(np.arange(t), n - 1),
    }


def check_uniform_sampler(fn: Callable[[int, int], np.ndarray]) -> bool:
    """Check uniform frame sampling ``fn(num_video_frames, num_frames) -> (num_frames,)`` integer indices.

    Expected: split the video's ``n = num_video_frames`` frames into ``T = num_frames`` equal bins and take
    the frame at the centre of each, ``floor((i + 0.5) * n / T)`` for ``i = 0 .. T - 1``: sorted, in
    ``[0, n - 1]``, repeating frames when the video has fewer than ``T``. Reference:
    :class:`vidlearn.data.samplers.UniformSampler`, called as ``UniformSampler(T)(n)``. A numpy array,
    a list or a tensor of integers is accepted.
    """
    hint = ("split the n frames into T equal bins of n / T frames; bin i is centred at (i + 0.5) * n / T; "
            "return np.floor of the T centres as an np.int64 array, e.g. with np.arange(T).")

    def body(call) -> List[str]:
        tried = []
        for n, t in _CASES:
            on = f"a video of num_video_frames={n} frames with num_frames={t}"
            got = _as_indices(call(on, n, t), on)
            expected = UniformSampler(t)(n)  # (T,)
            if got.shape != expected.shape:
                msg = f"on {on}, expected {t} indices (shape {expected.shape}), got shape {got.shape}"
                if got.shape == (n,) and n != t:
                    msg += ": did you swap the arguments? The call is fn(num_video_frames, num_frames)"
                elif got.ndim == 1 and got.size == t + 1:
                    msg += ": that is the T + 1 bin edges; take the T bin centres"
                raise _Mismatch(msg)
            if got.min() < 0 or got.max() > n - 1:
                bad = int(got.max()) if got.max() > n - 1 else int(got.min())
                raise _Mismatch(f"on {on}, index {bad} is out of range: a video of {n} frames has frames 0 .. "
                                f"{n - 1}; got {_show(got)}")
            if np.array_equal(got, expected):
                tried.append(f"n={n} T={t}")
                continue
            first = int(np.flatnonzero(got != expected)[0])
            msg = (f"on {on}, {int((got != expected).sum())} of {t} indices differ; the first is index {first}: "
                   f"expected frame {int(expected[first])}, got {int(got[first])} (expected {_show(expected)}, "
                   f"got {_show(got)})")
            if np.any(np.diff(got) < 0):
                msg += ". Your indices are not sorted: a clip's frames go forward in time"
            else:
                for why, wrong in _mistakes(n, t).items():
                    if np.array_equal(got, wrong):
                        msg += f". {why}"
                        break
            raise _Mismatch(msg)
        return tried

    return _check("uniform sampler", fn, hint, body)
