"""An on-disk flow cache, so a dataset's optical flow is computed once.

The two-stream papers and TSN computed flow for the whole dataset before training and stored it as
8-bit images; training then read images, never ran TV-L1. :class:`FlowCache` does the same lazily: the
first request for a clip's flow computes it and writes it quantised (:func:`~vidlearn.flow.quantize_flow`)
to a compressed ``.npz`` file; later requests read that file.

An entry is keyed by everything that changes the result:

    (resolved video path, file size, modification time, frame indices, frame size, method, options, bound)

so editing or replacing the video invalidates its entries (they get a new key; :meth:`FlowCache.clear`
removes old files). A hit and a miss return the same values: both return the dequantised flow.

>>> cache = FlowCache("~/.cache/vidlearn/flow")
>>> flow = cache.get_or_compute("bikes.mp4", range(0, 11), method="tvl1", size=112)  # (2, 10, 112, 112)
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable, Optional, Sequence, Tuple, Union

import numpy as np

from vidlearn.flow.compute import compute_flow
from vidlearn.flow.stack import dequantize_flow, quantize_flow

Size = Union[int, Tuple[int, int], None]


def read_frames(path: Union[str, Path], indices: Sequence[int], size: Size = None) -> np.ndarray:
    """Decode the frames ``indices`` of a video (``vidlearn.data.read_video``): uint8 ``(T, H, W, 3)``.

    ``size``: resize after decoding (bilinear, antialiased) to ``size x size`` (an int) or ``(H, W)``;
    ``None``: the file's size. Errors name the file (missing, unreadable, indices out of range).
    """
    from vidlearn.data.io import read_video  # the one decoding path, with its error handling

    frames = read_video(path, list(indices))  # (T, H, W, 3)
    if size is None:
        return frames
    import torch
    import torch.nn.functional as F

    height, width = (size, size) if isinstance(size, int) else size
    x = torch.from_numpy(frames).permute(0, 3, 1, 2).float()  # (T, 3, H, W)
    x = F.interpolate(x, size=(height, width), mode="bilinear", align_corners=False, antialias=True)
    return x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()  # (T, H', W', 3)


class FlowCache:
    """Flow of video clips, computed once and stored as quantised uint8 ``.npz`` files under ``root``.

    Args:
        root: the cache folder (created on first write).
        bound: quantisation bound in pixels (flow is clipped to ``[-bound, bound]``; TSN uses 20).

    ``hits`` and ``misses`` count the requests served from disk and computed.
    """

    def __init__(self, root: Union[str, Path], bound: float = 20.0):
        self.root = Path(root).expanduser()
        self.bound = float(bound)
        self.hits = 0
        self.misses = 0

    def __repr__(self) -> str:
        return f"FlowCache({str(self.root)!r}, bound={self.bound}, hits={self.hits}, misses={self.misses})"

    def entry_path(
        self,
        path: Union[str, Path],
        indices: Sequence[int],
        method: str = "dis",
        size: Size = None,
        **options: Any,
    ) -> Path:
        """The ``.npz`` file that holds (or would hold) this clip's flow."""
        video = Path(path).expanduser()
        if not video.is_file():
            raise FileNotFoundError(f"no video file at {video}")
        video = video.resolve()
        stat = video.stat()
        key = json.dumps([
            str(video), stat.st_size, stat.st_mtime_ns, [int(i) for i in indices], size, method,
            sorted((name, repr(value)) for name, value in options.items()), self.bound,
        ])
        digest = hashlib.sha1(key.encode()).hexdigest()[:20]
        return self.root / f"{video.stem}-{digest}.npz"

    def get_or_compute(
        self,
        path: Union[str, Path],
        indices: Sequence[int],
        method: str = "dis",
        size: Size = None,
        compute: Optional[Callable[[], np.ndarray]] = None,
        **options: Any,
    ) -> np.ndarray:
        """Flow between consecutive frames ``indices`` of the video at ``path``: float32 ``(2, T-1, H, W)``.

        Args:
            path: the video file; its size and modification time are part of the key.
            indices: the frames, in order (``T >= 2``), e.g. ``range(10, 21)`` for 10 fields.
            method, **options: passed to :func:`~vidlearn.flow.compute_flow`.
            size: decode frames at ``size x size`` (int) or ``(H, W)``; ``None``: the file's own size.
            compute: a zero-argument function returning the flow, to replace the default (decord +
                ``compute_flow``), e.g. for custom preprocessing. Everything that changes its result
                must still be named by ``method``, ``size`` or ``options``: they make the key.

        Returns:
            The dequantised flow, identical whether it was computed now or read from disk.
        """
        indices = [int(i) for i in indices]
        if len(indices) < 2:
            raise ValueError(f"optical flow needs at least 2 frame indices, got {indices}")
        entry = self.entry_path(path, indices, method, size, **options)
        if entry.is_file():
            try:
                with np.load(entry) as data:
                    quantized = data["flow"]
                self.hits += 1
                return dequantize_flow(quantized, self.bound)
            except (OSError, ValueError, KeyError):
                pass  # unreadable entry (e.g. a disk that filled up): compute it again
        self.misses += 1
        if compute is None:
            flow = compute_flow(read_frames(path, indices, size), method, **options)
        else:
            flow = np.asarray(compute(), dtype=np.float32)
        quantized = quantize_flow(flow, self.bound)
        self._write(entry, quantized)
        return dequantize_flow(quantized, self.bound)

    def _write(self, entry: Path, quantized: np.ndarray) -> None:
        entry.parent.mkdir(parents=True, exist_ok=True)
        partial = entry.with_name(f"{entry.stem}.{os.getpid()}.partial")
        with open(partial, "wb") as f:
            np.savez_compressed(f, flow=quantized)
        os.replace(partial, entry)  # atomic: readers never see half a file

    def clear(self) -> int:
        """Delete every cached entry; returns how many files were removed."""
        entries = list(self.root.glob("*.npz")) if self.root.is_dir() else []
        for entry in entries:
            entry.unlink()
        return len(entries)

    def __len__(self) -> int:
        return len(list(self.root.glob("*.npz"))) if self.root.is_dir() else 0
