"""Figures for clips, samplers and datasets (chapter "Working with video").

Every function returns a plotly figure whose sliders/buttons work in the static book: animation frames
and slider steps carry all the data, so no kernel is needed. Frames are embedded as PNG images
(``go.Image(source=...)``), which keeps pages small.
"""

from __future__ import annotations

import base64
import io
from typing import Dict, Optional, Sequence, Union

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from vidlearn.viz.style import PALETTE

Array = np.ndarray


def to_uint8_frames(clip) -> Array:
    """uint8 frames ``(T, H, W, 3)`` from uint8 frames or a float clip ``(C, T, H, W)`` in [0, 1]."""
    arr = clip.detach().cpu().numpy() if hasattr(clip, "detach") else np.asarray(clip)
    if arr.ndim != 4:
        raise ValueError(f"expected frames (T, H, W, 3) uint8 or a clip (C, T, H, W) float, got shape {arr.shape}")
    if arr.dtype != np.uint8:
        if arr.shape[0] not in (1, 3):
            raise ValueError(f"expected a float clip (C, T, H, W) with C=1 or 3, got shape {arr.shape}")
        arr = np.clip(arr.transpose(1, 2, 3, 0) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if arr.shape[-1] == 1:
        arr = np.repeat(arr, 3, axis=-1)
    if arr.shape[-1] != 3:
        raise ValueError(f"expected 3 colour channels last in (T, H, W, 3), got shape {arr.shape}")
    return arr


def png_uri(image: Array, upscale: int = 1) -> str:
    """A ``data:image/png`` URI of a uint8 ``(H, W, 3)`` image (nearest-neighbour ``upscale`` for tiny frames)."""
    from PIL import Image

    img = Image.fromarray(np.ascontiguousarray(image))
    if upscale > 1:
        img = img.resize((img.width * upscale, img.height * upscale), Image.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _upscale_for(h: int) -> int:
    return max(1, 128 // max(h, 1))


def _slider(steps, prefix: str = "frame ", y: float = 0.0) -> dict:
    return dict(active=0, currentvalue=dict(prefix=prefix), pad=dict(t=30), y=y, steps=steps)


def _play_button(duration_ms: int) -> dict:
    return dict(type="buttons", showactive=False, x=0.0, y=0.0, xanchor="right", yanchor="top", pad=dict(t=30, r=10),
                buttons=[dict(label="▶", method="animate", args=[None, dict(frame=dict(duration=duration_ms,
                                                                                        redraw=True),
                                                                            fromcurrent=True, transition=dict(
                                                                                duration=0))]),
                         dict(label="❚❚", method="animate", args=[[None], dict(mode="immediate",
                                                                                  frame=dict(duration=0))])])


def clip_player(clip, title: str = "A clip, frame by frame", fps: float = 8.0,
                frame_labels: Optional[Sequence] = None) -> go.Figure:
    """Show a clip with a frame slider and a play button.

    Args:
        clip: uint8 frames ``(T, H, W, 3)`` (as ``read_video`` returns) or a float clip ``(C, T, H, W)``.
        frame_labels: what the slider shows per frame (default: the frame number).
    """
    frames = to_uint8_frames(clip)
    t, h, w, _ = frames.shape
    up = _upscale_for(h)
    uris = [png_uri(f, up) for f in frames]
    labels = [str(x) for x in (frame_labels if frame_labels is not None else range(t))]
    fig = go.Figure(go.Image(source=uris[0], hoverinfo="skip"))
    fig.frames = [go.Frame(data=[go.Image(source=u)], name=lab) for u, lab in zip(uris, labels)]
    steps = [dict(method="animate", label=lab, args=[[lab], dict(mode="immediate", frame=dict(duration=0,
                                                                                                 redraw=True))])
             for lab in labels]
    fig.update_layout(title=title, sliders=[_slider(steps)], updatemenus=[_play_button(int(1000 / fps))],
                      height=min(560, 180 + h * up * 460 // max(w * up, 1)), margin=dict(l=20, r=20))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def frame_grid(clip, indices: Optional[Sequence[int]] = None, cols: int = 8, title: str = "Frames") -> go.Figure:
    """Several frames of a clip side by side (static), each titled with its frame index."""
    frames = to_uint8_frames(clip)
    idx = list(range(len(frames))) if indices is None else list(indices)
    rows = (len(idx) + cols - 1) // cols
    fig = make_subplots(rows=rows, cols=min(cols, len(idx)), subplot_titles=[f"t = {i}" for i in idx],
                        horizontal_spacing=0.01, vertical_spacing=0.06)
    up = _upscale_for(frames.shape[1])
    for k, i in enumerate(idx):
        fig.add_trace(go.Image(source=png_uri(frames[i], up), hoverinfo="skip"), row=k // cols + 1, col=k % cols + 1)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(title=title, height=140 + 170 * rows, margin=dict(l=10, r=10))
    return fig


IndexSet = Union[Array, Sequence[Array]]


def sampler_timeline(samplers: Dict[str, object], num_frames: int, draws: int = 4, seed: int = 0,
                     title: str = "Which frames each sampler takes") -> go.Figure:
    """Draw the frame indices that samplers pick from a video of ``num_frames`` frames.

    Args:
        samplers: name -> a callable ``sampler(num_frames, rng=...)`` returning indices (1-D), several clips
            (2-D: one row per clip) or a tuple of pathways (SlowFast's ``(slow, fast)``).
        draws: how many random draws to show; a slider switches between them (training samplers are random,
            test samplers give the same indices every time).
    """
    names = list(samplers)
    fig = go.Figure()
    traces_per_draw = []
    for d in range(draws):
        rng = np.random.default_rng([seed, d])
        count = 0
        for row, name in enumerate(names):
            out = samplers[name](num_frames, rng=rng)
            groups = list(out) if isinstance(out, tuple) else (list(out) if np.ndim(out) == 2 else [out])
            sub = ["slow", "fast"] if isinstance(out, tuple) and len(groups) == 2 else [
                f"clip {i + 1}" for i in range(len(groups))]
            for g, (idx, label) in enumerate(zip(groups, sub)):
                idx = np.asarray(idx)
                offset = (g - (len(groups) - 1) / 2) * 0.22
                fig.add_scatter(
                    x=idx, y=[row + offset] * len(idx), mode="markers", visible=d == 0,
                    marker=dict(size=9 if len(groups) == 1 else 7, color=PALETTE[(row + g) % len(PALETTE)],
                                symbol="line-ns-open" if len(idx) > 40 else "circle", line=dict(width=2)),
                    name=f"{name}" + (f" ({label})" if len(groups) > 1 else ""), showlegend=False,
                    hovertemplate=f"{name}" + (f" {label}" if len(groups) > 1 else "") +
                                  "<br>frame %{x}<extra></extra>")
                count += 1
        traces_per_draw.append(count)
    total = sum(traces_per_draw)
    steps, start = [], 0
    for d, n in enumerate(traces_per_draw):
        vis = [False] * total
        vis[start:start + n] = [True] * n
        steps.append(dict(method="update", label=str(d + 1), args=[{"visible": vis}]))
        start += n
    fig.update_layout(
        title=title, height=140 + 60 * len(names), sliders=[_slider(steps, prefix="random draw ")],
        xaxis=dict(title=f"frame index in a {num_frames}-frame video", range=[-1, num_frames]),
        yaxis=dict(tickvals=list(range(len(names))), ticktext=names, range=[len(names) - 0.5, -0.5]),
        shapes=[dict(type="rect", x0=-0.5, x1=num_frames - 0.5, y0=-0.5, y1=len(names) - 0.5,
                     line=dict(width=0), fillcolor="rgba(0,0,0,0.03)", layer="below")],
    )
    return fig


def dataset_gallery(dataset, indices: Optional[Sequence[int]] = None, per_class: int = 1, cols: int = 4,
                    title: str = "One clip per class") -> go.Figure:
    """A grid of clips from a dataset of ``(clip (C, T, H, W), label)``, one per class by default, titled by
    class name; the slider (or play button) moves every clip through time together. A data set with a
    ``transform`` (``SyntheticActions`` normalises by default) is shown without it: the clips as made."""
    from vidlearn.data.memory import without_transform

    dataset, _ = without_transform(dataset)
    classes = getattr(dataset, "classes", None)
    if indices is None:
        seen: Dict[int, int] = {}
        indices = []
        for i in range(len(dataset)):
            label = int(dataset[i][1])
            if seen.get(label, 0) < per_class:
                seen[label] = seen.get(label, 0) + 1
                indices.append(i)
            if classes is not None and len(indices) >= per_class * len(classes):
                break
    items = [dataset[i] for i in indices]
    clips = [to_uint8_frames(c) for c, _ in items]
    labels = [int(y) for _, y in items]
    names = [classes[y] if classes is not None else str(y) for y in labels]
    t = min(len(c) for c in clips)
    rows = (len(clips) + cols - 1) // cols
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=names, horizontal_spacing=0.02, vertical_spacing=0.08)
    up = _upscale_for(clips[0].shape[1])
    uris = [[png_uri(c[f], up) for f in range(t)] for c in clips]
    for k in range(len(clips)):
        fig.add_trace(go.Image(source=uris[k][0], hoverinfo="skip"), row=k // cols + 1, col=k % cols + 1)
    fig.frames = [go.Frame(data=[go.Image(source=uris[k][f]) for k in range(len(clips))], name=str(f),
                           traces=list(range(len(clips)))) for f in range(t)]
    steps = [dict(method="animate", label=str(f), args=[[str(f)], dict(mode="immediate", frame=dict(
        duration=0, redraw=True))]) for f in range(t)]
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(title=title, height=170 + 190 * rows, sliders=[_slider(steps)],
                      updatemenus=[_play_button(150)], margin=dict(l=10, r=10))
    return fig
