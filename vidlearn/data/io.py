"""Reading and writing video files: decord, torchcodec or PyAV reads, PyAV writes.

``read_video(path, indices)`` decodes only the requested frames (seeking to the key frame before each run
of indices and decoding forward), which is what training on long videos needs. Three readers, one API
(``read_video``, ``video_info``, ``open_video`` + ``get_frames``, and ``VideoFolder`` on top):

- decord, preferred where installed (fast; wheels only for Linux x86_64 and Windows, so a dependency
  only there);
- torchcodec, where installed (Colab preinstalls it);
- PyAV, everywhere (a dependency of vidlearn: wheels for every platform).

The first installed one is used (for ``.avi`` files PyAV comes first: decord misreads sampled frames of
H.264 in AVI); ``backend="pyav"`` (or ``$VIDLEARN_VIDEO_BACKEND``) chooses another, and
``available_backends()`` lists those installed. All count frames the same way (one per video packet, in
presentation order) and return the same frames for the same indices: pixel-equal on the files
``write_video`` writes and on the sample clips (the tests check every installed backend against PyAV).
``write_video`` encodes H.264 (``libx264``, ``yuv420p``, playable in every browser) or MPEG-4 Part 2
where the PyAV wheel lacks libx264. Errors name the file: a missing file is a ``FileNotFoundError``, a
file that cannot be decoded a :class:`VideoReadError` with the backend's (and FFmpeg's) reason, an index
past the end an ``IndexError`` giving the video's length, an index that is not a whole number (a float, a
boolean mask) a ``TypeError``. ``write_video`` is atomic: it encodes to a temporary file next to the
destination and renames it over the destination only when the encoding has finished, so an interrupted
write leaves the previous file intact (:mod:`vidlearn.files`).

    frames = read_video("clip.mp4", [0, 8, 16])   # uint8 (3, H, W, 3)
    read_video("clip.mp4", [0, 8], backend="pyav")  # the same frames through PyAV
    video_info("clip.mp4")                        # {'num_frames': 120, 'fps': 29.97, 'height': 144, ...}
    write_video("out.mp4", frames, fps=8)

Used by ``VideoFolder``, ``write_video_folder`` and the chapter "Working with video".
"""

from __future__ import annotations

import functools
import importlib
import math
import numbers
import os
from fractions import Fraction
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch

from vidlearn.files import atomic_path

PathLike = Union[str, os.PathLike]
Indices = Union[Sequence[int], np.ndarray, torch.Tensor]


class VideoReadError(IOError):
    """A video file exists but cannot be decoded (corrupt, truncated, not a video). The message names it."""


def _ffmpeg_reason(path: Path) -> str:
    """FFmpeg's own reason (through PyAV) why a file does not open as a video, or ``""``."""
    try:
        import av

        with av.open(str(path)) as container:
            return "" if container.streams.video else "the file has no video stream"
    except Exception as err:  # any failure to open is the reason we are after
        return str(err)


def _read_error(path: Path, err: BaseException, backend: str) -> VideoReadError:
    said = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    reason = "" if backend == "pyav" else _ffmpeg_reason(path)  # PyAV's reason is FFmpeg's already
    extra = f"; FFmpeg says: {reason}" if reason else ""
    return VideoReadError(f"cannot read video {path}: {backend} says: {said}{extra}")


def _to_numpy(x) -> np.ndarray:
    # decord returns its own NDArray, or a torch/mxnet tensor when a decord bridge was set globally
    if hasattr(x, "asnumpy"):
        return x.asnumpy()
    if isinstance(x, torch.Tensor):
        return x.numpy()
    return np.asarray(x)


def _unpad(frame: np.ndarray) -> np.ndarray:
    # decord 0.6 bug (dmlc/decord#336): for some widths (16, 24, 48, 72...) a frame comes back as
    # (H, W, C') with C' != 3, each row holding FFmpeg's padded line (W * C' bytes) of which the first
    # W * 3 are the RGB pixels. get_batch fails on such files; frames read one by one can be unpadded.
    h, w = frame.shape[:2]
    return frame.reshape(h, -1)[:, : w * 3].reshape(h, w, 3)


