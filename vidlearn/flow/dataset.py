"""``FlowPairs``: a clip dataset turned into two-stream inputs (RGB frames + stacked optical flow).

The two-stream papers computed flow once for the whole data set before training (Simonyan & Zisserman
2014; TSN, Wang et al. 2016). ``FlowPairs`` does the same for any dataset of ``(clip (C, T, H, W), label)``
items (e.g. :class:`vidlearn.data.synthetic.SyntheticActions`): on construction it computes the flow of
every clip with :func:`vidlearn.flow.compute_flow` and keeps it in memory (float16), so training reads
arrays and never runs the flow algorithm. Used by the Two-Stream, fusion and TSN chapters.

Each item takes ``K = snippets`` positions from the clip; position ``k`` is one RGB frame and the ``L``
flow fields that start at it:

    clip (C, T, H, W) --flow--> (2, T-1, H, W)
    positions: contiguous (k*L after a centred offset; Two-Stream, conv fusion) or one per segment
               (TSN: the clip cut into K equal segments, a snippet in the middle of each)
    item: rgb (3, K, H, W) = the frame at each position, flow (2, K*L, H, W) = its L fields, in order

``modality`` picks what an item gives: ``"both"`` ``((rgb, flow), label)`` for two-stream models,
``"rgb"`` ``(rgb, label)``, ``"flow"`` ``(flow, label)``.
"""

from __future__ import annotations

from typing import Any, Callable, List, Optional, Tuple

import numpy as np
import torch
from torch.utils.data import Dataset

from vidlearn.data.memory import without_transform
from vidlearn.flow.compute import compute_flow

MODALITIES = ("both", "rgb", "flow")


def snippet_starts(num_fields: int, snippets: int, length: int, spread: bool) -> List[int]:
    """First flow field of each of ``snippets`` positions of ``length`` fields in a clip of ``num_fields``.

    ``spread=False``: contiguous positions ``s, s+L, s+2L, ...`` centred in the clip; ``spread=True``:
    TSN's segments, the clip cut into ``snippets`` equal parts and one snippet centred in each.
    """
    if snippets < 1 or length < 1:
        raise ValueError(f"snippets and length must be >= 1, got {snippets} and {length}")
    if spread:
        seg = num_fields / snippets
        if seg < length:
            raise ValueError(f"{snippets} segments of {num_fields} flow fields are shorter than L={length}")
        return [int(k * seg + (seg - length) / 2) for k in range(snippets)]
    need = snippets * length
    if need > num_fields:
        raise ValueError(f"{snippets} x {length} flow fields need clips of at least {need + 1} frames "
                         f"({num_fields} fields here)")
    first = (num_fields - need) // 2
    return [first + k * length for k in range(snippets)]


