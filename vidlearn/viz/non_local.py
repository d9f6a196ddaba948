"""Figures for the non-local chapter: where one query position of a non-local block looks in a clip.

Used by the chapter "Non-local neural networks" (``book/non_local.ipynb``). The attention maps are computed
in the notebook (``ResNet3D.attention_maps``) and passed in; the slider only switches precomputed traces,
so the figure works in the static book.
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from vidlearn.viz.video import png_uri, to_uint8_frames


def _unravel(index: int, grid: Tuple[int, int, int]) -> Tuple[int, int, int]:
    t, h, w = grid
    return index // (h * w), (index // w) % h, index % w


def nonlocal_attention_figure(key_frames, attention, query_grid: Tuple[int, int, int],
                              key_grid: Tuple[int, int, int], queries: Sequence[int],
                              labels: Optional[Sequence[str]] = None, frame_px: int = 120,
                              title: str = "Where one position of a non-local block looks") -> go.Figure:
    """One column per feature time step, its clip frame overlaid with one query's attention; a slider picks the query.

    Args:
        key_frames: one image per feature time step, uint8 ``(T', H, W, 3)`` (or a float clip ``(C, T', H, W)``).
        attention: one clip's attention ``(N_query, N_key)`` of a spacetime non-local block, positions
            ordered ``(t h w)`` (what ``NonLocal.attention_weights`` returns for one clip).
        query_grid, key_grid: ``(T', h, w)`` of the queries and of the (possibly subsampled) keys.
        queries: the query indices (into ``N_query``) the slider offers, precomputed.
        labels: slider labels, one per query (default: ``t=.., y=.., x=..``).
        frame_px: the side of each drawn frame in pixels.

    The heat over a frame is the weight the query gives each key cell of that frame (one colour scale per
    query, 0 to its largest weight); the box marks the query's own cell. Hover shows the exact weights.
    """
    frames = to_uint8_frames(key_frames)
    attn = np.asarray(attention, dtype=np.float64)
    tq, hq, wq = query_grid
    tk, hk, wk = key_grid
    if tq != tk or len(frames) != tk:
        raise ValueError(f"need one frame per feature time step: query grid {query_grid}, key grid {key_grid}, "
                         f"{len(frames)} frames")
    if attn.shape != (tq * hq * wq, tk * hk * wk):
        raise ValueError(f"attention must be (N_query={tq * hq * wq}, N_key={tk * hk * wk}) for grids "
                         f"{query_grid} / {key_grid}, got {attn.shape}")
    if not len(queries):
        raise ValueError("queries is empty")
    if any(not 0 <= q < attn.shape[0] for q in queries):
        raise ValueError(f"query indices must be in [0, {attn.shape[0]}), got {list(queries)}")
    labels = list(labels) if labels is not None else [
        "t={}, y={}, x={}".format(*_unravel(q, query_grid)) for q in queries]
    if len(labels) != len(queries):
        raise ValueError(f"{len(labels)} labels for {len(queries)} queries")
    up = max(1, int(round(frame_px / frames.shape[1])))
    side_y, side_x = frames.shape[1] * up, frames.shape[2] * up
    fig = make_subplots(rows=1, cols=tk, horizontal_spacing=0.01,
                        subplot_titles=[f"feature frame {t}" for t in range(tk)])
    for t in range(tk):
        fig.add_trace(go.Image(source=png_uri(frames[t], up), hoverinfo="skip"), row=1, col=t + 1)
    ys, xs = (np.arange(hk) + 0.5) * side_y / hk, (np.arange(wk) + 0.5) * side_x / wk
    n_static, per_query = tk, tk + 1
    notes = []
    for k, q in enumerate(queries):
        row = attn[q].reshape(tk, hk, wk)
        qt, qy, qx = _unravel(q, query_grid)
        for t in range(tk):
            fig.add_trace(go.Heatmap(z=row[t], x=xs, y=ys, zmin=0, zmax=float(row.max()), opacity=0.6,
                                     colorscale="Hot", showscale=t == tk - 1 and k == 0, visible=k == 0,
                                     colorbar=dict(title="weight", len=0.8), name=f"frame {t}",
                                     hovertemplate=f"frame {t}<br>weight %{{z:.4f}}<extra></extra>"),
                          row=1, col=t + 1)
        cy, cx = side_y / hq, side_x / wq
        fig.add_trace(go.Scatter(x=[qx * cx, (qx + 1) * cx, (qx + 1) * cx, qx * cx, qx * cx],
                                 y=[qy * cy, qy * cy, (qy + 1) * cy, (qy + 1) * cy, qy * cy], mode="lines",
                                 line=dict(color="#00e5ff", width=3), visible=k == 0, name="query",
                                 hoverinfo="skip", showlegend=False), row=1, col=qt + 1)
        per_frame = row.sum(axis=(1, 2))
        notes.append(f"query {labels[k]}: {100 * (1 - per_frame[qt]):.0f}% of its attention goes to other "
                     f"frames; most to frame {int(per_frame.argmax())} ({100 * per_frame.max():.0f}%)")
    steps = []
    n = len(fig.data)
    for k, label in enumerate(labels):
        visible = [True] * n_static + [False] * (n - n_static)
        start = n_static + k * per_query
        visible[start:start + per_query] = [True] * per_query
        steps.append(dict(label=label, method="update",
                          args=[{"visible": visible}, {f"annotations[{tk}].text": notes[k]}]))
    fig.add_annotation(text=notes[0], x=0.5, y=-0.08, xref="paper", yref="paper", showarrow=False)
    fig.update_xaxes(visible=False, range=[0, side_x])
    fig.update_yaxes(visible=False, range=[side_y, 0], scaleanchor=None)
    fig.update_layout(title=title, height=max(300, int(2.2 * frame_px) + 160), margin=dict(l=10, r=10, t=90, b=40),
                      sliders=[dict(active=0, currentvalue=dict(prefix="query: "), pad=dict(t=40), steps=steps)])
    return fig


__all__ = ["nonlocal_attention_figure"]
