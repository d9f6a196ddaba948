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
"""

from __future__ import annotations

import copy
from typing import Any, Dict, Optional, Union

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset

from vidlearn.data.folder import VideoFolder
from vidlearn.data.samplers import MultiViewSampler, SlowFastSampler
from vidlearn.data.transforms import Size, view_crop_boxes
from vidlearn.train.loop import _amp_dtype, check_labels, on_device, resolve_device


def _views_dataset(dataset: VideoFolder, clips: int, frames: Optional[int], stride: Optional[int]) -> VideoFolder:
    """A shallow copy of ``dataset`` whose sampler takes ``clips`` clips: ``(V, C, T, H, W)`` items."""
    base = dataset.sampler
    if isinstance(base, SlowFastSampler):
        raise ValueError("evaluate_views takes one tensor clip per view; SlowFast's [slow, fast] pathways are "
                         "not supported: give the model a single-pathway sampler or score the views yourself")
    frames = frames if frames is not None else getattr(base, "num_frames", None)
    if frames is None:
        raise ValueError(f"cannot tell the clip length from the dataset's sampler {base!r}: pass frames=")
    stride = stride if stride is not None else getattr(base, "stride", 1)
    views = copy.copy(dataset)
    views.sampler = MultiViewSampler(clips, frames, stride)
    return views


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
    """One score per video from the logits of its views: ``(B, V, K) -> (B, K)`` class probabilities.

    ``"softmax"``: the mean of the views' softmax scores (Two-Stream, Non-local, SlowFast); ``"logits"``: the
    softmax of the mean logits (TSN's consensus before its softmax).
    """
    if average == "softmax":
        return logits.softmax(-1).mean(1)  # (B, K)
    if average == "logits":
        return logits.mean(1).softmax(-1)  # (B, K)
    raise ValueError(f"average must be 'softmax' or 'logits', got {average!r}")


def evaluate_views(model: nn.Module, dataset: Union[Dataset, DataLoader], *, clips: int = 10, crops: int = 3,
                   frames: Optional[int] = None, stride: Optional[int] = None, crop_size: Optional[Size] = None,
                   average: str = "softmax", flow: bool = False, batch_size: int = 1, num_workers: int = 0,
                   device: Union[str, torch.device] = "auto", amp: Union[bool, str] = "auto") -> Dict[str, Any]:
    """Video-level top-1 and top-5 accuracy of ``model`` with ``clips x crops`` views per video.

    Args:
        model: takes ``(B, C, T, h, w)`` and returns logits ``(B, K)``; run in eval mode.
        dataset: a :class:`~vidlearn.data.VideoFolder` (its sampler is replaced, on a copy, by
            ``MultiViewSampler(clips, frames, stride)``; give it a transform that resizes and normalises but
            does not crop), or any Dataset / DataLoader whose items are already ``(V, C, T, H, W)`` with
            ``V == clips`` (or ``(C, T, H, W)`` when ``clips == 1``).
        clips: temporal clips per video, spread uniformly from its start to its end.
        crops: spatial crops per clip, 1, 3, 5 or 10 (:func:`~vidlearn.data.transforms.view_crop_boxes`).
        frames, stride: the clip length and frame stride of each view; default: those of the dataset's
            own sampler (the clip the model was trained on).
        crop_size: the crop ``(h, w)`` or side; default for 1 and 3 crops: a square of the short side.
        average: ``"softmax"`` (mean of the views' softmax scores; Two-Stream, Non-local, SlowFast) or
            ``"logits"`` (mean of the scores before the softmax, as TSN's consensus).
        flow: the clips are optical flow (x components in the even channels): mirrored crops negate them.
        batch_size: videos per step; the model sees ``batch_size * clips * crops`` views at once.

    Returns:
        ``{"top1", "top5", "n" (videos), "views" (per video), "scores" (N, K) averaged per video,
        "labels" (N,)}``; ``top5`` counts the 5 best classes (all of them when ``K <= 5``).
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
            if not isinstance(inputs, torch.Tensor) or inputs.dim() not in (5, 6):
                raise ValueError(f"evaluate_views expects batches of views (B, V, C, T, H, W) (or clips "
                                 f"(B, C, T, H, W) with clips=1), got {type(inputs).__name__} "
                                 f"{tuple(getattr(inputs, 'shape', ()))}")
            if inputs.dim() == 5:
                inputs = inputs[:, None]  # (B, 1, C, T, H, W)
            b, v = inputs.shape[:2]
            if v != clips:
                raise ValueError(f"the dataset gives {v} clips per video, but clips={clips}: build its sampler as "
                                 f"MultiViewSampler({clips}, ...) or pass a VideoFolder")
            views = _crop_views(inputs.flatten(0, 1), crops, crop_size, flow)  # (B*V, M, C, T, h, w)
            views = views.flatten(0, 1).to(dev)  # (B*V*M, C, T, h, w)
            with torch.autocast(dev.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                logits = model(views).float()  # (B*V*M, K)
            check_labels(y, logits.shape[-1], where="evaluate_views")
            scores.append(average_views(logits.view(b, v * crops, -1), average))  # (B, K)
            labels.append(y)
    scores, labels = torch.cat(scores).cpu(), torch.cat(labels).cpu()  # (N, K), (N,)
    top5 = scores.topk(min(5, scores.shape[1]), dim=1).indices  # (N, 5)
    return {"top1": float((scores.argmax(1) == labels).float().mean()),
            "top5": float((top5 == labels[:, None]).any(1).float().mean()),
            "n": len(labels), "views": clips * crops, "scores": scores, "labels": labels}
