"""Dense optical flow between consecutive frames, computed with OpenCV.

The temporal stream of Two-Stream (Simonyan & Zisserman, NeurIPS 2014, https://arxiv.org/abs/1406.2199)
and of TSN (Wang et al., ECCV 2016) sees no pixels at all, only the optical flow between consecutive
frames: for every pixel of frame ``t``, the displacement ``(dx, dy)`` that takes it to frame ``t + 1``.
Both precomputed it: Two-Stream with the method of Brox et al. (ECCV 2004) in OpenCV's GPU implementation,
TSN (and I3D after it) with TV-L1 (Zach, Pock, Bischof 2007). We offer TV-L1 beside two faster classical
methods:

    ``"dis"``        Dense Inverse Search (Kroeger et al., ECCV 2016): patch search on a pyramid plus
                     variational refinement; milliseconds a frame pair, the default.
    ``"farneback"``  polynomial expansion (Farneback 2003): smooth, blurs motion boundaries.
    ``"tvl1"``       Dual TV-L1 (Zach et al. 2007): TSN's and I3D's choice; the most accurate of
                     the three and by far the slowest. Needs OpenCV's contrib build (``cv2.optflow``).

    frames (T, H, W, 3) uint8 ----> grayscale (T, H, W) ----> flow(frame t -> frame t+1) for t < T-1
                                                                  |
                                   (2, T-1, H, W) float32 <------+  channel 0 = dx (right +), 1 = dy (down +)

OpenCV is imported only when flow is computed, so ``import vidlearn`` works without it (see the note
on Colab's OpenCV wheels in the package's pyproject.toml). The flow chapter uses this module.
"""

from __future__ import annotations

import math
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Optional, Tuple

import numpy as np
import torch

FLOW_METHODS = ("dis", "farneback", "tvl1")

DIS_PRESETS = ("ultrafast", "fast", "medium")

# cv2.calcOpticalFlowFarneback's parameters, valued as in OpenCV's sample samples/python/opt_flow.py
FARNEBACK_DEFAULTS: Dict[str, Any] = dict(
    pyr_scale=0.5, levels=3, winsize=15, iterations=3, poly_n=5, poly_sigma=1.2, flags=0
)

_INSTALL_HINT = (
    "pip install opencv-contrib-python-headless (on Colab, cv2 with the contrib modules is preinstalled; "
    "do not install a second OpenCV wheel beside an existing one, it breaks `import cv2`)"
)

# ITU-R BT.601 luma weights, the ones cv2.COLOR_RGB2GRAY uses
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _import_cv2(need_optflow: bool = False) -> Any:
    """Import OpenCV on first use, with an install hint instead of a bare ModuleNotFoundError."""
    try:
        import cv2
    except ImportError as err:
        raise ImportError(f"optical flow needs OpenCV (`import cv2` failed: {err}); {_INSTALL_HINT}") from err
    if need_optflow and not _has_tvl1(cv2):
        raise ImportError(
            f"method 'tvl1' needs OpenCV's contrib module (cv2.optflow.DualTVL1OpticalFlow_create), which this "
            f"cv2 ({cv2.__version__}) lacks; {_INSTALL_HINT}, or use method='dis' or 'farneback'"
        )
    return cv2


def _has_tvl1(cv2: Any) -> bool:
    # `cv2.optflow` alone is not enough: Colab's opencv-python 5.0 has the module without TV-L1 in it
    return hasattr(getattr(cv2, "optflow", None), "DualTVL1OpticalFlow_create")


class FlowMethodFallback(UserWarning):
    """TV-L1 was asked for, this OpenCV build lacks it, and the best method it has ran instead."""


def available_flow_methods() -> Tuple[str, ...]:
    """The methods of :data:`FLOW_METHODS` that the installed OpenCV can run (``()`` without OpenCV).

    Which OpenCV ``import cv2`` finds depends on what is installed: Colab has opencv-python, -headless and
    the contrib build side by side, and only the contrib build has TV-L1.
    """
    try:
        import cv2
    except ImportError:
        return ()
    return tuple(m for m in FLOW_METHODS if m != "tvl1" or _has_tvl1(cv2))


