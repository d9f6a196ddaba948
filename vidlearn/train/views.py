"""Multi-view testing: a video's score is the average over several clips of it and several crops of each.

A model trained on short clips sees a few seconds of a video at a time; at test time the papers score the
whole video by sampling ``clips`` clips spread uniformly over it, taking ``crops`` spatial crops of each, and
averaging the ``clips x crops`` softmax scores (the "views"). The protocols, as the papers state them:

- Two-Stream (Simonyan & Zisserman, NeurIPS 2014, testing): 25 frames (or flow stacks) with equal temporal
  spacing, 10 crops each (four corners and the centre, and their mirror images): ``clips=25, frames=1,
  crops=10`` (flow: ``frames`` = the stack length, ``flow=True``).
- TSN (Wang et al., ECCV 2016, testing): the same 25 x 10, the scores fused *before* the softmax:
  ``average="logits"``.
- I3D (Carreira & Zisserman, CVPR 2017, implementation details): the model applied over the whole video,
  224 x 224 centre crops, predictions averaged: a single view of all frames (``clips=1, crops=1`` over a long clip).
- Non-local (Wang et al., CVPR 2018, inference): 10 clips evenly spaced over the video, spatially
  fully-convolutional on frames whose short side is 256, softmax scores averaged.
- SlowFast (Feichtenhofer et al., ICCV 2019, inference): "10 clips uniformly along its temporal axis ... 3 crops
  of 256x256 to cover the spatial dimensions, as an approximation of fully-convolutional testing", softmax
  averaged: ``clips=10, crops=3``, 30 views; X3D (Feichtenhofer, CVPR 2020) reports the same as
  "30 views" and later papers quote "10 x 3" or "x 30 views" in their Kinetics tables.
- TimeSformer (Bertasius et al., ICML 2021, inference): a single clip in the middle of the video, 3 crops:
  ``clips=1, crops=3``.

Clips are placed by :class:`~vidlearn.data.MultiViewSampler` (the first starts at frame 0, the last ends at
the last frame, the rest evenly between, as PySlowFast places them); crops by
:func:`~vidlearn.data.transforms.view_crop_boxes`. The protocols above are as the papers describe their
testing; their section numbers are not given here because they were not checked against the papers.

Models with two inputs are scored the same way: SlowFast's ``[slow, fast]`` (a ``VideoFolder`` with a
:class:`~vidlearn.data.SlowFastSampler` gets ``clips`` windows of both pathways, placed as above) and
Two-Stream's ``(rgb, flow)`` (a dataset whose items are ``((rgb_views, flow_views), label)``). Every view is
then a pair of tensors, cut with the same crop boxes and moved to the device together.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset

from vidlearn.data.folder import VideoFolder
from vidlearn.data.samplers import MultiViewSampler, SlowFastSampler, _clamp
from vidlearn.data.transforms import Size, view_crop_boxes
from vidlearn.train.loop import _amp_dtype, check_labels, on_device, resolve_device, to_device


@dataclass
class _SlowFastViews:
    """``num_clips`` SlowFast windows (both pathways of :class:`SlowFastSampler` ``pathways``) spread from the
    start to the end of the video as :class:`MultiViewSampler` spreads clips (one: the centre window, as
    ``SlowFastSampler(train=False)``). Returns ``(slow (V, T), fast (V, alpha * T))``."""

    num_clips: int
    pathways: SlowFastSampler
    train: bool = False

    def __call__(self, num_video_frames: int, rng=None) -> Tuple[np.ndarray, np.ndarray]:
        p, n = self.pathways, int(num_video_frames)
        room = max(n - p.span, 0)
        starts = np.array([room // 2]) if self.num_clips == 1 else \
            np.round(np.linspace(0, room, self.num_clips)).astype(np.int64)  # (V,)
        fast = _clamp(starts[:, None] + (np.arange(p.num_frames * p.alpha) * p.tau) // p.alpha, n)  # (V, aT)
        return fast[:, ::p.alpha], fast  # (V, T), (V, alpha * T)


def _views_dataset(dataset: VideoFolder, clips: int, frames: Optional[int], stride: Optional[int]) -> VideoFolder:
    """A shallow copy of ``dataset`` whose sampler takes ``clips`` clips: ``(V, C, T, H, W)`` items (a
    ``[slow, fast]`` pair of them for a SlowFast sampler)."""
    base = dataset.sampler
    if isinstance(base, SlowFastSampler):
        if frames is not None or stride is not None:
            raise ValueError("frames= and stride= do not apply to a SlowFastSampler: its num_frames, tau and "
                             "alpha set both pathways of every view")
        views = copy.copy(dataset)
        views.sampler = _SlowFastViews(clips, base)
        return views
    frames = frames if frames is not None else getattr(base, "num_frames", None)
    if frames is None:
        raise ValueError(f"cannot tell the clip length from the dataset's sampler {base!r}: pass frames=")
    stride = stride if stride is not None else getattr(base, "stride", 1)
    views = copy.copy(dataset)
    views.sampler = MultiViewSampler(clips, frames, stride)
    return views


def _flow_flags(flow: Union[bool, Sequence[bool]], parts: int) -> List[bool]:
    """One ``flow`` flag per model input."""
    if isinstance(flow, (bool, int)):
        if flow and parts > 1:
            raise ValueError(f"the model takes {parts} inputs; say which are optical flow with one flag per "
                             "input, e.g. flow=(False, True) for Two-Stream's (rgb, flow)")
        return [bool(flow)] * parts
    flags = [bool(f) for f in flow]
    if len(flags) != parts:
        raise ValueError(f"flow= has {len(flags)} flags but the model takes {parts} input(s)")
    return flags


def _view_parts(inputs: Any, clips: int) -> Tuple[List[torch.Tensor], bool]:
    """A batch's input(s) as ``(B, V, C, T, H, W)`` tensors, and whether it was a list/tuple of them."""
    pair = isinstance(inputs, (list, tuple))
    parts = list(inputs) if pair else [inputs]
    if not parts or not all(isinstance(p, torch.Tensor) and p.dim() in (5, 6) for p in parts):
        got = f"{type(inputs).__name__} of " + ", ".join(
            f"{type(p).__name__} {tuple(getattr(p, 'shape', ()))}" for p in parts) if pair else \
            f"{type(inputs).__name__} {tuple(getattr(inputs, 'shape', ()))}"
        raise ValueError(f"evaluate_views expects batches of views (B, V, C, T, H, W) (or clips (B, C, T, H, W) "
                         f"with clips=1), or a list/tuple of them for a model with several inputs, got {got}")
    parts = [p[:, None] if p.dim() == 5 else p for p in parts]  # (B, V, C, T, H, W)
    if len({tuple(p.shape[:2]) for p in parts}) > 1:
        raise ValueError(f"the model's inputs disagree on (batch, clips): {[tuple(p.shape[:2]) for p in parts]}")
    v = parts[0].shape[1]
    if v != clips:
        raise ValueError(f"the dataset gives {v} clips per video, but clips={clips}: build its sampler as "
                         f"MultiViewSampler({clips}, ...) or pass a VideoFolder")
    return parts, pair


