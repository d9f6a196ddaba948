"""Figures for the TSM chapter: the temporal shift itself, drawn as a channels x time grid.

Used by the chapter "TSM and efficient video models" (``book/tsm.ipynb``). Every figure works in the static
book: the buttons only switch which precomputed traces are visible, no kernel is needed.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.colors import sequential
from plotly.subplots import make_subplots

from vidlearn.layers.temporal_shift import DIRECTIONS, temporal_shift


def shift_sources(frames: int, channels: int, fold_div: int = 8, direction: str = "bidirectional") -> np.ndarray:
    """Which frame every (channel, frame) cell holds after the shift: ``(channels, frames)`` ints, -1 = zero.

    Computed by running :func:`vidlearn.layers.temporal_shift.temporal_shift` on a clip whose values are
    their own frame numbers, so the figure shows what the layer does, not a drawing of it.
    """
    if frames < 2 or channels < fold_div:
        raise ValueError(f"need frames >= 2 and channels >= fold_div ({fold_div}), got {frames} and {channels}")
    ids = torch.arange(1, frames + 1, dtype=torch.float32)  # frame t holds t + 1 (0 is kept for "zero")
    x = ids[:, None].expand(frames, channels).contiguous()  # (T, C): one clip, frames in the batch
    out = temporal_shift(x, n_segment=frames, fold_div=fold_div, direction=direction)  # (T, C)
    return out.T.numpy().astype(int) - 1  # (C, T), -1 where zeros were shifted in


def _hover(src: np.ndarray) -> np.ndarray:
    c, t = np.indices(src.shape)
    text = np.where(src < 0, "zero (shifted in from outside the clip)", "")
    moved = np.char.add("from frame ", src.astype(str))
    text = np.where((src >= 0) & (src != t), np.char.add(moved, " (shifted)"), text)
    text = np.where(src == t, "own frame (not shifted)", text)
    return np.char.add(np.char.add(np.char.add(np.char.add("channel ", c.astype(str)), ", frame "), t.astype(str)),
                       np.char.add(": ", text))


def temporal_shift_figure(frames: int = 8, channels: int = 16, fold_div: int = 8,
                          directions: Sequence[str] = DIRECTIONS,
                          title: str = "The temporal shift: which frame each channel holds") -> go.Figure:
    """Two channel x time grids, before and after the shift; buttons switch bidirectional / online.

    A cell's colour is the frame its value comes from (frame 0 dark, the last frame light); grey cells
    are the zeros shifted in at the clip's ends. Before the shift every column has one colour; after
    it, ``channels // fold_div`` rows borrow the colour of the next frame (and, bidirectionally, as many
    of the previous one).
    """
    for d in directions:
        if d not in DIRECTIONS:
            raise ValueError(f"directions must be among {DIRECTIONS}, got {d!r}")
    if not directions:
        raise ValueError("directions is empty")
    fold = channels // fold_div
    before = np.tile(np.arange(frames), (channels, 1))  # (C, T)
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.08,
                        subplot_titles=("before: channels of frame t", "after the shift"))
    edge = 0.5 / frames  # z = -1 (zero padding) in grey, frames 0 .. T-1 along Viridis
    ramp = sequential.Viridis
    cs = [[0.0, "#d9d9d9"], [edge, "#d9d9d9"]] + [
        [edge + 1e-6 + (1 - edge - 1e-6) * i / (len(ramp) - 1), c] for i, c in enumerate(ramp)]
    kw = dict(colorscale=cs, zmin=-1, zmax=frames - 1, xgap=2, ygap=2, hovertemplate="%{text}<extra></extra>",
              x=np.arange(frames), y=np.arange(channels))
    fig.add_trace(go.Heatmap(z=before, text=_hover(before), showscale=False, **kw), row=1, col=1)
    sources = {d: shift_sources(frames, channels, fold_div, d) for d in directions}
    for k, d in enumerate(directions):
        fig.add_trace(go.Heatmap(z=sources[d], text=_hover(sources[d]), visible=k == 0, name=d,
                                 colorbar=dict(title="source<br>frame", tickvals=[-1] + list(range(frames)),
                                               ticktext=["zero"] + [str(i) for i in range(frames)]), **kw),
                      row=1, col=2)
    buttons = []
    for k, d in enumerate(directions):
        moved = int(((sources[d] != before) & (sources[d] >= 0)).any(axis=1).sum())
        note = (f"{d}: channels 0-{fold - 1} come from frame t+1, {fold}-{2 * fold - 1} from t-1"
                if d == "bidirectional" else f"{d}: channels 0-{fold - 1} come from frame t-1 (the past only)")
        buttons.append(dict(label=d, method="update",
                            args=[{"visible": [True] + [j == k for j in range(len(directions))]},
                                  {"annotations": [*[a.to_plotly_json() for a in fig.layout.annotations[:2]],
                                                   dict(text=f"{note}; {moved} of {channels} channels move, "
                                                             f"the rest stay", x=0.5, y=-0.32, xref="paper",
                                                        yref="paper", showarrow=False)]}]))
    fig.add_annotation(text=buttons[0]["args"][1]["annotations"][2]["text"], x=0.5, y=-0.32, xref="paper",
                       yref="paper", showarrow=False)
    fig.update_xaxes(title_text="frame t", dtick=1)
    fig.update_yaxes(title_text="channel", autorange="reversed", dtick=max(1, fold))
    fig.update_layout(title=title, height=500, margin=dict(b=120, t=140),
                      updatemenus=[dict(type="buttons", direction="right", x=1.0, y=1.3, xanchor="right",
                                        yanchor="top", buttons=buttons, showactive=True)])
    return fig


__all__ = ["shift_sources", "temporal_shift_figure"]
