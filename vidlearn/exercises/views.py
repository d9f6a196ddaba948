"""Checker for the Summary chapter: averaging a video's views the way the papers test.

A paper's test accuracy comes from many views of each video (10 clips x 3 crops for SlowFast): the model scores
every view and the video's score is the mean of the views' softmax scores
(:func:`vidlearn.train.views.average_views`, which :func:`vidlearn.train.evaluate_views` uses).
"""

from __future__ import annotations

from typing import Callable, List

import torch

from vidlearn.exercises import _check, _compare
from vidlearn.train.views import average_views

__all__ = ["check_view_average"]


def check_view_average(fn: Callable[[torch.Tensor], torch.Tensor]) -> bool:
    """Check ``fn(logits (B, V, N)) -> (B, N)``: the mean over the V views of each view's softmax scores.

    Reference: :func:`vidlearn.train.views.average_views` (``average="softmax"``). Returns True when right.
    """
    hint = ("logits is (videos B, views V, classes N); turn each view's logits into probabilities with a "
            "softmax over the classes (dim -1), then average those over the views (dim 1).")

    def body(call) -> List[str]:
        tried = []
        for b, v, n in [(2, 30, 5), (1, 3, 4), (4, 1, 10), (3, 10, 2)]:
            logits = torch.randn(b, v, n) * 3
            on = f"logits of shape {(b, v, n)} (B, V, N)"
            got = call(on, logits.clone())
            mistakes = {
                "It is the softmax of the mean logits: average the probabilities instead (softmax first)":
                    average_views(logits, "logits"),
                "It is the mean of the logits: apply a softmax to each view before averaging": logits.mean(1),
                "It looks like the softmax ran over the views (dim 1) instead of the classes":
                    logits.softmax(1).mean(1),
                "It is the sum over views: divide by V": logits.softmax(-1).sum(1),
            }
            _compare(got, average_views(logits, "softmax"), on, ("video", "class"), mistakes)
            tried.append(str((b, v, n)))
        return tried

    return _check("view average", fn, hint, body)