def resolve_flow_method(method: str) -> str:
    """The method that will run for ``method``: itself, or ``"dis"`` for ``"tvl1"`` on an OpenCV without it.

    The fallback warns (:class:`FlowMethodFallback`) and says what to install; ``compute_flow`` and
    ``time_flow`` call this, so a chapter can ask which method ran.
    """
    if method not in FLOW_METHODS:
        raise ValueError(f"unknown optical flow method {method!r}; valid methods: {', '.join(FLOW_METHODS)}")
    if method == "tvl1":
        cv2 = _import_cv2()
        if not _has_tvl1(cv2):
            warnings.warn(
                f"this OpenCV ({cv2.__version__}, {Path(cv2.__file__).parent.name}) has no TV-L1 "
                "(cv2.optflow.DualTVL1OpticalFlow_create); computing flow with 'dis', the best method it has. "
                f"For TV-L1: {_INSTALL_HINT}",
                FlowMethodFallback, stacklevel=3,
            )
            return "dis"
    return method


def to_gray(frames: np.ndarray | torch.Tensor) -> np.ndarray:
    """Convert a clip to uint8 grayscale ``(T, H, W)``, the input every OpenCV flow method takes.

    Accepted layouts (the dtype says which one is meant):

    - uint8 ``(T, H, W, 3)`` RGB frames (what ``read_video`` returns) or uint8 ``(T, H, W)`` grayscale;
    - float ``(C, T, H, W)`` with ``C`` = 3 or 1 and values in [0, 1] (a vidlearn dataset's clip).

    numpy arrays and torch tensors are both fine.
    """
    if isinstance(frames, torch.Tensor):
        frames = frames.detach().cpu().numpy()
    if not isinstance(frames, np.ndarray):
        raise TypeError(f"expected frames as a numpy array or torch tensor, got {type(frames).__name__}")
    shape = tuple(frames.shape)
    if frames.dtype == np.uint8:
        if frames.ndim == 3:
            return np.ascontiguousarray(frames)  # (T, H, W)
        if frames.ndim == 4 and shape[-1] == 3:
            return np.rint(frames.astype(np.float32) @ _LUMA).astype(np.uint8)  # (T, H, W)
        raise ValueError(
            "expected uint8 frames of shape (T, H, W, 3) (RGB, channels last, as read_video returns them) "
            f"or (T, H, W) (grayscale), got shape {shape}; float clips use the (C, T, H, W) layout"
        )
    if np.issubdtype(frames.dtype, np.floating):
        if frames.ndim != 4 or shape[0] not in (1, 3):
            raise ValueError(
                "expected a float clip of shape (C, T, H, W) with C = 3 (RGB) or 1 and values in [0, 1], "
                f"got shape {shape}; uint8 frames use the (T, H, W, 3) layout"
            )
        finite = np.isfinite(frames)
        if not finite.all():
            bad = np.argwhere(~finite)[0]
            raise ValueError(
                f"expected a float clip with finite values in [0, 1], got {int((~finite).sum())} NaN or inf "
                f"value(s), the first at (c, t, y, x) = {tuple(int(i) for i in bad)} (shape {shape})"
            )
        lo, hi = float(frames.min()), float(frames.max())
        if lo < -1e-3 or hi > 1 + 1e-3:
            raise ValueError(
                f"expected a float clip with values in [0, 1], got values in [{lo:.3g}, {hi:.3g}]; "
                "undo any mean/std normalisation first, or pass uint8 frames"
            )
        gray = frames[0] if shape[0] == 1 else np.tensordot(_LUMA, frames.astype(np.float32), axes=1)
        return np.rint(np.clip(gray, 0.0, 1.0) * 255).astype(np.uint8)  # (T, H, W)
    raise TypeError(f"expected uint8 or floating-point frames, got dtype {frames.dtype}")