def _frame_indices(indices: Indices, path: PathLike) -> np.ndarray:
    """``indices`` as a flat int64 array; floats and boolean masks are refused (they are not frame numbers)."""
    arr = indices.detach().cpu().numpy() if isinstance(indices, torch.Tensor) else np.asarray(indices)
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.dtype == np.bool_:
        raise TypeError(f"frame indices for {path} must be whole numbers, got a boolean mask of {arr.size} "
                        "values; to read the frames where a mask is True pass np.flatnonzero(mask)")
    if not np.issubdtype(arr.dtype, np.integer):
        shown = arr.reshape(-1)[:5].tolist()
        raise TypeError(f"frame indices for {path} must be whole numbers, got {arr.dtype} values {shown}; "
                        "round them first, e.g. np.round(indices).astype(int)")
    return arr.astype(np.int64).reshape(-1)


BACKENDS = ("decord", "torchcodec", "pyav")  # in the order of preference: the first installed one is used
# AVI files: decord 0.6 returns wrong frames for sampled reads of H.264 in AVI (asked for [29, 3, 17, 8] of a
# 30-frame clip, it returns [0, 3, 17, 8] with one keyframe and [5, 3, 1, 0] with a keyframe every 8 frames;
# MPEG-4 Part 2 AVIs such as UCF101's and HMDB51's read right), so an automatic choice reads .avi with PyAV
AVI_BACKENDS = ("pyav", "torchcodec", "decord")
BACKEND_ENV = "VIDLEARN_VIDEO_BACKEND"


@functools.cache
def _torchcodec_loads() -> bool:
    # `import torchcodec` succeeds without FFmpeg's shared libraries (they are not in its wheel) and only
    # VideoDecoder then fails: load them up front, once (a failed load is slow: it tries six FFmpegs)
    try:
        from torchcodec import _internally_replaced_utils as libs
    except Exception:  # a torchcodec laid out otherwise: trust the import
        return True
    try:
        getattr(libs, "load_core_libraries", lambda: None)()
    except Exception:
        return False
    return True


def _importable(backend: str) -> bool:
    module = {"decord": "decord", "torchcodec": "torchcodec.decoders", "pyav": "av"}[backend]
    try:
        importlib.import_module(module.split(".")[0])  # first: a hidden package (sys.modules[name] = None)
        importlib.import_module(module)
    except Exception:  # not installed, hidden (sys.modules[name] = None), or its native libraries are missing
        return False
    return backend != "torchcodec" or _torchcodec_loads()


def available_backends() -> List[str]:
    """The video readers installed here, preferred first: a subset of ``("decord", "torchcodec", "pyav")``.

    decord where it has wheels (Linux x86_64, Windows), torchcodec where it is installed (Colab), PyAV
    everywhere (a dependency of vidlearn). :func:`read_video` uses the first unless told otherwise.
    """
    return [b for b in BACKENDS if _importable(b)]


