"""Figures for the chapter "Beyond Short Snippets": what each model sees of a long clip, and how an LSTM's
per-frame predictions evolve over it.

``long_clip_views_figure`` draws a long clip as a strip of thumbnails with its two events shaded, and
one row per model marking the frames that model reads (a short snippet, every 2nd frame...).
``frame_predictions_figure`` shows, for a few clips (slider), the strip and the probability of every
class after each frame: the per-frame predictions of the LSTM (``LSTMSnippets.forward_frames``).
Both are plain plotly (slider steps carry all data), so they work in the static book.
"""

from __future__ import annotations

from typing import Mapping, Optional, Sequence, Tuple

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from vidlearn.viz.style import PALETTE
from vidlearn.viz.video import png_uri, to_uint8_frames

Event = Tuple[str, int, int]  # (event type, first frame, end frame (exclusive)), as SyntheticActions.describe gives


def _strip(clip, thumb: int = 48) -> Tuple[str, int, int]:
    """The frames of ``clip`` side by side as one PNG: ``(uri, T, frame side in pixels)``."""
    frames = to_uint8_frames(clip)  # (T, H, W, 3)
    t, h = frames.shape[0], frames.shape[1]
    up = max(1, thumb // max(h, 1))
    strip = np.concatenate(list(frames), axis=1)  # (H, T*W, 3)
    return png_uri(strip, upscale=up), t, h


def _strip_image(uri: str, t: int, row_y: Tuple[float, float], xref: str = "x", yref: str = "y") -> dict:
    """A layout image covering x in [-0.5, t - 0.5] (one frame per unit) and y in ``row_y``."""
    y0, y1 = row_y
    return dict(source=uri, xref=xref, yref=yref, x=-0.5, y=y1, sizex=t, sizey=y1 - y0, xanchor="left",
                yanchor="top", sizing="stretch", layer="below")


def _event_shapes(events: Sequence[Event], yref: str, y: Tuple[float, float], xref: str = "x") -> list:
    return [dict(type="rect", xref=xref, yref=yref, x0=a - 0.5, x1=b - 0.5, y0=y[0], y1=y[1],
                 fillcolor=PALETTE[3], opacity=0.15, line=dict(width=0), layer="below") for _, a, b in events]


def long_clip_views_figure(clip, events: Sequence[Event], views: Mapping[str, Sequence[int]],
                           title: str = "A long clip, and the frames each model reads") -> go.Figure:
    """The clip as a strip of frames (events shaded) and, per model, the frames it reads.

    Args:
        clip: float ``(C, T, H, W)`` in [0, 1] or uint8 ``(T, H, W, 3)``.
        events: ``(kind, start, end)`` of each event (end exclusive).
        views: model name -> the frame indices it reads.
    """
    uri, t, _ = _strip(clip)
    names = list(views)
    if not names:
        raise ValueError("long_clip_views_figure needs at least one view")
    for name, idx in views.items():
        bad = [i for i in idx if not 0 <= i < t]
        if bad:
            raise ValueError(f"view {name!r} reads frames {bad} outside the clip's {t} frames")
    n = len(names)
    fig = go.Figure()
    for k, name in enumerate(names):
        idx = list(views[name])
        sees = [kind for kind, a, b in events if any(a <= i < b for i in idx)]
        fig.add_trace(go.Scatter(
            x=idx, y=[k] * len(idx), mode="markers", name=name, marker=dict(size=10, color=PALETTE[k % 10],
                                                                            symbol="square"),
            hovertemplate=f"{name}<br>frame %{{x}}<br>events seen: {', '.join(sees) or 'none'}<extra></extra>"))
    strip_y = (n - 0.5, n - 0.5 + max(1.2, t / 12))
    fig.add_layout_image(_strip_image(uri, t, strip_y))
    shapes = _event_shapes(events, "y", (-0.5, strip_y[1]))
    for kind, a, b in events:
        fig.add_annotation(x=(a + b - 1) / 2, y=strip_y[1], text=f"event: {kind}", showarrow=False,
                           yanchor="bottom", font=dict(color=PALETTE[3]))
    fig.update_layout(
        title=title, shapes=shapes, height=260 + 40 * n, showlegend=False,
        xaxis=dict(title="frame", range=[-0.5, t - 0.5], dtick=2 if t > 12 else 1, showgrid=False),
        yaxis=dict(tickvals=list(range(n)), ticktext=names, range=[-0.7, strip_y[1] + 0.6], showgrid=False,
                   zeroline=False, autorange=False),
        margin=dict(l=140, r=20, t=60, b=50),
    )
    return fig


def frame_predictions_figure(clips: Sequence, probs: np.ndarray, classes: Sequence[str],
                             events: Sequence[Sequence[Event]], labels: Sequence[int],
                             frame_index: Optional[Sequence[int]] = None,
                             title: str = "The LSTM's prediction after each frame") -> go.Figure:
    """Per-frame class probabilities of a recurrent model on a few clips, one clip at a time (slider).

    Args:
        clips: N clips, each float ``(C, T, H, W)`` in [0, 1] or uint8 ``(T, H, W, 3)`` (what is drawn).
        probs: ``(N, S, K)`` probability of each of K classes after each of the S steps the model read.
        classes: the K class names; events: per clip its ``(kind, start, end)``; labels: true class per clip.
        frame_index: the clip frame each step read (default ``0..S-1``), to place the curves under the strip.
    """
    probs = np.asarray(probs, dtype=float)
    n = len(clips)
    if probs.ndim != 3 or probs.shape[0] != n or probs.shape[2] != len(classes):
        raise ValueError(f"probs must be (N={n}, steps, K={len(classes)}), got shape {probs.shape}")
    if not (len(events) == len(labels) == n) or n == 0:
        raise ValueError(f"need one events list and one label per clip: {n} clips, {len(events)} events, "
                         f"{len(labels)} labels")
    steps = probs.shape[1]
    x = list(frame_index) if frame_index is not None else list(range(steps))
    if len(x) != steps:
        raise ValueError(f"frame_index has {len(x)} entries for {steps} steps")
    k = len(classes)
    fig = make_subplots(rows=2, cols=1, row_heights=[0.25, 0.75], shared_xaxes=True, vertical_spacing=0.04)
    strips = [_strip(c) for c in clips]
    t = strips[0][1]
    for i in range(n):
        for j, name in enumerate(classes):
            true = j == labels[i]
            fig.add_trace(go.Scatter(
                x=x, y=probs[i, :, j], mode="lines+markers", name=name + (" (true class)" if true else ""),
                visible=i == 0, line=dict(color=PALETTE[j % 10], width=4 if true else 1.5,
                                          dash="solid" if true else "dot"),
                hovertemplate=f"{name}<br>after frame %{{x}}: %{{y:.2f}}<extra></extra>"), row=2, col=1)

    def view(i: int):
        visible = [tr // k == i for tr in range(n * k)]
        img = _strip_image(strips[i][0], t, (0, 1), xref="x", yref="y")
        shapes = _event_shapes(events[i], "y2", (0, 1), xref="x2") + _event_shapes(events[i], "y", (0, 1))
        final = classes[int(np.argmax(probs[i, -1]))]
        caption = (f"true class <b>{classes[labels[i]]}</b>; after the last frame the model says <b>{final}</b> "
                   f"({probs[i, -1].max():.2f})")
        return visible, {"images": [img], "shapes": shapes, "annotations[0].text": caption}

    vis0, lay0 = view(0)
    slider_steps = [dict(label=str(i + 1), method="update", args=[{"visible": view(i)[0]}, view(i)[1]])
                    for i in range(n)]
    fig.update_layout(
        title=title, height=660, images=lay0["images"], shapes=lay0["shapes"],
        annotations=[dict(text=lay0["annotations[0].text"], x=0, xref="paper", y=1.02, yref="paper",
                          xanchor="left", yanchor="bottom", showarrow=False)],
        sliders=[dict(active=0, currentvalue=dict(prefix="clip "), pad=dict(t=40), steps=slider_steps)],
        legend=dict(orientation="h", y=-0.42, x=0, yanchor="top"), margin=dict(l=60, r=20, t=90, b=190),
    )
    fig.update_yaxes(range=[0, 1], showticklabels=False, showgrid=False, zeroline=False, row=1, col=1)
    fig.update_yaxes(title="probability", range=[0, 1.02], row=2, col=1)
    fig.update_xaxes(range=[-0.5, t - 0.5], row=1, col=1)
    fig.update_xaxes(title="frame of the clip", range=[-0.5, t - 0.5], row=2, col=1)
    return fig