def _crop_views(x: torch.Tensor, crops: int, size: Optional[Size], flow: bool) -> torch.Tensor:
    """``(N, C, T, H, W) -> (N, M, C, T, h, w)``: the ``crops`` spatial views of every clip."""
    out = []
    for top, left, h, w, mirrored in view_crop_boxes(x.shape[-2], x.shape[-1], crops, size):
        view = x[..., top:top + h, left:left + w]  # (N, C, T, h, w)
        if mirrored:
            view = view.flip(-1)
            if flow:
                view[:, 0::2] = -view[:, 0::2]  # x components point the other way
        out.append(view)
    return torch.stack(out, dim=1)  # (N, M, C, T, h, w)


@torch.no_grad()
def average_views(logits: torch.Tensor, average: str = "softmax") -> torch.Tensor:
    """Class probabilities per video ``(B, num_classes)`` from the logits of its views ``(B, V, num_classes)``.

    ``"softmax"``: the mean of the views' softmax scores (Two-Stream, Non-local, SlowFast); ``"logits"``: the
    softmax of the mean logits (TSN's consensus before its softmax).
    """
    if average == "softmax":
        return logits.softmax(-1).mean(1)  # (B, num_classes)
    if average == "logits":
        return logits.mean(1).softmax(-1)  # (B, num_classes)
    raise ValueError(f"average must be 'softmax' or 'logits', got {average!r}")


