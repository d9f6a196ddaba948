"""Figures for a real data set and a test on it: class balance and clip lengths, the confusion matrix.

Pure functions that return plotly figures in the book's style (:mod:`vidlearn.viz.style`); they take plain
lists and tensors, so they work for UCF101, HMDB51, Kinetics or any folder of one's own. Used by the chapter
"Your own videos".
"""

from __future__ import annotations

from typing import Mapping, Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from vidlearn.viz.style import PALETTE


def split_overview_figure(classes: Sequence[str], labels: Mapping[str, Sequence[int]],
                          seconds: Mapping[str, Sequence[float]],
                          title: str = "Videos per class and their lengths") -> go.Figure:
    """Left: videos per class, one bar per split; right: every video's length in seconds, by class.

    ``labels[split]`` and ``seconds[split]`` list the class id and length of each video of a split
    (``{"train": [...], "test": [...]}``), in the same order.
    """
    if not labels or set(labels) != set(seconds):
        raise ValueError(f"labels and seconds must name the same splits, got {list(labels)} and {list(seconds)}")
    fig = make_subplots(rows=1, cols=2, column_widths=[0.45, 0.55], horizontal_spacing=0.12,
                        subplot_titles=("videos per class", "video length per class"))
    for k, split in enumerate(labels):
        ys, secs = list(labels[split]), list(seconds[split])
        if len(ys) != len(secs):
            raise ValueError(f"split {split!r}: {len(ys)} labels but {len(secs)} lengths")
        color = PALETTE[k % len(PALETTE)]
        counts = [sum(1 for y in ys if y == c) for c in range(len(classes))]
        fig.add_bar(x=list(classes), y=counts, name=split, marker_color=color, legendgroup=split,
                    hovertemplate=f"{split}<br>%{{x}}: %{{y}} videos<extra></extra>", row=1, col=1)
        fig.add_box(x=[classes[y] for y in ys], y=secs, name=split, marker_color=color, legendgroup=split,
                    showlegend=False, boxpoints="all", jitter=0.4, pointpos=0,
                    hovertemplate=f"{split}<br>%{{x}}: %{{y:.2f}} s<extra></extra>", row=1, col=2)
    fig.update_layout(title=title, barmode="group", boxmode="group", height=430,
                      legend=dict(orientation="h", y=-0.25))
    fig.update_yaxes(title_text="videos", row=1, col=1)
    fig.update_yaxes(title_text="length (s)", rangemode="tozero", row=1, col=2)
    fig.update_xaxes(title_text="class", row=1, col=1)
    fig.update_xaxes(title_text="class", row=1, col=2)
    return fig


def confusion_matrix_figure(cm, classes: Sequence[str], title: str = "Confusion matrix",
                            normalize: bool = True) -> go.Figure:
    """A heatmap of ``cm`` (``(K, K)``, rows the true class, columns the predicted one).

    ``normalize``: colour by the share of each true class's videos (each row sums to 1); the cells show the
    counts either way, and hovering shows both.
    """
    rows = [[int(v) for v in row] for row in cm.tolist()]
    if len(rows) != len(classes) or any(len(r) != len(classes) for r in rows):
        raise ValueError(f"cm must be ({len(classes)}, {len(classes)}) for {len(classes)} classes")
    shares = [[v / max(1, sum(r)) for v in r] for r in rows]
    z = shares if normalize else rows
    fig = go.Figure(go.Heatmap(
        z=z, x=list(classes), y=list(classes), colorscale="Blues", zmin=0, zmax=1 if normalize else None,
        text=rows, texttemplate="%{text}", customdata=shares,
        hovertemplate="true %{y}<br>predicted %{x}<br>%{text} videos (%{customdata:.0%} of the class)"
                      "<extra></extra>",
        colorbar=dict(title="share of class" if normalize else "videos")))
    fig.update_layout(title=title, height=max(380, 60 + 34 * len(classes)),
                      xaxis=dict(title="predicted class"), yaxis=dict(title="true class", autorange="reversed"))
    return fig


__all__ = ["split_overview_figure", "confusion_matrix_figure"]
