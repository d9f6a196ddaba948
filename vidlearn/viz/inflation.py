"""Figures for weight inflation (chapter "I3D and inflation").

``kernel_inflation_figure``: a 2D kernel and the 3D kernel it becomes, slice by slice, for both of I3D's
initialisations (bootstrap: repeat and divide by ``t``; centre: the kernel in the middle slice), with a
slider over the temporal size ``t``. ``boring_video_figure``: the "boring video" argument on a real frame:
a 2D conv's response to the frame next to the inflated conv's response to the frame repeated in time
(slider over time), and a whole network's class scores, 2D on the frame against 3D on the static clip.
Both are pure functions of arrays: every slider step carries its data, so they work in the static book.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from vidlearn.layers.inflate import inflate_weight
from vidlearn.viz.style import PALETTE
from vidlearn.viz.video import png_uri, to_uint8_frames

METHOD_LABELS = {"bootstrap": "bootstrap (w / t)", "center": "centre (w at t // 2)"}


def _as_numpy(x) -> np.ndarray:
    return x.detach().cpu().float().numpy() if hasattr(x, "detach") else np.asarray(x, dtype=np.float32)


def kernel_inflation_figure(kernel2d, times: Sequence[int] = (1, 3, 5, 7),
                            methods: Sequence[str] = ("bootstrap", "center"),
                            title: str = "Inflating a 2D kernel into a 3D kernel") -> go.Figure:
    """A 2D kernel ``(k, k)`` and its inflation to ``t x k x k`` for each method, with a slider over ``t``.

    Row ``i`` shows method ``methods[i]``: the 2D kernel, then the ``t`` time slices of the 3D kernel on one
    shared colour scale. The slider chooses ``t``; for bootstrap, the slices sum to the 2D kernel.
    """
    import torch

    w = _as_numpy(kernel2d)
    if w.ndim != 2:
        raise ValueError(f"expected a 2D kernel (k, k), got shape {w.shape}")
    times = [int(t) for t in times]
    if not times or min(times) < 1:
        raise ValueError(f"times must be positive temporal sizes, got {times}")
    tmax, rows = max(times), len(methods)
    zmax = float(np.abs(w).max()) or 1.0
    titles = []
    for _ in methods:
        titles += ["2D"] + [f"t={i}" for i in range(tmax)]
    fig = make_subplots(rows=rows, cols=tmax + 1, subplot_titles=titles, horizontal_spacing=0.025,
                        vertical_spacing=0.14)
    common = dict(zmin=-zmax, zmax=zmax, colorscale="RdBu_r", showscale=False,
                  hovertemplate="w = %{z:.3f}<extra></extra>")
    for r in range(rows):  # the 2D kernel, always visible
        fig.add_heatmap(z=w, row=r + 1, col=1, **common)
    groups = []
    first = times.index(3) if 3 in times else 0  # start on t = 3, the usual inflation
    kernel = torch.from_numpy(w)[None, None]  # (1, 1, k, k)
    for t in times:
        start = len(fig.data)
        for r, m in enumerate(methods):
            w3 = inflate_weight(kernel, t, m)[0, 0].numpy()  # (t, k, k)
            for i in range(t):
                fig.add_heatmap(z=w3[i], row=r + 1, col=i + 2, visible=t == times[first], **common,
                                showlegend=False)
        groups.append(range(start, len(fig.data)))
    n = len(fig.data)
    steps = []
    for t, g in zip(times, groups):
        vis = [i < rows or i in g for i in range(n)]
        steps.append(dict(method="update", label=str(t), args=[{"visible": vis}]))
    fig.update_layout(
        title=title, height=170 * rows + 150, margin=dict(l=120, r=20, t=90, b=90),
        sliders=[dict(active=first, currentvalue=dict(prefix="temporal size t = "), pad=dict(t=40),
                      steps=steps)],
    )
    for r, m in enumerate(methods):
        fig.update_yaxes(title_text=METHOD_LABELS.get(m, m), row=r + 1, col=1)
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False, autorange="reversed", scaleanchor=None)
    return fig


def boring_video_figure(frame, response_2d, response_3d, scores_2d, scores_3d,
                        class_names: Optional[Sequence[str]] = None, channel: Optional[int] = None,
                        title: str = "The boring-video test: 2D on a frame, inflated 3D on it repeated"
                        ) -> go.Figure:
    """The inflated layer and network reproduce the 2D ones on a static clip.

    Args:
        frame: the image, uint8 ``(H, W, 3)``.
        response_2d: a 2D conv's output channel on the frame, ``(H', W')``.
        response_3d: the inflated conv's same channel on the frame repeated ``T`` times, ``(T, H', W')``.
        scores_2d, scores_3d: a whole network's class scores ``(K,)``: 2D on the frame, inflated on the clip.
        class_names: ``K`` labels for the bar chart.
        channel: which output channel the responses show (for the panel title).
    """
    frame = to_uint8_frames(np.asarray(frame)[None])[0] if np.asarray(frame).dtype != np.uint8 else \
        np.asarray(frame)
    r2, r3 = _as_numpy(response_2d), _as_numpy(response_3d)
    s2, s3 = _as_numpy(scores_2d).ravel(), _as_numpy(scores_3d).ravel()
    if r3.ndim != 3 or r3.shape[1:] != r2.shape:
        raise ValueError(f"response_3d must be (T, H', W') with (H', W') = {r2.shape}, got {r3.shape}")
    if s2.shape != s3.shape:
        raise ValueError(f"scores_2d and scores_3d must have the same length, got {s2.shape} and {s3.shape}")
    names = list(class_names) if class_names is not None else [str(i) for i in range(len(s2))]
    ch = "" if channel is None else f" (channel {channel})"
    fig = make_subplots(rows=2, cols=3, specs=[[{}, {}, {}], [{"colspan": 3}, None, None]],
                        row_heights=[0.55, 0.45], horizontal_spacing=0.04, vertical_spacing=0.16,
                        subplot_titles=("the frame", f"2D conv{ch}", "inflated conv, time t",
                                        "whole network: class scores"))
    fig.add_trace(go.Image(source=png_uri(frame), hoverinfo="skip"), row=1, col=1)
    lo, hi = float(min(r2.min(), r3.min())), float(max(r2.max(), r3.max()))
    common = dict(zmin=lo, zmax=hi, colorscale="Viridis", showscale=False)
    fig.add_heatmap(z=r2, row=1, col=2, hovertemplate="2D: %{z:.4f}<extra></extra>", **common)
    T = r3.shape[0]
    for t in range(T):
        diff = float(np.abs(r3[t] - r2).max())
        fig.add_heatmap(z=r3[t], row=1, col=3, visible=t == 0, name=f"t={t}",
                        hovertemplate=f"3D, t={t}: %{{z:.4f}} (max |3D - 2D| = {diff:.1e})<extra></extra>",
                        **common)
    fig.add_bar(x=names, y=s2, name="2D net on the frame", marker_color=PALETTE[0], row=2, col=1)
    fig.add_bar(x=names, y=s3, name="inflated net on the static clip", marker_color=PALETTE[2], row=2, col=1)
    n = len(fig.data)
    steps = []
    for t in range(T):
        vis = [i < 2 or i == 2 + t or i >= 2 + T for i in range(n)]
        diff = float(np.abs(r3[t] - r2).max())
        steps.append(dict(method="update", label=str(t), args=[{"visible": vis}, {
            "annotations[2].text": f"inflated, t={t}: max |3D-2D| = {diff:.0e}"}]))
    fig.update_layout(
        title=title, height=760, barmode="group", margin=dict(l=60, r=20, t=80, b=120),
        legend=dict(x=1.0, xanchor="right", y=0.37, yanchor="top", bgcolor="rgba(255,255,255,0.7)"),
        sliders=[dict(active=0, currentvalue=dict(prefix="inflated conv at time t = "), pad=dict(t=0), x=0.0,
                      y=-0.12, len=1.0, yanchor="top", steps=steps)],
    )
    for c in (1, 2, 3):
        fig.update_xaxes(showticklabels=False, row=1, col=c)
        fig.update_yaxes(showticklabels=False, row=1, col=c)
    for c in (2, 3):
        fig.update_yaxes(autorange="reversed", scaleanchor=f"x{c}", row=1, col=c)
    fig.update_xaxes(title_text="class", row=2, col=1)
    fig.update_yaxes(title_text="logit", row=2, col=1)
    return fig