def _choose_backend(backend: Optional[str], path: Optional[PathLike] = None) -> str:
    """``backend``, else ``$VIDLEARN_VIDEO_BACKEND``, else the first installed of ``BACKENDS`` (of
    ``AVI_BACKENDS`` for a ``path`` ending in ``.avi``)."""
    where = "backend="
    if backend is None and os.environ.get(BACKEND_ENV):
        backend, where = os.environ[BACKEND_ENV], f"${BACKEND_ENV}"
    if backend is None:
        order = AVI_BACKENDS if path is not None and Path(path).suffix.lower() == ".avi" else BACKENDS
        for name in order:  # the first installed (not available_backends(): it would try them all)
            if _importable(name):
                return name
        raise ImportError("no video reader installed: pip install av (or decord, or torchcodec)")
    name = str(backend).strip().lower()
    name = "pyav" if name == "av" else name
    if name not in BACKENDS:
        raise ValueError(f"{where} must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if not _importable(name):
        raise ImportError(f"video backend {name!r} (from {where}) is not installed here; installed: "
                          f"{', '.join(available_backends()) or 'none'}")
    return name


class VideoReader:
    """An open video: ``len(reader)`` frames of ``reader.height`` x ``reader.width`` at ``reader.fps``.

    Made by :func:`open_video`; ``reader.backend`` names the library decoding it. :func:`get_frames` reads
    frames from it. Every backend counts frames the same way (one per video packet, in presentation order).
    """

    backend = ""

    def __init__(self, path: Path, num_threads: int):
        self.path, self.num_threads = path, num_threads

    def __len__(self) -> int:
        return self.num_frames

    def decode(self, unique: np.ndarray) -> np.ndarray:
        """Frames ``unique`` (sorted, distinct, in ``[0, len)``) as uint8 ``(U, H, W, 3)``."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return (f"VideoReader({str(self.path)!r}, backend={self.backend!r}, {self.num_frames} frames, "
                f"{self.width}x{self.height}, {self.fps:g} fps)")


class _DecordReader(VideoReader):
    backend = "decord"

    def __init__(self, path: Path, num_threads: int):
        import decord

        super().__init__(path, num_threads)
        try:
            self._reader = decord.VideoReader(str(path), ctx=decord.cpu(0), num_threads=num_threads)
            self.num_frames = len(self._reader)
            self.fps = float(self._reader.get_avg_fps())
        except (RuntimeError, AssertionError, decord.DECORDError) as err:
            raise _read_error(path, err, "decord") from None
        self._size: Optional[tuple] = None

    def _shape(self) -> tuple:  # decord knows the size only by decoding a frame: done once, when asked
        if self._size is None:
            try:
                self._size = tuple(_to_numpy(self._reader[0]).shape[:2]) if self.num_frames else (0, 0)
            except Exception as err:
                raise _read_error(self.path, err, "decord") from None
        return self._size

    @property
    def height(self) -> int:
        return int(self._shape()[0])

    @property
    def width(self) -> int:
        return int(self._shape()[1])

    def decode(self, unique: np.ndarray) -> np.ndarray:
        import decord

        try:
            frames = _to_numpy(self._reader.get_batch(unique.tolist()))  # (U, H, W, 3)
            padded = frames.ndim != 4 or frames.shape[-1] != 3
        except decord.DECORDError as err:
            if "DECORDArrayCopyFromTo" not in str(err):  # the padded-rows bug; anything else is a bad file
                raise _read_error(self.path, err, "decord") from None
            padded = True
        if padded:
            try:
                frames = np.stack([_unpad(_to_numpy(self._reader[int(i)])) for i in unique])  # (U, H, W, 3)
            except (decord.DECORDError, RuntimeError) as err:
                raise _read_error(self.path, err, "decord") from None
        return frames


class _TorchCodecReader(VideoReader):
    backend = "torchcodec"

    def __init__(self, path: Path, num_threads: int):
        from torchcodec.decoders import VideoDecoder

        super().__init__(path, num_threads)
        try:  # seek_mode "exact" (the default) scans the file: frames counted and indexed as decord does
            self._decoder = VideoDecoder(str(path), device="cpu", dimension_order="NHWC",
                                         num_ffmpeg_threads=num_threads)
            meta = self._decoder.metadata
            self.num_frames = len(self._decoder)
            # the header's rate (FFmpeg's avg_frame_rate, as decord and PyAV report it), else torchcodec's count
            self.fps = float(getattr(meta, "average_fps_from_header", None) or meta.average_fps or 0.0)
            self.height, self.width = int(meta.height), int(meta.width)
        except (RuntimeError, ValueError, OSError) as err:
            raise _read_error(path, err, "torchcodec") from None

    def decode(self, unique: np.ndarray) -> np.ndarray:
        try:
            return self._decoder.get_frames_at(indices=unique.tolist()).data.numpy()  # (U, H, W, 3)
        except (RuntimeError, ValueError, IndexError) as err:
            raise _read_error(self.path, err, "torchcodec") from None


class _PyAVReader(VideoReader):
    """PyAV (FFmpeg): the packets are indexed once (no decoding), then each run of wanted frames is decoded
    forward from the keyframe before it, as decord does; frames are counted and numbered as decord does,
    one per video packet in presentation (pts) order."""

    backend = "pyav"

    def __init__(self, path: Path, num_threads: int):
        import av

        super().__init__(path, num_threads)
        try:
            self._container = av.open(str(path))
            if not self._container.streams.video:
                raise VideoReadError(f"cannot read video {path}: the file has no video stream")
            stream = self._container.streams.video[0]
            packets = [(p.pts if p.pts is not None else p.dts, p.is_keyframe)
                       for p in self._container.demux(stream) if p.size]
            packets = [(ts, key) for ts, key in packets if ts is not None]
        except av.FFmpegError as err:
            raise _read_error(path, err, "pyav") from None
        packets.sort()
        self._pts = np.array([pts for pts, _ in packets], dtype=np.int64)  # presentation order
        self._index = {int(pts): i for i, pts in enumerate(self._pts)}
        self._key_before = np.zeros(len(packets), dtype=np.int64)  # the keyframe decoding frame i starts at
        last = 0
        for i, (_, key) in enumerate(packets):
            last = i if key else last
            self._key_before[i] = last
        self._stream = stream
        self._counted = self._container.format.name == "avi"
        stream.thread_type = "AUTO" if num_threads != 1 else "SLICE"
        stream.thread_count = num_threads
        self.num_frames = len(packets)
        rate = stream.average_rate or stream.guessed_rate
        self.fps = float(rate) if rate else 0.0
        self.height, self.width = int(stream.codec_context.height), int(stream.codec_context.width)

    def _frame_number(self, frame) -> int:
        ts = frame.pts if frame.pts is not None else getattr(frame, "dts", None)
        return self._index.get(ts, -1) if ts is not None else -1

    def _decode_to(self, frames, want: int, pos: int):
        """Decode on from ``frames`` until frame ``want``: ``(its pixels or None if passed, new pos)``."""
        for frame in frames:
            # AVI stores no presentation times: its "pts" of B-frame video are decode-order guesses, so
            # after the first frame of a seek (a keyframe, whose number is right) frames are counted
            at = pos + 1 if self._counted and pos >= 0 else self._frame_number(frame)
            pos = max(pos, at)
            if at == want:
                return frame.to_ndarray(format="rgb24"), pos  # (H, W, 3)
            if at > want:
                break
        return None, pos

    def decode(self, unique: np.ndarray) -> np.ndarray:
        import av

        out: List[np.ndarray] = []
        frames = None  # the running decoder (an iterator of frames), None until the first seek
        pos = -1  # presentation index of the last frame decoded
        try:
            for want in unique.tolist():
                start, got = want, None
                while got is None:
                    if frames is None or want <= pos or self._key_before[want] > pos:  # seeking skips work
                        self._container.seek(int(self._pts[start]), stream=self._stream, backward=True)
                        frames, pos = self._container.decode(self._stream), -1
                    got, pos = self._decode_to(frames, want, pos)
                    if got is None:  # a keyframe flag that lies (AVI's index): start one keyframe earlier
                        if start == 0:  # decoded from the first frame and still not there
                            raise VideoReadError(f"cannot read video {self.path}: pyav says: frame {want} "
                                                 f"of {self.num_frames} did not decode")
                        start, frames = int(self._key_before[max(int(self._key_before[start]) - 1, 0)]), None
                out.append(got)
        except av.FFmpegError as err:
            raise _read_error(self.path, err, "pyav") from None
        return np.stack(out)  # (U, H, W, 3)

    def __del__(self):
        container = getattr(self, "_container", None)
        if container is not None:
            container.close()


_READERS = {"decord": _DecordReader, "torchcodec": _TorchCodecReader, "pyav": _PyAVReader}


def open_video(path: PathLike, num_threads: int = 1, backend: Optional[str] = None) -> VideoReader:
    """Open ``path`` for reading with ``backend`` (see :func:`available_backends`), as a :class:`VideoReader`.

    ``backend=None`` takes ``$VIDLEARN_VIDEO_BACKEND`` when set, else the first installed of decord,
    torchcodec, PyAV (PyAV first for ``.avi``: decord misreads sampled frames of H.264 in AVI, see
    ``AVI_BACKENDS``). ``num_threads=1`` decodes on one thread, the right choice inside DataLoader workers
    (0: FFmpeg's auto).

    Raises:
        FileNotFoundError: no file at ``path``.
        VideoReadError: the file is not a decodable video (the message names it and the backend's reason).
        ValueError: an unknown ``backend``; ImportError: one that is not installed.
    """
    name = _choose_backend(backend, path)
    path = Path(path)
    if not path.is_file():
        what = "is a directory, not a video file" if path.is_dir() else "not found"
        raise FileNotFoundError(f"video file {what}: {path}")
    return _READERS[name](path, num_threads)


def get_frames(reader: VideoReader, indices: Indices, path: Optional[PathLike] = None) -> np.ndarray:
    """Decode ``indices`` from an open ``reader`` (see :func:`open_video`) as uint8 ``(T, H, W, 3)``."""
    if not isinstance(reader, VideoReader):
        raise TypeError(f"get_frames expects a VideoReader from vidlearn.data.open_video, got "
                        f"{type(reader).__name__}")
    path = reader.path if path is None else path
    n = len(reader)
    idx = _frame_indices(indices, path)
    bad = idx[(idx < -n) | (idx >= n)]
    if bad.size:
        raise IndexError(f"frame indices {bad[:5].tolist()} out of range for {path}, which has {n} frames "
                         f"(valid: 0 to {n - 1}, or -{n} to -1)")
    if idx.size == 0:
        return np.zeros((0, reader.height, reader.width, 3), dtype=np.uint8)
    unique, inverse = np.unique(idx % n, return_inverse=True)  # decode each frame once, in file order
    frames = reader.decode(unique)  # (U, H, W, 3)
    return np.ascontiguousarray(frames[inverse.reshape(-1)])  # (T, H, W, 3)


def read_video(path: PathLike, indices: Optional[Indices] = None, num_threads: int = 1,
               backend: Optional[str] = None) -> np.ndarray:
    """Decode frames of the video at ``path``, only those in ``indices`` (all when ``None``).

    Args:
        indices: frame numbers, integers (any order, repeats allowed, negative counts from the end).
        backend: ``"decord"``, ``"torchcodec"`` or ``"pyav"``; ``None``: ``$VIDLEARN_VIDEO_BACKEND``, else
            the first of :func:`available_backends`. Every backend gives the same frames for the same
            indices.

    Returns:
        uint8 array ``(T, H, W, 3)``, RGB, in the order of ``indices``.

    Raises:
        FileNotFoundError: no file at ``path``.
        VideoReadError: the file cannot be decoded (the message names it and gives the backend's reason).
        IndexError: an index is outside the video (the message gives its length).
        TypeError: ``indices`` are not whole numbers (floats, a boolean mask).
    """
    reader = open_video(path, num_threads=num_threads, backend=backend)
    if indices is None:
        indices = np.arange(len(reader))
    return get_frames(reader, indices, path)


def video_info(path: PathLike, backend: Optional[str] = None) -> Dict[str, Union[int, float]]:
    """``{"num_frames", "fps", "height", "width"}`` of the video at ``path``."""
    reader = open_video(path, backend=backend)
    if reader.num_frames == 0:
        raise VideoReadError(f"cannot read video {path}: {reader.backend} finds no frames in it")
    return {"num_frames": len(reader), "fps": reader.fps, "height": int(reader.height),
            "width": int(reader.width)}


def _encoder() -> str:
    import av

    try:
        av.codec.Codec("libx264", "w")
        return "libx264"
    except Exception:  # a PyAV wheel built without GPL codecs
        return "mpeg4"


WRITE_EXTENSIONS = (".mp4", ".m4v", ".mov", ".mkv", ".avi")  # containers that take H.264 and MPEG-4


def _check_destination(path: Path) -> None:
    if path.is_dir():
        raise IsADirectoryError(f"cannot write a video to {path}: it is a folder; give a file path such as "
                                f"{path / 'clip.mp4'}")
    if path.suffix.lower() not in WRITE_EXTENSIONS:
        said = f"extension {path.suffix!r}" if path.suffix else "no extension"
        raise ValueError(f"cannot write a video to {path}: it has {said}, expected one of "
                         f"{', '.join(WRITE_EXTENSIONS)} (the extension chooses the container)")


def _check_fps(fps) -> None:
    ok = isinstance(fps, numbers.Real) and not isinstance(fps, bool) and math.isfinite(fps) and fps > 0
    if not ok:
        raise ValueError(f"write_video expects fps, a finite frame rate > 0, got {fps!r}")


def write_video(path: PathLike, frames: Union[np.ndarray, torch.Tensor], fps: float = 25, crf: int = 17,
                codec: Optional[str] = None, keyframe_interval: Optional[int] = None) -> Path:
    """Encode ``frames`` (uint8 ``(T, H, W, 3)`` or ``(T, H, W, 1)``, numpy or torch) as a video file.

    H.264 (``libx264``, ``yuv420p``) when PyAV has it, else MPEG-4 (``mpeg4``). yuv420p needs an even
    height and width: an odd one is padded by repeating the last row/column, so the file is one pixel
    larger there. Parent folders are created. The write is atomic: the video is encoded to a hidden
    temporary file in the same folder and renamed over ``path`` only once it is complete, so a failed or
    interrupted write (an exception, a full disk, Ctrl-C) leaves no partial file and the previous file at
    ``path``, if any, intact.

    Args:
        path: the file to write; its extension (``.mp4``, ``.mkv``, ``.avi``, ``.mov``, ``.m4v``)
            chooses the container.
        fps: frame rate stored in the file, finite and > 0.
        crf: libx264 constant rate factor (0 lossless luma, 17 visually lossless, 23 FFmpeg's default).
        codec: force an encoder (``"libx264"``, ``"mpeg4"``...).
        keyframe_interval: a keyframe (an independently decodable frame) every this many frames, as
            cameras and streaming sites write them (often every 1-2 seconds). ``None`` keeps the
            encoder's default (x264: at most every 250 frames, so a short clip has one keyframe). A reader
            that seeks (:func:`read_video`, :class:`~vidlearn.data.VideoFolder`) decodes from the keyframe before
            the first sampled frame, so short intervals make sampled reading of long videos faster and the
            files larger.

    Returns:
        ``path`` as a :class:`pathlib.Path`.

    Raises:
        ValueError: frames that are not uint8 ``(T, H, W, 3|1)``, a bad ``fps`` or ``keyframe_interval``,
            or a path without a video extension; nothing is written.
        IsADirectoryError: ``path`` is a folder.
    """
    import av

    path = Path(path)
    if isinstance(frames, torch.Tensor):
        frames = frames.detach().cpu().numpy()
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] not in (1, 3) or frames.dtype != np.uint8 or len(frames) == 0:
        raise ValueError(
            f"write_video expects uint8 frames (T, H, W, 3) with T >= 1, got {frames.dtype} {frames.shape}; "
            "a float clip (C, T, H, W) in [0, 1] converts with (clip * 255).round().byte().permute(1, 2, 3, 0)")
    if keyframe_interval is not None and (isinstance(keyframe_interval, bool) or not isinstance(
            keyframe_interval, (int, np.integer)) or keyframe_interval < 1):
        raise ValueError(f"keyframe_interval must be a whole number of frames >= 1 or None, got {keyframe_interval!r}")
    _check_fps(fps)
    _check_destination(path)
    if frames.shape[-1] == 1:
        frames = np.repeat(frames, 3, axis=-1)
    _, h, w, _ = frames.shape
    if h % 2 or w % 2:
        frames = np.pad(frames, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), mode="edge")  # (T, H', W', 3)
    codec = codec or _encoder()
    with atomic_path(path) as tmp:  # the temporary keeps the extension: FFmpeg picks the container from it
        with av.open(str(tmp), mode="w") as container:
            stream = container.add_stream(codec, rate=Fraction(fps).limit_denominator(1001))
            stream.height, stream.width = frames.shape[1:3]
            stream.pix_fmt = "yuv420p"
            if codec == "libx264":
                options = {"crf": str(crf)}
                if keyframe_interval is not None:  # a fixed group of pictures: no earlier keyframes at cuts
                    options.update(g=str(keyframe_interval), keyint_min=str(keyframe_interval), sc_threshold="0")
                stream.options = options
            else:
                stream.bit_rate = max(1_000_000, int(frames.shape[1] * frames.shape[2] * float(fps) * 2))
                if keyframe_interval is not None:
                    stream.codec_context.gop_size = int(keyframe_interval)
            for frame in frames:
                picture = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
                for packet in stream.encode(picture):
                    container.mux(packet)
            for packet in stream.encode():  # flush the encoder
                container.mux(packet)
    return path