def _apply_options(cv2_algorithm: Any, method: str, options: Dict[str, Any]) -> Any:
    """Apply snake-case ``options`` through setters: ``finest_scale=2`` -> ``setFinestScale(2)``."""
    for name, value in options.items():
        # a trailing underscore allows Python keywords: lambda_=0.1 -> setLambda(0.1)
        setter = "set" + "".join(part.capitalize() for part in name.strip("_").split("_"))
        if not hasattr(cv2_algorithm, setter):
            valid = sorted(_snake(a[3:]) for a in dir(cv2_algorithm) if a.startswith("set") and len(a) > 3)
            raise ValueError(
                f"unknown option {name!r} for method {method!r}; valid options: {', '.join(valid)}"
            )
        getattr(cv2_algorithm, setter)(value)
    return cv2_algorithm


def _snake(camel: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in camel).lstrip("_")


def _dis_fits(h: int, w: int, patch: int, finest: int) -> bool:
    """Whether OpenCV's DIS can take ``h x w`` frames: its pyramid, chosen as ``DISOpticalFlowImpl::calc``
    chooses it (OpenCV 4.x/5.x), keeps at least one patch at the coarsest level. Below that OpenCV
    raises "either width or height >= 12" or, for wide and low frames, crashes the process."""
    if h < 1 or w < 1:
        return False
    coarsest = min(int(math.log2(max(h, w) / (4 * patch)) + 0.5), int(math.log2(min(h, w) / patch)))
    if coarsest < 0:
        return False
    if coarsest < finest:  # OpenCV re-selects the patch and the scales from the width alone
        patch = 12 if finest in (3, 4) else 8
        coarsest = max(0, math.floor(math.log2(2 * w / (5 * patch))))
    return min(h, w) / 2 ** coarsest >= patch


def dis_min_size(h: int, w: int, patch: int = 8, finest: int = 1) -> tuple:
    """The smallest frame ``(H', W')`` with ``H' >= h``, ``W' >= w`` (one side grown) that DIS takes."""
    for extra in range(0, 4 * max(h, w, 12) + 1):
        for hh, ww in ((h + extra, w), (h, w + extra), (h + extra, w + extra)):
            if _dis_fits(hh, ww, patch, finest):
                return hh, ww
    raise AssertionError("unreachable: square frames of 4x the patch always fit")


def check_dis_size(shape: tuple, patch: int = 8, finest: int = 1, preset: str = "medium") -> None:
    """Raise a clear ``ValueError`` for frames DIS cannot take (instead of a ``cv2.error`` or a crash)."""
    h, w = int(shape[-2]), int(shape[-1])
    if not _dis_fits(h, w, patch, finest):
        mh, mw = dis_min_size(h, w, patch, finest)
        raise ValueError(
            f"method 'dis' (preset {preset!r}, patch size {patch}) needs larger frames: got H x W = {h} x {w}, "
            f"the nearest size it takes is {mh} x {mw} (never under 12 x 12; low, wide frames need more "
            "height); resize the clip or use method='farneback', which takes any size"
        )


def _make_estimator(method: str, options: Dict[str, Any]) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """A function ``(prev, next) -> (H, W, 2) float32`` for one method, built once per clip."""
    if method == "dis":
        cv2 = _import_cv2()
        options = dict(options)
        preset = options.pop("preset", "medium")
        if preset not in DIS_PRESETS:
            raise ValueError(f"unknown DIS preset {preset!r}; valid presets: {', '.join(DIS_PRESETS)}")
        dis = cv2.DISOpticalFlow_create(getattr(cv2, f"DISOPTICAL_FLOW_PRESET_{preset.upper()}"))
        _apply_options(dis, method, options)

        def calc(prev: np.ndarray, nxt: np.ndarray) -> np.ndarray:
            check_dis_size(prev.shape, dis.getPatchSize(), dis.getFinestScale(), preset)
            return dis.calc(prev, nxt, None)

        return calc
    if method == "farneback":
        cv2 = _import_cv2()
        unknown = sorted(set(options) - set(FARNEBACK_DEFAULTS))
        if unknown:
            raise ValueError(
                f"unknown option(s) {', '.join(map(repr, unknown))} for method 'farneback'; "
                f"valid options: {', '.join(FARNEBACK_DEFAULTS)}"
            )
        params = {**FARNEBACK_DEFAULTS, **options}
        return lambda prev, nxt: cv2.calcOpticalFlowFarneback(prev, nxt, None, **params)
    if method == "tvl1":
        cv2 = _import_cv2(need_optflow=True)
        tvl1 = _apply_options(cv2.optflow.DualTVL1OpticalFlow_create(), method, options)
        return lambda prev, nxt: tvl1.calc(prev, nxt, None)
    raise ValueError(f"unknown optical flow method {method!r}; valid methods: {', '.join(FLOW_METHODS)}")