class FlowPairs(Dataset):
    """RGB frames and stacked optical flow of every clip of ``dataset``, flow computed once up front.

    Args:
        dataset: items ``(clip, label)`` with ``clip`` float ``(C, T, H, W)`` in [0, 1], every clip of the same
            ``C``, ``H`` and ``W`` (checked item by item, before its flow is computed). A data set with a
            ``transform`` (``SyntheticActions`` normalises by default) is read without it: flow is computed
            from the clips as made, and that transform becomes the default ``rgb_transform``.
        flow_frames: ``L``, flow fields per position.
        snippets: ``K`` positions per item (1 for Two-Stream).
        spread: positions spread over the clip as TSN segments (True) or contiguous (False).
        modality: ``"both"``, ``"rgb"`` or ``"flow"`` (see the module docstring).
        method, **flow_options: passed to :func:`vidlearn.flow.compute_flow` (default DIS).
        rgb_transform: applied to the rgb tensor ``(3, K, H, W)`` of an item (e.g. normalisation); by default
            the data set's own ``transform`` (none for a data set without one).
        flow_scale: the flow is divided by it (pixels per frame -> roughly unit scale).

    Items: ``((rgb (3, K, H, W), flow (2, K*L, H, W)), label)``, or one of the two (``modality``).
    """

    def __init__(self, dataset: Dataset, flow_frames: int = 4, snippets: int = 1, spread: bool = False,
                 modality: str = "both", method: str = "dis",
                 rgb_transform: Optional[Callable[[torch.Tensor], torch.Tensor]] = None, flow_scale: float = 1.0,
                 **flow_options: Any):
        if modality not in MODALITIES:
            raise ValueError(f"modality must be one of {', '.join(MODALITIES)}, got {modality!r}")
        if len(dataset) == 0:
            raise ValueError("FlowPairs needs a non-empty dataset")
        dataset, own = without_transform(dataset)  # flow from the clips as made, in [0, 1]
        if rgb_transform is None:
            rgb_transform = own
        self.flow_frames, self.snippets, self.spread = flow_frames, snippets, spread
        self.modality, self.rgb_transform, self.flow_scale = modality, rgb_transform, float(flow_scale)
        self.classes = getattr(dataset, "classes", None)
        rgbs, flows, labels = [], [], []
        for i in range(len(dataset)):
            clip, label = dataset[i]
            clip = torch.as_tensor(clip)
            if clip.dim() != 4:
                raise ValueError(f"item {i}: expected a clip (C, T, H, W), got shape {tuple(clip.shape)}")
            if i == 0:
                first = tuple(clip.shape)
            elif (clip.shape[0], *clip.shape[2:]) != (first[0], *first[2:]):  # before any more flow is computed
                raise ValueError(
                    f"item {i}: clip of shape (C, T, H, W) = {tuple(clip.shape)}, but item 0 is {first}; FlowPairs "
                    "stacks every clip, so all need the same channels and frame size H x W (resize them first)"
                )
            flow = compute_flow(clip.clamp(0, 1).numpy(), method, **flow_options)  # (2, T-1, H, W)
            starts = snippet_starts(flow.shape[1], snippets, flow_frames, spread)
            fields = np.concatenate([flow[:, s:s + flow_frames] for s in starts], axis=1)  # (2, K*L, H, W)
            rgbs.append(clip[:, starts].to(torch.float16))  # (C, K, H, W): the frame each snippet starts at
            flows.append(torch.from_numpy(fields / self.flow_scale).to(torch.float16))
            labels.append(int(label))
        self.starts = starts  # first flow field of each position (the same for every clip of equal length)
        self.rgb = torch.stack(rgbs)  # (N, C, K, H, W)
        self.flow = torch.stack(flows)  # (N, 2, K*L, H, W)
        self.labels = torch.tensor(labels)

    @property
    def num_classes(self) -> int:
        return len(self.classes) if self.classes is not None else int(self.labels.max()) + 1

    def __len__(self) -> int:
        return len(self.labels)

    def with_modality(self, modality: str) -> FlowPairs:
        """The same data (shared, not copied) giving another modality."""
        if modality not in MODALITIES:
            raise ValueError(f"modality must be one of {', '.join(MODALITIES)}, got {modality!r}")
        other = object.__new__(FlowPairs)
        other.__dict__.update(self.__dict__)
        other.modality = modality
        return other

    def __getitem__(self, index: int) -> Tuple[Any, int]:
        rgb = self.rgb[index].float()  # (C, K, H, W)
        if self.rgb_transform is not None:
            rgb = self.rgb_transform(rgb)
        flow = self.flow[index].float()  # (2, K*L, H, W)
        label = int(self.labels[index])
        if self.modality == "rgb":
            return rgb, label
        if self.modality == "flow":
            return flow, label
        return (rgb, flow), label

    def __repr__(self) -> str:
        n, c, k, h, w = self.rgb.shape
        return (f"FlowPairs({n} clips, {self.snippets} snippet(s) of 1 frame + {self.flow_frames} flow fields, "
                f"{h}x{w}, modality={self.modality!r})")
