"""Figures for the R(2+1)D family (chapter "R(2+1)D and the family of spatiotemporal convolutions").

``group_conv_kinds`` reads, from a ``VideoResNet``'s modules, how each of its five groups (stem, conv2_x ..
conv5_x) convolves time: ``"3D"`` (t x d x d kernels), ``"2D"`` (1 x d x d), ``"(2+1)D"`` (a 1 x d x d conv
followed by a t x 1 x 1 conv) or ``"time collapsed"`` (R2D's stem: a kernel as long as the clip, no temporal
padding, so one time step comes out). ``family_figure`` draws the family as a grid of groups coloured by
kind, next to each network's parameters and FLOPs. ``loss_curves_figure`` puts the training and the
validation loss of several runs side by side (the paper's "easier to optimise" figure).
"""

from __future__ import annotations

from typing import Dict, List, Mapping, Sequence

import plotly.graph_objects as go
import torch.nn as nn
from plotly.subplots import make_subplots

from vidlearn.viz.style import PALETTE

GROUPS = ("conv1", "conv2_x", "conv3_x", "conv4_x", "conv5_x")  # conv1 is the stem
KIND_COLORS: Dict[str, str] = {"2D": "#1f77b4", "time collapsed": "#7f7f7f", "3D": "#d62728",
                               "(2+1)D": "#2ca02c"}
KIND_SHORT = {"time collapsed": "all T", "(2+1)D": "2+1"}  # cell text where the kind's name is too long for a cell


def conv_kind(group: nn.Module) -> str:
    """How the convolutions of ``group`` treat time (1x1x1 shortcut convs are ignored)."""
    kernels, collapses = [], False
    for m in group.modules():
        if isinstance(m, nn.Conv3d) and tuple(m.kernel_size) != (1, 1, 1):
            t, h, w = m.kernel_size
            kernels.append((t, h))
            collapses |= t > 1 and h > 1 and m.padding[0] == 0
    if not kernels:
        raise ValueError(f"{type(group).__name__} has no spatial or temporal Conv3d")
    if any(t == 1 and h > 1 for t, h in kernels) and any(t > 1 and h == 1 for t, h in kernels):
        return "(2+1)D"
    if any(t > 1 and h > 1 for t, h in kernels):
        return "time collapsed" if collapses else "3D"
    return "2D"


def group_conv_kinds(model: nn.Module) -> List[str]:
    """The kind (see :func:`conv_kind`) of the five groups ``stem, layer1 .. layer4`` of a ``VideoResNet``."""
    return [conv_kind(getattr(model, name)) for name in ("stem", "layer1", "layer2", "layer3", "layer4")]


def family_figure(rows: Sequence[Mapping], title: str = "The R(2+1)D family: where time is convolved, and what it "
                  "costs") -> go.Figure:
    """Left: one row per network, one cell per group, coloured by conv kind. Right: parameters and FLOPs.

    ``rows``: dicts with ``name``, ``kinds`` (5 strings from :func:`group_conv_kinds`), ``params`` (count)
    and ``flops`` (per clip, multiply-adds or FLOPs: say which in ``flops_label``, default GFLOPs).
    """
    if not rows:
        raise ValueError("rows is empty")
    for r in rows:
        if len(r["kinds"]) != len(GROUPS):
            raise ValueError(f"{r['name']}: expected {len(GROUPS)} group kinds, got {len(r['kinds'])}")
        unknown = set(r["kinds"]) - set(KIND_COLORS)
        if unknown:
            raise ValueError(f"{r['name']}: unknown conv kinds {sorted(unknown)}; expected {list(KIND_COLORS)}")
    names = [r["name"] for r in rows]
    fig = make_subplots(rows=1, cols=3, shared_yaxes=True, column_widths=[0.5, 0.25, 0.25],
                        horizontal_spacing=0.03,
                        subplot_titles=("conv type of each group", "parameters (M)", "GFLOPs per clip"))
    for kind, colour in KIND_COLORS.items():  # one scatter of squares per kind, so the legend names them
        xs, ys, texts = [], [], []
        for r in rows:
            for g, k in zip(GROUPS, r["kinds"]):
                if k == kind:
                    xs.append(g)
                    ys.append(r["name"])
                    texts.append(f"{r['name']}, {g}: {k}")
        if xs:
            fig.add_scatter(x=xs, y=ys, mode="markers+text", text=[KIND_SHORT.get(kind, kind)] * len(xs),
                            textposition="middle center", textfont=dict(color="white", size=9),
                            hovertext=texts, hoverinfo="text",
                            marker=dict(symbol="square", size=28, color=colour), name=kind, row=1, col=1)
    params = [r["params"] / 1e6 for r in rows]
    flops = [r["flops"] / 1e9 for r in rows]
    fig.add_bar(y=names, x=params, orientation="h", marker_color=PALETTE[4], text=[f"{p:.1f}M" for p in params],
                textposition="auto", name="parameters", showlegend=False, row=1, col=2)
    fig.add_bar(y=names, x=flops, orientation="h", marker_color=PALETTE[5], text=[f"{f:.1f}" for f in flops],
                textposition="auto", name="GFLOPs", showlegend=False, row=1, col=3)
    fig.update_yaxes(autorange="reversed", categoryorder="array", categoryarray=names, row=1, col=1)
    fig.update_yaxes(title_text="network", row=1, col=1)
    fig.update_xaxes(title_text="group (conv1: the stem)", categoryorder="array", categoryarray=list(GROUPS),
                     tickangle=-45, row=1, col=1)
    fig.update_xaxes(title_text="millions", row=1, col=2)
    fig.update_xaxes(title_text="billions", row=1, col=3)
    fig.update_layout(title=title, height=220 + 50 * len(rows), legend=dict(orientation="h", y=-0.4),
                      margin=dict(l=110, r=30, t=80, b=130))
    return fig


def loss_curves_figure(histories: Mapping[str, object], title: str = "Training and validation loss") -> go.Figure:
    """Training loss (left) and validation loss (right) per epoch for each run, on shared y axes.

    ``histories`` maps a run's name to a ``vidlearn.train.History`` (``train_loss``, ``val_loss`` lists).
    """
    if not histories:
        raise ValueError("histories is empty")
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.05,
                        subplot_titles=("training loss", "validation loss"))
    for (name, h), colour in zip(histories.items(), PALETTE):
        for col, ys in ((1, h.train_loss), (2, h.val_loss)):
            fig.add_scatter(x=list(range(1, len(ys) + 1)), y=list(ys), mode="lines+markers", name=name,
                            legendgroup=name, showlegend=col == 1, line=dict(color=colour), row=1, col=col,
                            hovertemplate=f"{name}<br>epoch %{{x}}: loss %{{y:.3f}}<extra></extra>")
    fig.update_xaxes(title_text="epoch")
    fig.update_yaxes(title_text="cross-entropy", row=1, col=1)
    fig.update_layout(title=title, height=400, legend=dict(orientation="h", y=-0.2))
    return fig
