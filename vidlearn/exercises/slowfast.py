"""Homework checker of the SlowFast chapter: the Fast -> Slow lateral connection.

SlowFast Networks for Video Recognition, Feichtenhofer, Fan, Malik, He. ICCV 2019 (Sec. 3.3-3.4). The
reader writes the time-strided convolution (a ``k x 1 x 1`` kernel, ``2 * beta * C`` outputs, stride
``alpha`` in time), its batch norm and ReLU, and the concatenation to the Slow features; the reference is
:class:`vidlearn.models.slowfast.Lateral` followed by the ``torch.cat`` of :class:`~vidlearn.models.slowfast.SlowFast`.
"""

from __future__ import annotations

from typing import Callable, List

import torch
import torch.nn as nn
import torch.nn.functional as F

from vidlearn.exercises import _check, _compare, _Mismatch
from vidlearn.models.slowfast import Lateral

__all__ = ["check_lateral_connection"]


def check_lateral_connection(fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor, nn.BatchNorm3d, int],
                                          torch.Tensor]) -> bool:
    """Check SlowFast's fusion ``fn(slow, fast, weight, bn, alpha) -> (B, C + 2*C_f, T, H, W)``.

    ``slow`` is ``(B, C, T, H, W)``, ``fast`` ``(B, C_f, alpha*T, H, W)`` (``C_f = beta * C``), ``weight``
    ``(2*C_f, C_f, k, 1, 1)`` the lateral's kernel (no bias; k = 5 in the paper, 7 in the 8x8 recipe) and
    ``bn`` a ``BatchNorm3d(2*C_f)`` in eval mode. Expected (the official ``FuseFastToSlow``)::

        lateral = relu(bn(conv3d(fast, weight, stride=(alpha, 1, 1), padding=(k // 2, 0, 0))))  # T frames
        fused = cat([slow, lateral], dim=1)                                # Slow's channels first

    Reference: :class:`vidlearn.models.slowfast.Lateral` (``"conv"``) and the ``torch.cat`` in
    :meth:`vidlearn.models.slowfast.SlowFast.forward`. The inputs must not be modified.
    """
    hint = ("convolve the Fast features with weight in time only: F.conv3d(fast, weight, stride=(alpha, 1, 1), "
            "padding=(k // 2, 0, 0)) with k = weight.shape[2] turns alpha*T frames into T; then bn and a "
            "ReLU; then torch.cat([slow, lateral], dim=1): the Slow channels first, the lateral's after them.")

    def body(call) -> List[str]:
        tried = []
        for b, c, c_f, t, h, w, alpha, k in [(2, 8, 2, 2, 3, 3, 4, 5), (1, 16, 2, 4, 2, 2, 8, 5),
                                             (2, 8, 1, 8, 2, 3, 4, 7), (1, 6, 3, 3, 2, 2, 2, 5)]:
            lateral = Lateral("conv", c_f, alpha, k).eval()
            conv, bn = lateral.conv[0], lateral.conv[1]
            with torch.no_grad():  # BN with its own statistics, so that leaving it out shows
                bn.running_mean.normal_()
                bn.running_var.uniform_(0.5, 2)
                bn.weight.normal_()
                bn.bias.normal_()
            slow, fast = torch.randn(b, c, t, h, w), torch.randn(b, c_f, alpha * t, h, w)
            weight = conv.weight.detach()  # (2 C_f, C_f, k, 1, 1)
            on = (f"slow {(b, c, t, h, w)}, fast {(b, c_f, alpha * t, h, w)} (B, C, T, H, W), weight "
                  f"{tuple(weight.shape)}, alpha={alpha}")
            inputs = (slow.clone(), fast.clone(), weight.clone())
            try:
                got = call(on, *inputs, bn, alpha)
            except _Mismatch as e:
                if "must match" in str(e):  # torch.cat of tensors with different frames
                    raise _Mismatch(f"{str(e).rstrip('.')}. The lateral must have the Slow pathway's T = {t} "
                                    f"frames to be concatenated: stride alpha = {alpha} in time and padding k // 2 = "
                                    f"{k // 2} turn the {alpha * t} Fast frames into {t}") from None
                raise
            if any(not torch.equal(a, a0) for a, a0 in zip(inputs, (slow, fast, weight))):
                raise _Mismatch(f"on {on}, your function modified its inputs in place: return a new tensor")
            with torch.no_grad():
                lat = lateral(fast)  # (B, 2 C_f, T, H, W)
                expected = torch.cat([slow, lat], dim=1)  # (B, C + 2 C_f, T, H, W)
                conv_only = conv(fast)
                mistakes = {
                    "The lateral is concatenated before the Slow features: SlowFast puts the Slow channels "
                    "first, torch.cat([slow, lateral], dim=1)": torch.cat([lat, slow], dim=1),
                    "It equals the lateral without the ReLU after the batch norm":
                        torch.cat([slow, bn(conv_only)], dim=1),
                    "It equals the lateral without the batch norm (conv, then ReLU)":
                        torch.cat([slow, F.relu(conv_only)], dim=1),
                }
                for pad in range(k // 2):  # wrong temporal padding that still gives T frames
                    wrong = F.conv3d(fast, weight, stride=(alpha, 1, 1), padding=(pad, 0, 0))
                    if wrong.shape[2] == t:
                        mistakes[f"It looks like the time padding is {pad}: pad k // 2 = {k // 2} frames, so that "
                                 f"frame t of the lateral is centred on Fast frame alpha * t"] = \
                            torch.cat([slow, F.relu(bn(wrong))], dim=1)
            shape_hints = {
                (b, c + c_f, t, h, w): "That is time-strided sampling (every alpha-th Fast frame, C_f channels); "
                                       "the exercise asks for the time-strided convolution with 2 * C_f outputs",
                (b, 2 * c_f, t, h, w): "That is the lateral alone: concatenate it to the Slow features",
                (b, c, t, h, w): "That is the Slow input alone: concatenate the lateral to it along channels",
                (b, c + 2 * c_f, alpha * t, h, w): f"The lateral must have T = {t} frames: stride alpha in time",
            }

            def where(idx, c=c):
                ch = idx[1]
                return f"channel {ch} is {'Slow' if ch < c else 'lateral'} channel {ch if ch < c else ch - c}"

            _compare(got, expected, on, ("clip", "channel", "frame", "row", "col"), mistakes,
                     shape_hints=shape_hints, where=where)
            tried.append(f"T={t} alpha={alpha} k={k}")
        return tried

    return _check("lateral connection", fn, hint, body)
