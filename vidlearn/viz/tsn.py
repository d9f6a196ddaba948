"""Figures for the TSN chapter: which frames Temporal Segment Networks see, and how they differ from a clip.

TSN (Wang et al., ECCV 2016, https://arxiv.org/abs/1608.00859) cuts a video into K equal segments and
takes one short snippet from each: at a random place in its segment while training, in the middle at
test time (:class:`vidlearn.data.samplers.SegmentSampler`). :func:`segment_snippets_figure` draws that on
a real clip: a timeline with the segment boundaries and the chosen frames, and under it the chosen
frames themselves, next to a dense clip with the same frame budget. A slider steps through random
training draws and the test draw; every step carries its own images, so it works in the static book.
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from vidlearn.viz.style import PALETTE, title_over_legend
from vidlearn.viz.video import _slider, _upscale_for, png_uri, to_uint8_frames

Sampler = Callable[..., np.ndarray]


def segment_snippets_figure(frames, segment_sampler: Sampler, dense_sampler: Optional[Sampler] = None,
                            draws: int = 4, seed: int = 0, thumb: int = 64,
                            title: str = "TSN's segments against one dense clip") -> go.Figure:
    """The frames a segment sampler (and, below it, a dense sampler) picks from a clip, draw by draw.

    Args:
        frames: the whole video, uint8 ``(T, H, W, 3)`` or float ``(C, T, H, W)``.
        segment_sampler: e.g. ``SegmentSampler(K)``; needs ``num_segments`` (the boundaries drawn) and
            ``train`` (switched off for the last slider step, the test draw).
        dense_sampler: optional, e.g. ``DenseSampler(K)``: a second row with the same frame budget.
        draws: random training draws on the slider (plus one test draw at the end).
        thumb: side of the thumbnails, in pixels (frames are subsampled to about this size).

    The first row of the figure is the timeline (x: frame index); the rows below show the picked frames
    in order. Both samplers must return 1-D indices; both get back their ``train`` flag afterwards.
    """
    rgb = to_uint8_frames(frames)
    num_frames = len(rgb)
    if num_frames < 2:
        raise ValueError(f"expected a video of at least 2 frames, got {num_frames}")
    if draws < 1:
        raise ValueError(f"draws must be >= 1, got {draws}")
    k = int(getattr(segment_sampler, "num_segments", 0))
    if k < 1:
        raise ValueError("segment_sampler must have num_segments >= 1 (a vidlearn SegmentSampler)")
    step = max(1, max(rgb.shape[1:3]) // thumb)
    small = np.ascontiguousarray(rgb[:, ::step, ::step])  # (T, h, w, 3)
    up = _upscale_for(small.shape[1])
    samplers = {"TSN segments": segment_sampler}
    if dense_sampler is not None:
        samplers["dense clip"] = dense_sampler

    def pick(name: str, d: int) -> np.ndarray:
        sampler = samplers[name]
        train = sampler.train
        sampler.train = d < draws  # the last step is the deterministic test draw
        try:
            idx = np.asarray(sampler(num_frames, rng=np.random.default_rng([seed, d])))
        finally:
            sampler.train = train
        if idx.ndim != 1:
            raise ValueError(f"{name}: expected 1-D frame indices, got shape {idx.shape}")
        return idx

    picks = {name: [pick(name, d) for d in range(draws + 1)] for name in samplers}
    cols = max(len(p[0]) for p in picks.values())
    rows = 1 + len(samplers)
    titles = [""] + [f"{name}: frame {i + 1}" if i == 0 else "" for name in samplers for i in range(cols)]
    fig = make_subplots(rows=rows, cols=cols, specs=[[{"colspan": cols}] + [None] * (cols - 1)] +
                        [[{}] * cols for _ in samplers], row_heights=[0.3] + [0.7 / len(samplers)] * len(samplers),
                        vertical_spacing=0.08, horizontal_spacing=0.01, subplot_titles=titles)

    def traces(d: int):
        out = []
        for r, name in enumerate(samplers):
            idx = picks[name][d]
            out.append(go.Scatter(x=idx, y=[r] * len(idx), mode="markers", name=name,
                                  marker=dict(size=11, color=PALETTE[r % len(PALETTE)], symbol="diamond"),
                                  hovertemplate=f"{name}<br>frame %{{x}}<extra></extra>", showlegend=d == 0))
        for name in samplers:
            idx = picks[name][d]
            for i in range(cols):
                j = int(idx[min(i, len(idx) - 1)])
                out.append(go.Image(source=png_uri(small[j], up), hovertemplate=f"frame {j}<extra></extra>"))
        return out

    cells = [(1, 1)] * len(samplers) + [(2 + r, 1 + i) for r in range(len(samplers)) for i in range(cols)]
    for trace, (r, c) in zip(traces(0), cells):
        fig.add_trace(trace, row=r, col=c)
    labels = [f"train draw {d + 1}" for d in range(draws)] + ["test"]
    fig.frames = [go.Frame(data=traces(d), name=labels[d], traces=list(range(len(cells))))
                  for d in range(draws + 1)]
    steps = [dict(method="animate", label=lab, args=[[lab], dict(mode="immediate", frame=dict(
        duration=0, redraw=True))]) for lab in labels]
    bounds = (np.arange(k + 1) * num_frames) // k
    shapes = [dict(type="rect", xref="x", yref="y", x0=bounds[i] - 0.5, x1=bounds[i + 1] - 0.5, y0=-0.5,
                   y1=len(samplers) - 0.5, line=dict(width=1, color="#888"), layer="below",
                   fillcolor="rgba(31,119,180,0.06)" if i % 2 == 0 else "rgba(31,119,180,0.14)")
              for i in range(k)]
    fig.update_xaxes(title_text=f"frame index ({num_frames}-frame video, {k} segments shaded)",
                     range=[-1, num_frames], row=1, col=1)
    fig.update_yaxes(tickvals=list(range(len(samplers))), ticktext=list(samplers),
                     range=[len(samplers) - 0.5, -0.5], row=1, col=1)
    for r in range(2, rows + 1):
        for c in range(1, cols + 1):
            fig.update_xaxes(visible=False, row=r, col=c)
            fig.update_yaxes(visible=False, row=r, col=c)
    top = title_over_legend(title, legend_rows=1)
    fig.update_layout(height=200 + 120 * len(samplers), shapes=shapes, sliders=[_slider(steps, prefix="")],
                      **dict(top, margin=dict(l=10, r=10, t=top["margin"]["t"])))
    return fig


def consensus_figure(scores: np.ndarray, classes: Sequence[str], modes: Sequence[str] = ("avg", "max"),
                     title: str = "Segmental consensus: K snippet scores become one") -> go.Figure:
    """A heat map of per-snippet class scores ``(K, num_classes)`` with the consensus rows under it.

    Buttons switch between the consensus functions (``avg``, ``max``); the consensus row is what the
    softmax and the loss see.
    """
    scores = np.asarray(scores, dtype=np.float32)
    if scores.ndim != 2 or scores.shape[1] != len(classes):
        raise ValueError(f"expected scores (K, {len(classes)}), got shape {scores.shape}")
    reduce = {"avg": scores.mean(0), "max": scores.max(0)}
    bad = [m for m in modes if m not in reduce]
    if bad:
        raise ValueError(f"unknown consensus {bad}; expected 'avg' or 'max'")
    k = scores.shape[0]
    ylabels = [f"snippet {i + 1}" for i in range(k)]
    fig = go.Figure()
    for j, m in enumerate(modes):
        z = np.vstack([scores, reduce[m][None]])
        fig.add_trace(go.Heatmap(z=z, x=list(classes), y=ylabels + [f"consensus ({m})"], colorscale="RdBu",
                                 zmid=0, visible=j == 0, colorbar=dict(title="score"),
                                 hovertemplate="%{y}<br>%{x}: %{z:.2f}<extra></extra>"))
    buttons = [dict(label=m, method="update", args=[{"visible": [i == j for i in range(len(modes))]}])
               for j, m in enumerate(modes)]
    fig.update_layout(title=title, height=120 + 32 * (k + 1), xaxis_title="class",
                      yaxis=dict(autorange="reversed", title="per-snippet scores, then the consensus"),
                      updatemenus=[dict(type="buttons", direction="right", buttons=buttons, x=1, xanchor="right",
                                        y=1.15, yanchor="bottom", showactive=True)])
    return fig