def evaluate_views(model: nn.Module, dataset: Union[Dataset, DataLoader], *, clips: int = 10, crops: int = 3,
                   frames: Optional[int] = None, stride: Optional[int] = None, crop_size: Optional[Size] = None,
                   average: str = "softmax", flow: Union[bool, Sequence[bool]] = False, batch_size: int = 1,
                   num_workers: int = 0, device: Union[str, torch.device] = "auto",
                   amp: Union[bool, str] = "auto") -> Dict[str, Any]:
    """Video-level top-1 and top-5 accuracy of ``model`` with ``clips x crops`` views per video.

    Args:
        model: takes ``(B, C, T, h, w)`` and returns logits ``(B, num_classes)``; run in eval mode. A model with
            several inputs (SlowFast's ``[slow, fast]``, Two-Stream's ``(rgb, flow)``) gets them as the
            dataset gives them (a list or tuple), each ``(B, C, T_i, h_i, w_i)``.
        dataset: a :class:`~vidlearn.data.VideoFolder` (its sampler is replaced, on a copy, by
            ``MultiViewSampler(clips, frames, stride)``, or for a :class:`~vidlearn.data.SlowFastSampler` by
            ``clips`` windows of both pathways spread the same way; give it a transform that resizes and
            normalises but does not crop), or any Dataset / DataLoader whose items are already
            ``(V, C, T, H, W)`` with ``V == clips`` (or ``(C, T, H, W)`` when ``clips == 1``), or a list/tuple
            of such tensors, one per model input, all with the same ``V``.
        clips: temporal clips per video, spread uniformly from its start to its end.
        crops: spatial crops per clip, 1, 3, 5 or 10 (:func:`~vidlearn.data.transforms.view_crop_boxes`).
        frames, stride: the clip length and frame stride of each view; default: those of the dataset's
            own sampler (the clip the model was trained on).
        crop_size: the crop ``(h, w)`` or side; default for 1 and 3 crops: a square of the short side. With
            several inputs, view ``m`` of each is its crop ``m`` (default sizes from its own frame size).
        average: ``"softmax"`` (mean of the views' softmax scores; Two-Stream, Non-local, SlowFast) or
            ``"logits"`` (mean of the scores before the softmax, as TSN's consensus).
        flow: the clips are optical flow (x components in the even channels): mirrored crops negate them.
            With several inputs, one flag per input (``(False, True)`` for ``(rgb, flow)``).
        batch_size: videos per step; the model sees ``batch_size * clips * crops`` views at once.

    Returns:
        ``{"top1", "top5", "n" (videos), "views" (per video), "scores" (N, num_classes) averaged per video,
        "labels" (N,)}``; ``top5`` counts the 5 best classes (all of them when ``num_classes <= 5``).
    """
    if average not in ("softmax", "logits"):
        raise ValueError(f"average must be 'softmax' or 'logits', got {average!r}")
    if isinstance(clips, bool) or not isinstance(clips, int) or clips < 1:
        raise ValueError(f"clips must be a whole number >= 1, got {clips!r}")
    if isinstance(dataset, VideoFolder):
        dataset = _views_dataset(dataset, clips, frames, stride)
    loader = dataset if isinstance(dataset, DataLoader) else DataLoader(
        dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers)
    dev = resolve_device(device)
    amp_dtype = _amp_dtype(dev, amp)
    scores, labels = [], []
    with on_device(model, dev):  # handed back on the device it came on
        model.eval()
        for inputs, y in loader:
            parts, pair = _view_parts(inputs, clips)  # each (B, V, C, T, H, W)
            b, v = parts[0].shape[:2]
            views = [_crop_views(p.flatten(0, 1), crops, crop_size, f).flatten(0, 1)  # (B*V*M, C, T, h, w)
                     for p, f in zip(parts, _flow_flags(flow, len(parts)))]
            views = to_device(type(inputs)(views) if pair else views[0], dev)  # one input, or all together
            with torch.autocast(dev.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                logits = model(views).float()  # (B*V*M, num_classes)
            check_labels(y, logits.shape[-1], where="evaluate_views")
            scores.append(average_views(logits.view(b, v * crops, -1), average))  # (B, num_classes)
            labels.append(y)
    scores, labels = torch.cat(scores).cpu(), torch.cat(labels).cpu()  # (N, num_classes), (N,)
    top5 = scores.topk(min(5, scores.shape[1]), dim=1).indices  # (N, 5)
    return {"top1": float((scores.argmax(1) == labels).float().mean()),
            "top5": float((top5 == labels[:, None]).any(1).float().mean()),
            "n": len(labels), "views": clips * crops, "scores": scores, "labels": labels}
