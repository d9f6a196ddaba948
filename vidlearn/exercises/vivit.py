"""Homework checker of the chapter "ViViT": central-frame initialisation of a tubelet embedding.

Arnab et al., "ViViT: A Video Vision Transformer", ICCV 2021, Sec. 3.4: a tubelet embedding (a Conv3d with
kernel = stride = ``t x h x w``) starts from an image ViT's 2D patch filter ``(D, C, h, w)``. "Central frame"
initialisation, the paper's best, puts the 2D filter at the central temporal position ``t // 2`` and zeros
elsewhere; "filter inflation" (I3D's bootstrap) copies it to every position divided by ``t``.

* :func:`check_central_frame_init` ``fn(weight_2d (D, C, h, w), t: int) -> (D, C, t, h, w)``

Reference: :func:`vidlearn.models.vivit.inflate_patch_embedding` with ``method="central_frame"``.
"""

from __future__ import annotations

from typing import Callable, List

import torch
import torch.nn.functional as F

from vidlearn.exercises import _check, _compare, _Mismatch
from vidlearn.models.vivit import inflate_patch_embedding

__all__ = ["check_central_frame_init"]

# (D, C, h, w) patch filters and the tubelet depths t tried on each (even t: the centre is t // 2)
CASES = [((8, 3, 4, 4), 2), ((8, 3, 4, 4), 3), ((6, 3, 2, 3), 4), ((5, 1, 3, 3), 1), ((4, 3, 8, 8), 5)]


def _at(weight_2d: torch.Tensor, t: int, index: int) -> torch.Tensor:
    out = weight_2d.new_zeros(weight_2d.shape[:2] + (t,) + weight_2d.shape[2:])  # (D, C, t, h, w)
    out[:, :, index] = weight_2d
    return out


def check_central_frame_init(fn: Callable[[torch.Tensor, int], torch.Tensor]) -> bool:
    """Check ``fn(weight_2d, t) -> weight_3d``: a 2D patch filter ``(D, C, h, w)`` as a tubelet filter
    ``(D, C, t, h, w)`` by central-frame initialisation (the 2D filter at time ``t // 2``, zeros elsewhere).

    Tried on several filter shapes and ``t`` from 1 to 5; also checks that ``weight_2d`` is left unchanged and
    that a tubelet embedding with the result responds to a clip as the 2D embedding does to each tubelet's
    central frame. Returns True when ``fn`` is right.
    """
    hint = ("make zeros of shape (D, C, t, h, w), a new time axis at dim 2 (torch.zeros or weight_2d.new_zeros), "
            "and copy weight_2d into the time index t // 2; leave the other time indices at zero.")

    def body(call) -> List[str]:
        tried = []
        for shape, t in CASES:
            w2 = torch.randn(shape)
            before = w2.clone()
            on = f"a 2D filter of shape {shape} (D, C, h, w) with t={t}"
            got = call(on, w2, t)
            if not torch.equal(w2, before):
                raise _Mismatch(f"on {on}, your function changed weight_2d in place; build a new tensor")
            expected = inflate_patch_embedding(before, t, "central_frame")  # (D, C, t, h, w)
            d, c, h, w = shape
            mistakes = {
                "This is filter inflation (the 2D filter in every frame, divided by t), the I3D bootstrap; "
                "central-frame initialisation keeps it in the central frame only": before[:, :, None].repeat(
                    1, 1, t, 1, 1) / t,
                "You copied the 2D filter into every frame: a token would then add up t frames, t times the "
                "2D response on a static clip; keep it in the central frame only": before[:, :, None].repeat(
                    1, 1, t, 1, 1),
            }
            if t % 2 == 0:
                mistakes[f"The filter sits at time index {t // 2 - 1}: for an even t = {t} the central index is "
                         f"t // 2 = {t // 2} (the paper's and the official code's choice)"] = _at(before, t, t // 2 - 1)
            if t > 1:
                mistakes["The filter sits in the first frame: put it at the central time index t // 2"] = _at(
                    before, t, 0)
            hints = {(d, c, h, w, t): "The time axis goes at dim 2: (D, C, t, h, w)",
                     (d, t, c, h, w): "The time axis goes after the channels, at dim 2: (D, C, t, h, w)",
                     (d, c, h, w): "The filter needs a time axis of size t at dim 2: (D, C, t, h, w)"}
            _compare(got, expected, on, ("filter", "channel", "time", "row", "col"), mistakes, hints,
                     what="the tubelet filter")
            # what the initialisation is for: each token sees the central frame of its tubelet
            clip = torch.randn(2, c, 2 * t, 2 * h, 2 * w)  # (B, C, T, H, W): 2 x 2 x 2 tubelets
            tokens = F.conv3d(clip, got.to(clip.dtype), stride=(t, h, w))  # (B, D, 2, 2, 2)
            central = clip[:, :, t // 2::t]  # (B, C, 2, H, W): the central frame of each tubelet
            frames = F.conv2d(central.transpose(1, 2).flatten(0, 1), before, stride=(h, w))  # (B*2, D, 2, 2)
            _compare(tokens.transpose(1, 2).flatten(0, 1), frames, on + " (the embedding of a random clip)",
                     ("clip x tubelet", "filter", "row", "col"),
                     what="the tubelet embedding's response (it should equal the 2D filter on each central frame)")
            tried.append(f"{shape} t={t}")
        return tried

    return _check("central-frame initialisation", fn, hint, body)
