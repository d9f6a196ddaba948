"""Figures for optical flow (chapters "Working with video" and "Two-Stream"): the field under a frame slider
as colours, arrows and its x / y components; the algorithms side by side with their measured speed."""

from __future__ import annotations

from typing import Dict, Optional

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from vidlearn.viz.video import _play_button, _slider, _upscale_for, png_uri, to_uint8_frames


def _component_image(c: np.ndarray, bound: float) -> np.ndarray:
    """A signed flow component as a blue (negative) - white (0) - red (positive) uint8 image."""
    v = np.clip(c / bound, -1.0, 1.0)[..., None]
    pos, neg = np.clip(v, 0, 1), np.clip(-v, 0, 1)
    rgb = np.concatenate([1 - neg, 1 - pos - neg, 1 - pos], axis=-1)  # red for +, blue for -
    return (rgb * 255 + 0.5).astype(np.uint8)


def _arrows(flow_t: np.ndarray, grid: int, scale: float):
    """Line segments (with None breaks) for a quiver plot of one (2, H, W) field on a grid x grid lattice."""
    _, h, w = flow_t.shape
    ys = np.linspace(h / (2 * grid), h - h / (2 * grid), grid).astype(int)
    xs = np.linspace(w / (2 * grid), w - w / (2 * grid), grid).astype(int)
    px, py = [], []
    for y in ys:
        for x in xs:
            dx, dy = flow_t[0, y, x] * scale, flow_t[1, y, x] * scale
            px += [x, x + dx, None]
            py += [y, y + dy, None]
    return px, py


def flow_explorer(frames, flow: np.ndarray, title: str = "Optical flow, frame by frame", grid: int = 14,
                  max_magnitude: Optional[float] = None) -> go.Figure:
    """A frame slider over four views of the flow from frame t to t+1: the frame with flow arrows, the
    Middlebury colour coding (hue = direction, saturation = speed), and the x and y components.

    Args:
        frames: uint8 ``(T, H, W, 3)`` or float ``(C, T, H, W)``; flow: float ``(2, T-1, H, W)`` in pixels.
    """
    from vidlearn.flow import flow_to_rgb

    rgb = to_uint8_frames(frames)
    flow = np.asarray(flow, dtype=np.float32)
    if flow.ndim != 4 or flow.shape[0] != 2 or flow.shape[1] != len(rgb) - 1:
        raise ValueError(f"expected flow (2, T-1, H, W) = (2, {len(rgb) - 1}, H, W) for {len(rgb)} frames, "
                         f"got {flow.shape}")
    mag = np.sqrt((flow ** 2).sum(0))
    bound = float(max_magnitude or max(np.percentile(mag, 99), 1e-3))
    colours = flow_to_rgb(flow, max_magnitude=bound)  # (T-1, H, W, 3)
    t, h, w = flow.shape[1:]
    up = _upscale_for(h)
    scale = 0.9 * (w / grid) / bound  # the longest arrows span about one grid cell
    fig = make_subplots(rows=1, cols=4, horizontal_spacing=0.02, subplot_titles=(
        "frame t + arrows", "colour-coded flow", "x component (red: right)", "y component (red: down)"))

    def panel(i):
        ax, ay = _arrows(flow[:, i], grid, scale)
        return [
            go.Image(source=png_uri(rgb[i], up), hoverinfo="skip"),
            go.Scatter(x=[v * up if v is not None else None for v in ax],
                       y=[v * up if v is not None else None for v in ay], mode="lines",
                       line=dict(color="#ffdd00", width=2), hoverinfo="skip", showlegend=False),
            go.Image(source=png_uri(colours[i], up), hoverinfo="skip"),
            go.Image(source=png_uri(_component_image(flow[0, i], bound), up), hoverinfo="skip"),
            go.Image(source=png_uri(_component_image(flow[1, i], bound), up), hoverinfo="skip"),
        ]

    first = panel(0)
    for trace, col in zip(first, [1, 1, 2, 3, 4]):
        fig.add_trace(trace, row=1, col=col)
    fig.frames = [go.Frame(data=panel(i), name=str(i), traces=list(range(5))) for i in range(t)]
    steps = [dict(method="animate", label=str(i), args=[[str(i)], dict(mode="immediate", frame=dict(
        duration=0, redraw=True))]) for i in range(t)]
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_yaxes(autorange="reversed", row=1, col=1)
    fig.update_layout(title=f"{title} (colour and component scale: {bound:.1f} px per frame)",
                      height=420, sliders=[_slider(steps)], updatemenus=[_play_button(250)], margin=dict(l=10, r=10))
    return fig


def flow_methods_figure(frame, flows: Dict[str, np.ndarray], seconds_per_frame: Dict[str, float],
                        title: str = "Optical flow algorithms on the same frame pair") -> go.Figure:
    """The colour-coded flow of each method on the same pair of frames, with the measured time per frame.

    Args:
        frame: the first frame, uint8 ``(H, W, 3)``; flows: method -> ``(2, H, W)``;
        seconds_per_frame: method -> measured seconds per frame pair.
    """
    from vidlearn.flow import flow_to_rgb

    names = list(flows)
    bound = max(float(np.percentile(np.sqrt((np.asarray(f) ** 2).sum(0)), 99)) for f in flows.values())
    fig = make_subplots(rows=1, cols=len(names) + 2, horizontal_spacing=0.03,
                        specs=[[{}] * (len(names) + 1) + [{"type": "xy"}]],
                        subplot_titles=["frame"] + [f"{n}: {seconds_per_frame[n] * 1000:.1f} ms" for n in names]
                        + ["time per frame"])
    up = _upscale_for(np.asarray(frame).shape[0])
    fig.add_trace(go.Image(source=png_uri(np.asarray(frame), up), hoverinfo="skip"), row=1, col=1)
    for k, n in enumerate(names):
        img = flow_to_rgb(np.asarray(flows[n]), max_magnitude=max(bound, 1e-3))
        fig.add_trace(go.Image(source=png_uri(img, up), hoverinfo="skip"), row=1, col=k + 2)
    fig.add_trace(go.Bar(x=names, y=[seconds_per_frame[n] * 1000 for n in names], showlegend=False,
                         marker_color="#1f77b4", hovertemplate="%{x}: %{y:.1f} ms per frame<extra></extra>"),
                  row=1, col=len(names) + 2)
    for c in range(1, len(names) + 2):
        fig.update_xaxes(visible=False, row=1, col=c)
        fig.update_yaxes(visible=False, row=1, col=c)
    fig.update_yaxes(title_text="ms per frame (log)", type="log", row=1, col=len(names) + 2)
    fig.update_layout(title=title, height=360, margin=dict(l=10, r=10))
    return fig
