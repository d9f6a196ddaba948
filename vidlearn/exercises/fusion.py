"""Homework checker of the chapter "Where to fuse the two streams": conv fusion.

Feichtenhofer, Pinz, Zisserman, "Convolutional Two-Stream Network Fusion for Video Action Recognition",
CVPR 2016, Sec. 3.1: stack the two streams' maps at the same locations and learn a 1x1 conv over them.

* :func:`check_conv_fusion` ``fn(xa (B, D, H, W), xb (B, D, H, W), weight (D, 2D, 1, 1), bias (D,)) ->
  (B, D, H, W)``
"""

from __future__ import annotations

from typing import Callable, List

import torch
from einops import rearrange

from vidlearn.exercises import _check, _compare
from vidlearn.models.fusion import SpatialFusion

__all__ = ["check_conv_fusion"]


def check_conv_fusion(fn: Callable[..., torch.Tensor]) -> bool:
    """Check conv fusion ``fn(xa, xb, weight, bias) -> (B, D, H, W)``.

    ``xa`` (appearance) and ``xb`` (motion) are ``(B, D, H, W)`` maps of the same size, ``weight`` is the
    ``(D, 2D, 1, 1)`` filter bank ``f`` and ``bias`` the ``(D,)`` bias ``b`` of the paper's
    ``y_conv = y_cat * f + b``, where ``y_cat`` stacks all of ``xa``'s channels, then all of ``xb``'s, at
    the same locations. Reference: :class:`vidlearn.models.fusion.SpatialFusion` ("conv") with ``weight``
    and ``bias`` copied into its 1x1 conv. Returns True when ``fn`` is right.
    """
    hint = ("concatenate the two maps along the channel axis, xa first: y_cat = torch.cat([xa, xb], dim=1) "
            "is (B, 2D, H, W); then apply the 1x1 filter bank at every location: F.conv2d(y_cat, weight, "
            "bias), or torch.einsum('bchw,dc->bdhw', y_cat, weight[:, :, 0, 0]) plus the bias.")

    def body(call) -> List[str]:
        tried = []
        for b, d, h, w in [(2, 4, 5, 5), (1, 6, 3, 7), (3, 3, 1, 1), (2, 8, 4, 2)]:
            fusion = SpatialFusion("conv", d)
            with torch.no_grad():  # random filters: vidlearn's own start (two identities) would hide mistakes
                fusion.conv.weight.normal_(0, 0.5)
                fusion.conv.bias.normal_()
            xa, xb = torch.randn(b, d, h, w), torch.randn(b, d, h, w)
            weight, bias = fusion.conv.weight.detach(), fusion.conv.bias.detach()
            on = (f"xa and xb of shape {(b, d, h, w)} (B, D, H, W), weight {tuple(weight.shape)}, "
                  f"bias {tuple(bias.shape)}")
            with torch.no_grad():
                expected = fusion(xa, xb)  # (B, D, H, W)
                swapped = fusion(xb, xa)
                interleaved = fusion.conv(rearrange(torch.stack([xa, xb], dim=2), "b d s h w -> b (d s) h w"))
            got = call(on, xa.clone(), xb.clone(), weight.clone(), bias.clone())
            mistakes = {
                "It equals the fusion with the streams swapped: stack xa's channels first, then xb's, as "
                "the filter bank expects": swapped,
                "It equals the output without the bias: add b to every location": expected - bias[:, None, None],
                "The two streams' channels are interleaved (xa_0, xb_0, xa_1, ...): put all D channels of xa "
                "first, then all D of xb": interleaved,
                "It equals sum fusion xa + xb: conv fusion learns its own pairing of channels with the "
                "filter bank": xa + xb,
                "It looks like you returned the concatenation: apply the 1x1 conv to it":
                    torch.cat([xa, xb], dim=1),
            }
            _compare(got, expected, on, ("clip", "channel", "row", "col"), mistakes)
            tried.append(f"{(b, d, h, w)}")
        return tried

    return _check("conv fusion", fn, hint, body)
