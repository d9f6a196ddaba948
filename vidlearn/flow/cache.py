"""An on-disk flow cache, so a dataset's optical flow is computed once.

The two-stream papers and TSN computed flow for the whole dataset before training and stored it as
8-bit images; training then read images, never ran TV-L1. :class:`FlowCache` does the same lazily: the
first request for a clip's flow computes it and writes it quantised (:func:`~vidlearn.flow.quantize_flow`)
to a compressed ``.npz`` file; later requests read that file.

An entry is keyed by everything that changes the result:

    (resolved video path, file size, modification time, frame indices, frame size, method, options, bound)

so editing or replacing the video invalidates its entries (they get a new key; :meth:`FlowCache.clear`
removes old files). A hit and a miss return the same values: both return the dequantised flow.

Entries are written atomically (a temporary next to the entry, unique per process and thread, renamed
over it when complete: :mod:`vidlearn.files`) and checked when read: an entry that does not load (empty,
truncated, bit-flipped, not an ``.npz``), that was written for another key, or whose array is not uint8
``(2, T-1, H, W)`` for the clip is computed again and rewritten, never returned. The cache owns only the
files its naming scheme makes (``<video stem>-<20 hex digits>.npz`` and its own temporaries):
:meth:`FlowCache.clear` and ``len()`` ignore every other file in the folder.

>>> cache = FlowCache("~/.cache/vidlearn/flow")
>>> flow = cache.get_or_compute("bikes.mp4", range(0, 11), method="tvl1", size=112)  # (2, 10, 112, 112)
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any, Callable, Optional, Sequence, Tuple, Union

import numpy as np

from vidlearn.files import TEMP_MARK, atomic_path
from vidlearn.flow.compute import compute_flow, resolve_flow_method
from vidlearn.flow.stack import dequantize_flow, quantize_flow

Size = Union[int, Tuple[int, int], None]

_DIGITS = 20  # hex digits of the key's hash in an entry's name
_ENTRY = re.compile(rf".+-[0-9a-f]{{{_DIGITS}}}\.npz")
_TEMPORARY = re.compile(rf"\..+-[0-9a-f]{{{_DIGITS}}}\.npz\..+{re.escape(TEMP_MARK)}\.npz")  # a crash's leftover


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


def _digest(quantized: np.ndarray) -> str:
    """A checksum of the flow's bytes and shape: a flipped bit is caught even where the zip's CRC is not read."""
    h = hashlib.blake2b(repr(quantized.shape).encode(), digest_size=16)
    h.update(np.ascontiguousarray(quantized).tobytes())
    return h.hexdigest()


class FlowCache:
    """Flow of video clips, computed once and stored as quantised uint8 ``.npz`` files under ``root``.

    Args:
        root: the cache folder (created on first write).
        bound: quantisation bound in pixels (flow is clipped to ``[-bound, bound]``; TSN uses 20).

    ``hits`` and ``misses`` count the requests served from disk and computed; ``recomputed`` counts the
    entries found damaged or not matching their clip, computed again.
    """

    def __init__(self, root: Union[str, Path], bound: float = 20.0):
        self.root = Path(root).expanduser()
        self.bound = float(bound)
        self.hits = 0
        self.misses = 0
        self.recomputed = 0

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
        return self._entry(path, indices, method, size, **options)[0]

    def _entry(self, path, indices, method, size, **options) -> Tuple[Path, str]:
        video = Path(path).expanduser()
        if not video.is_file():
            raise FileNotFoundError(f"no video file at {video}")
        video = video.resolve()
        stat = video.stat()
        key = json.dumps([
            str(video), stat.st_size, stat.st_mtime_ns, [int(i) for i in indices], size, method,
            sorted((name, repr(value)) for name, value in options.items()), self.bound,
        ])
        digest = hashlib.sha1(key.encode()).hexdigest()[:_DIGITS]
        return self.root / f"{video.stem}-{digest}.npz", key

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
            compute: a zero-argument function returning the flow, to replace the default (``read_video`` +
                ``compute_flow``), e.g. for custom preprocessing. Everything that changes its result
                must still be named by ``method``, ``size`` or ``options``: they make the key.

        Returns:
            The dequantised flow, identical whether it was computed now or read from disk.
        """
        indices = [int(i) for i in indices]
        if len(indices) < 2:
            raise ValueError(f"optical flow needs at least 2 frame indices, got {indices}")
        if compute is None:  # key on the method that runs: a TV-L1 that fell back to DIS is stored as DIS
            method = resolve_flow_method(method)
        entry, key = self._entry(path, indices, method, size, **options)
        hw = None if size is None or compute is not None else ((size, size) if isinstance(size, int) else tuple(size))
        if entry.is_file():
            quantized = self._read(entry, key, len(indices) - 1, hw)
            if quantized is not None:
                self.hits += 1
                return dequantize_flow(quantized, self.bound)
            self.recomputed += 1  # damaged, or not this clip's: compute it again and overwrite it
        self.misses += 1
        if compute is None:
            flow = compute_flow(read_frames(path, indices, size), method, **options)
        else:
            flow = np.asarray(compute(), dtype=np.float32)
            if flow.ndim != 4 or flow.shape[:2] != (2, len(indices) - 1):
                raise ValueError(f"compute() for {len(indices)} frames of {path} must return flow "
                                 f"(2, {len(indices) - 1}, H, W), got shape {flow.shape}")
        quantized = quantize_flow(flow, self.bound)
        self._write(entry, key, quantized)
        return dequantize_flow(quantized, self.bound)

    @staticmethod
    def _read(entry: Path, key: str, fields: int, hw: Optional[Tuple[int, int]]) -> Optional[np.ndarray]:
        """The entry's quantised flow if it is sound and is this key's, else ``None``."""
        try:
            with np.load(entry, allow_pickle=False) as data:
                stored_key, stored_digest, quantized = str(data["key"]), str(data["digest"]), data["flow"]
        except Exception:  # BadZipFile, EOFError, zlib.error, a CRC mismatch, a missing member...: damaged
            return None
        ok = (stored_key == key and quantized.dtype == np.uint8 and quantized.ndim == 4
              and quantized.shape[:2] == (2, fields) and (hw is None or quantized.shape[2:] == hw)
              and stored_digest == _digest(quantized))
        return quantized if ok else None

    @staticmethod
    def _write(entry: Path, key: str, quantized: np.ndarray) -> None:
        # atomic, with a temporary unique to this process and thread: readers never see half a file
        with atomic_path(entry) as tmp, open(tmp, "xb") as f:
            np.savez_compressed(f, flow=quantized, key=np.array(key), digest=np.array(_digest(quantized)))

    def _owned(self) -> list:
        """The files this cache wrote: entries and leftover temporaries, by the cache's naming scheme."""
        if not self.root.is_dir():
            return []
        return [p for p in self.root.iterdir()
                if p.is_file() and (_ENTRY.fullmatch(p.name) or _TEMPORARY.fullmatch(p.name))]

    def clear(self) -> int:
        """Delete the cache's entries (and temporaries a crash left); other files in ``root`` stay.

        Returns how many files were removed.
        """
        owned = self._owned()
        for path in owned:
            path.unlink(missing_ok=True)
        return len(owned)

    def __len__(self) -> int:
        return sum(1 for p in self._owned() if _ENTRY.fullmatch(p.name))
