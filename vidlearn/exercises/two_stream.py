"""Homework checker of the Two-Stream chapter: the temporal stream's input, stacked and mean-subtracted.

Two-Stream Convolutional Networks for Action Recognition in Videos
Simonyan, Zisserman. NeurIPS 2014. https://arxiv.org/abs/1406.2199 (Sec. 3.1, "ConvNet input
configurations": the paragraphs "Optical flow stacking" and "Mean flow subtraction")

* :func:`check_flow_stack` ``fn(flow (2, T, H, W), start: int, L: int, subtract_mean: bool) -> (2L, H, W)``
"""

from __future__ import annotations

from typing import Callable, List

import numpy as np
import torch
from einops import rearrange

from vidlearn.exercises import _check, _compare, _Mismatch
from vidlearn.flow.stack import stack_flow

__all__ = ["check_flow_stack"]


def _mean_subtracted(flow: torch.Tensor) -> torch.Tensor:
    """Each field minus its mean vector: the mean ``dx`` and mean ``dy`` over the field's pixels (Sec. 3.1).

    The same subtraction as :meth:`vidlearn.models.two_stream.TemporalStream.stack`.
    """
    return flow - flow.mean(dim=(-2, -1), keepdim=True)  # (2, T, H, W), zero mean per field and component


def _reference(flow: torch.Tensor, start: int, length: int, subtract_mean: bool) -> torch.Tensor:
    return stack_flow(_mean_subtracted(flow) if subtract_mean else flow, start, length)  # (2L, H, W)


def check_flow_stack(fn: Callable[[torch.Tensor, int, int, bool], torch.Tensor]) -> bool:
    """Check the temporal stream's input ``fn(flow (2, T, H, W), start, L, subtract_mean) -> (2L, H, W)``.

    ``flow`` holds ``T`` flow fields, channel 0 the horizontal (``dx``) and 1 the vertical (``dy``)
    displacement. Expected: fields ``start .. start + L - 1`` stacked in the paper's order
    ``[x_start, y_start, x_{start+1}, y_{start+1}, ...]`` (channel ``2k`` is ``dx`` of field ``start + k``,
    ``2k + 1`` its ``dy``); with ``subtract_mean`` each field first loses its own mean vector (the mean
    ``dx`` and the mean ``dy`` over its pixels), the paper's camera-motion compensation. Reference:
    :func:`vidlearn.flow.stack_flow` after the subtraction of
    :meth:`vidlearn.models.two_stream.TemporalStream.stack`. ``flow`` must not be modified; a numpy array
    is accepted as the answer.
    """
    hint = ("take the fields flow[:, start:start + L] (2, L, H, W); if subtract_mean, subtract from each "
            "field its mean over the pixels (dims H, W, keepdim=True), separately for dx and dy; then put "
            "the L fields' x and y one after the other: channel 2k = dx of field start + k, 2k + 1 = its "
            "dy. With einops.rearrange:\n"
            "    'c l h w -> (l c) h w'")

    def body(call) -> List[str]:
        tried = []
        for t, h, w, start, length, subtract in [(12, 6, 7, 1, 10, True), (12, 5, 5, 2, 10, False),
                                                 (8, 4, 6, 3, 4, True), (6, 3, 5, 0, 1, True),
                                                 (9, 6, 4, 4, 5, False)]:
            camera = 3 * torch.randn(2, t, 1, 1)  # one shift per field (a panning camera) on top of the motion
            flow = torch.randn(2, t, h, w) + camera
            on = (f"flow of shape {(2, t, h, w)} (2, T, H, W) with start={start}, L={length}, "
                  f"subtract_mean={subtract}")
            flow_in = flow.clone()
            got = call(on, flow_in, start, length, subtract)
            if not torch.equal(flow_in, flow):
                raise _Mismatch(f"on {on}, your function modified flow in place (e.g. flow -= ...): "
                                "return a new tensor")
            if isinstance(got, np.ndarray):
                got = torch.from_numpy(got)
            expected = _reference(flow, start, length, subtract)
            fields = flow[:, start:start + length]  # (2, L, H, W)
            mistakes = {
                "It equals the stack without mean subtraction: with subtract_mean=True subtract from each "
                "field its mean vector (the mean dx and the mean dy over the field's pixels)":
                    _reference(flow, start, length, False),
                "It equals the stack with mean subtraction: with subtract_mean=False the fields stay as "
                "they are": _reference(flow, start, length, True),
                "The x and y channels are swapped: channel 2k is the horizontal flow (flow[0]) and 2k + 1 "
                "the vertical (flow[1])": _reference(flow.flip(0), start, length, subtract),
                "The channels are grouped (all x, then all y): the paper interleaves them, "
                "[x_start, y_start, x_start+1, y_start+1, ...], e.g. rearrange 'c l h w -> (l c) h w'":
                    rearrange(_mean_subtracted(fields) if subtract else fields, "c l h w -> (c l) h w"),
                "It subtracts one mean of dx and dy together from each field: subtract the mean dx from "
                "the dx channel and the mean dy from the dy channel (the field's mean vector)":
                    stack_flow(flow - flow.mean(dim=(0, 2, 3), keepdim=True), start, length),
                "It subtracts one mean vector for the whole stack: each field has its own mean (average "
                "over H and W only, not over the L fields)":
                    stack_flow(flow - fields.mean(dim=(1, 2, 3), keepdim=True), start, length),
            }
            for shift in (-1, 1):
                if 0 <= start + shift and start + shift + length <= t:
                    mistakes[f"It stacks fields {start + shift} .. {start + shift + length - 1}, one field "
                             f"{'late' if shift > 0 else 'early'}: the stack starts at field start = {start}, "
                             f"i.e. flow[:, start:start + L]"] = _reference(flow, start + shift, length, subtract)
            shape_hints = {
                (2, length, h, w): "Stack the fields into channels: (2, L, H, W) -> (2L, H, W)",
                (length, 2, h, w): "Merge the field and component axes into one channel axis: (2L, H, W)",
                (2 * (length - 1), h, w): "That is L - 1 fields: take flow[:, start:start + L]",
                (2 * (length + 1), h, w): "That is L + 1 fields: take flow[:, start:start + L]",
                (length, h, w): "That is one channel per field: each field gives two channels, dx and dy",
            }

            def where(idx, start=start):
                c = idx[0]
                return f"channel {c} is the {'xy'[c % 2]} flow of field start + {c // 2} = {start + c // 2}"

            _compare(got, expected, on, ("channel", "row", "col"), mistakes, shape_hints, where=where)
            tried.append(f"{(2, t, h, w)} start={start} L={length} subtract_mean={subtract}")
        return tried

    return _check("flow stack", fn, hint, body)