def compute_flow(frames: np.ndarray | torch.Tensor, method: str = "dis", **options: Any) -> np.ndarray:
    """Optical flow from every frame to the next one.

    Args:
        frames: a clip of ``T >= 2`` frames: uint8 ``(T, H, W, 3)`` RGB (``read_video``'s output) or uint8
            ``(T, H, W)`` grayscale, or a float ``(C, T, H, W)`` clip in [0, 1] (a vidlearn dataset's
            output); numpy or torch. It is converted to grayscale (:func:`to_gray`).
        method: one of :data:`FLOW_METHODS`: ``"dis"`` (default), ``"farneback"`` or ``"tvl1"``. Where
            the installed OpenCV has no TV-L1, ``"tvl1"`` warns (:class:`FlowMethodFallback`) and runs
            ``"dis"`` (:func:`resolve_flow_method` tells which method runs).
        **options: the method's parameters. ``dis``: ``preset`` (``"ultrafast"``, ``"fast"``,
            ``"medium"``; default ``"medium"``) and any DIS setter in snake case (``finest_scale=1``,
            ``variational_refinement_iterations=5``, ...). ``farneback``: the arguments of
            ``cv2.calcOpticalFlowFarneback`` (``winsize=15``, ``levels=3``, ...). ``tvl1``: any
            ``DualTVL1OpticalFlow`` setter in snake case (``tau``, ``lambda_``, ``theta``,
            ``warpings_number``, ``scales_number``, ...; fewer warpings and scales are faster, coarser).

    Returns:
        float32 array ``(2, T-1, H, W)`` in pixels: ``flow[:, t]`` is the flow from frame ``t`` to frame
        ``t+1``; channel 0 is horizontal (positive to the right), channel 1 vertical (positive down).

    Raises:
        ValueError: unknown method or option, fewer than 2 frames, wrong rank or channel count, NaN or inf
            in a float clip, or frames too small for ``"dis"`` (the message says the nearest size it takes).
        ImportError: OpenCV is not installed; says what to install.

    Shape: ``(T, H, W, 3)`` / ``(T, H, W)`` / ``(C, T, H, W)`` -> ``(2, T-1, H, W)``.
    """
    method = resolve_flow_method(method)
    gray = to_gray(frames)  # (T, H, W)
    if gray.shape[0] < 2:
        raise ValueError(f"optical flow needs at least 2 frames, got T={gray.shape[0]} (shape {gray.shape})")
    estimate = _make_estimator(method, options)
    pairs = [estimate(gray[t], gray[t + 1]) for t in range(gray.shape[0] - 1)]  # T-1 x (H, W, 2)
    flow = np.stack(pairs, axis=0)  # (T-1, H, W, 2)
    return np.ascontiguousarray(flow.transpose(3, 0, 1, 2), dtype=np.float32)  # (2, T-1, H, W)


def time_flow(
    frames: np.ndarray | torch.Tensor, methods: Optional[Iterable[str]] = None, repeats: int = 1, **options: Any
) -> Dict[str, float]:
    """Seconds per frame pair of each method on ``frames`` (the best of ``repeats`` runs).

    ``methods`` defaults to :func:`available_flow_methods` (every method this OpenCV can run). The keys of the
    result are the methods that ran: a ``"tvl1"`` that fell back to ``"dis"`` is timed once, as ``"dis"``.
    ``options`` are passed to every method, so leave them empty when timing more than one.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    pairs = to_gray(frames).shape[0] - 1
    seconds = {}
    for asked in available_flow_methods() if methods is None else methods:
        method = resolve_flow_method(asked)
        if method in seconds:
            continue
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            compute_flow(frames, method, **options)
            best = min(best, time.perf_counter() - start)
        seconds[method] = best / max(pairs, 1)
    return seconds
