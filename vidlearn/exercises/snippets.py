"""Homework checker of the chapter "Beyond Short Snippets": conv pooling.

Ng, Hausknecht, Vijayanarasimhan, Vinyals, Monga, Toderici, "Beyond Short Snippets: Deep Networks for Video
Classification", CVPR 2015, Sec. 3.1: conv pooling max-pools the last conv maps of all frames over time,
location by location, before the fully connected layers.

* :func:`check_conv_pooling` ``fn(maps (B, T, D, h, w)) -> (B, D)``
"""

from __future__ import annotations

from typing import Callable, List

import torch
import torch.nn as nn

from vidlearn.exercises import _check, _compare
from vidlearn.models.snippets import FeaturePooling, SnippetsConfig

__all__ = ["check_conv_pooling"]


def _conv_pooling_reference() -> Callable[[torch.Tensor], torch.Tensor]:
    """vidlearn's conv pooling on given maps: ``FeaturePooling.forward_features`` without its FC layers."""
    model = FeaturePooling(SnippetsConfig.tiny(pooling="conv", widths=(4,))).eval()
    model.fc6 = model.fc7 = nn.Identity()

    def pool(maps: torch.Tensor) -> torch.Tensor:
        model.conv_maps = lambda x: maps  # the maps stand in for the frame CNN's output
        with torch.no_grad():
            return model.forward_features(maps)  # (B, D)

    return pool


def check_conv_pooling(fn: Callable[[torch.Tensor], torch.Tensor]) -> bool:
    """Check conv pooling ``fn(maps (B, T, D, h, w)) -> (B, D)``.

    ``maps`` are the frame CNN's last conv maps of the T frames of each clip. Expected: the maximum over
    the T frames at every location and channel, then the average over the ``h x w`` locations (as
    GoogLeNet's own head averages its maps): what :class:`vidlearn.models.snippets.FeaturePooling` with
    ``pooling="conv"`` feeds to its first FC layer. Returns True when ``fn`` is right.
    """
    hint = ("maps is (clips B, frames T, channels D, h, w). First take the maximum over the frames (dim 1) at "
            "every location, giving (B, D, h, w); then average over the locations (dims 2 and 3): (B, D).")

    def body(call) -> List[str]:
        reference = _conv_pooling_reference()  # built here, under the checker's own seed
        tried = []
        for b, t, d, h, w in [(2, 5, 6, 3, 4), (1, 8, 3, 2, 2), (3, 1, 4, 5, 3), (2, 3, 7, 1, 1)]:
            maps = torch.randn(b, t, d, h, w)
            on = f"maps of shape {(b, t, d, h, w)} (B, T, D, h, w)"
            expected = reference(maps)  # (B, D)
            got = call(on, maps.clone())
            mistakes = {
                "It equals the average over time: conv pooling takes the maximum over the frames":
                    maps.mean(dim=(1, 3, 4)),
                "It looks like you averaged over space first and then took the maximum over time: conv pooling "
                "takes the maximum over time at every location of the conv maps, then averages over space":
                    maps.mean(dim=(3, 4)).amax(dim=1),
                "It takes the maximum over space as well: after the maximum over time, average over the h x w "
                "locations": maps.amax(dim=(1, 3, 4)),
            }
            shape_hints = {
                (b, d, h, w): "You kept the spatial map: average it over the h x w locations (dims 2 and 3)",
                (b, t): "It looks like you pooled over the channels (dim 2); the frames are dim 1",
                (b, t, d): "Pool over the frames (dim 1) as well as over space",
            }
            _compare(got, expected, on, ("clip", "channel"), mistakes, shape_hints)
            tried.append(f"{(b, t, d, h, w)}")
        return tried

    return _check("conv pooling", fn, hint, body)
