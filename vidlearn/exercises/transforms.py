"""Checker for the Using vidlearn chapter: turning decoded frames into the clip a pretrained model expects.

``read_video`` returns uint8 frames ``(T, H, W, C)``; models take float clips ``(C, T, H, W)``, scaled to [0, 1]
and normalised with the statistics their weights were trained with: ``Compose([ToTensorVideo(),
Normalize(mean, std)])`` in :mod:`vidlearn.data.transforms`.
"""

from __future__ import annotations

from typing import Callable, List, Sequence

import torch

from vidlearn.data.transforms import Compose, Normalize, ToTensorVideo
from vidlearn.exercises import _check, _compare

__all__ = ["check_clip_preprocess"]

KINETICS_MEAN = (0.43216, 0.394666, 0.37645)  # torchvision's Kinetics-400 video models
KINETICS_STD = (0.22803, 0.22145, 0.216989)


def check_clip_preprocess(fn: Callable[[torch.Tensor, Sequence[float], Sequence[float]], torch.Tensor]) -> bool:
    """Check ``fn(frames uint8 (T, H, W, C), mean, std) -> float (C, T, H, W)``, scaled to [0, 1] and normalised.

    Reference: ``Compose([ToTensorVideo(), Normalize(mean, std)])``. Returns True when ``fn`` is right.
    """
    hint = ("frames are uint8 (T, H, W, C) in 0..255: move the channels first, (C, T, H, W) (permute(3, 0, 1, 2)), "
            "convert to float and divide by 255, then subtract each channel's mean and divide by its std.")

    def body(call) -> List[str]:
        tried = []
        for (t, h, w), (mean, std) in [((4, 8, 10), (KINETICS_MEAN, KINETICS_STD)),
                                       ((1, 5, 5), ((0.45,) * 3, (0.25,) * 3)),
                                       ((6, 7, 3), ((0.5, 0.4, 0.3), (0.2, 0.3, 0.4)))]:
            frames = torch.randint(0, 256, (t, h, w, 3), dtype=torch.uint8)
            on = f"uint8 frames of shape {(t, h, w, 3)} (T, H, W, C) with mean={mean}, std={std}"
            got = call(on, frames.clone(), tuple(mean), tuple(std))
            expected = Compose([ToTensorVideo(), Normalize(mean, std)])(frames)  # (C, T, H, W)
            scaled = frames.permute(3, 0, 1, 2).float()  # (C, T, H, W) in 0..255
            m, s = torch.tensor(mean).view(3, 1, 1, 1), torch.tensor(std).view(3, 1, 1, 1)
            mistakes = {
                "It looks like the frames were not divided by 255 before normalising": (scaled - m) / s,
                "It is the clip in [0, 1], not normalised: subtract the mean and divide by the std": scaled / 255,
                "It looks like the axes are (T, C, H, W): models take (C, T, H, W)": expected.transpose(0, 1),
                "It looks like you multiplied by the std instead of dividing": (scaled / 255 - m) * s,
            }
            _compare(got, expected, on, ("channel", "frame", "row", "col"), mistakes)
            tried.append(f"{(t, h, w, 3)}")
        return tried

    return _check("clip preprocessing", fn, hint, body)
