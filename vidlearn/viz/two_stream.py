"""Figures for the Two-Stream chapter: the L-frame flow stack that the temporal stream sees.

The temporal stream's input is not an image but ``2L`` channels: the horizontal and vertical flow of ``L``
consecutive frame pairs, in the order ``[x_t, y_t, x_{t+1}, y_{t+1}, ...]`` (Simonyan & Zisserman 2014,
Sec. 3.1; :func:`vidlearn.flow.stack_flow`). :func:`flow_stack_figure` draws those channels as a grid
(top row: the x channels, bottom row: the y channels, left to right in time) with a slider over the
stack's start ``t``; every slider position carries its own images, so it works in the static book.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from vidlearn.viz.flow import _component_image
from vidlearn.viz.video import _slider, _upscale_for, png_uri, to_uint8_frames


def flow_stack_figure(frames, flow: np.ndarray, length: int = 10, starts: Optional[list] = None,
                      title: str = "The temporal stream's input: L stacked flow fields",
                      max_magnitude: Optional[float] = None) -> go.Figure:
    """The 2L input channels of the temporal stream at several start frames (slider).

    Args:
        frames: the clip, uint8 ``(T, H, W, 3)`` or float ``(C, T, H, W)``; its frame ``t`` is shown first.
        flow: ``(2, T-1, H, W)`` in pixels (:func:`vidlearn.flow.compute_flow`).
        length: ``L``, the fields per stack.
        starts: the start frames the slider offers (default: up to 8 evenly spaced).
        max_magnitude: the colour scale in pixels (default: the 99th percentile of |flow|).
    """
    from vidlearn.flow import stack_flow

    rgb = to_uint8_frames(frames)
    flow = np.asarray(flow, dtype=np.float32)
    if flow.ndim != 4 or flow.shape[0] != 2:
        raise ValueError(f"expected flow (2, T-1, H, W), got shape {flow.shape}")
    fields = flow.shape[1]
    if not 1 <= length <= fields:
        raise ValueError(f"length L={length} must be between 1 and the {fields} flow fields of the clip")
    if starts is None:
        starts = sorted(set(np.linspace(0, fields - length, min(8, fields - length + 1)).astype(int).tolist()))
    bad = [s for s in starts if not 0 <= s <= fields - length]
    if bad or not starts:
        raise ValueError(f"start frames {bad or starts} out of range: need 0 <= t <= {fields - length}")
    bound = float(max_magnitude or max(np.percentile(np.abs(flow), 99), 1e-3))
    h = flow.shape[2]
    up = _upscale_for(h)
    titles = ["frame t"] + [f"ch {2 * k}: x<sub>t+{k}</sub>" for k in range(length)] + [""] + [
        f"ch {2 * k + 1}: y<sub>t+{k}</sub>" for k in range(length)]
    fig = make_subplots(rows=2, cols=length + 1, horizontal_spacing=0.01, vertical_spacing=0.12,
                        subplot_titles=titles)

    def panel(t: int):
        stack = stack_flow(flow, start=t, length=length)  # (2L, H, W): [x_t, y_t, x_t+1, ...]
        images = [go.Image(source=png_uri(rgb[t], up), hoverinfo="skip")]
        images += [go.Image(source=png_uri(_component_image(stack[2 * k], bound), up), hoverinfo="skip")
                   for k in range(length)]
        images += [go.Image(source=png_uri(_component_image(stack[2 * k + 1], bound), up), hoverinfo="skip")
                   for k in range(length)]
        return images

    cells = [(1, 1)] + [(1, k + 2) for k in range(length)] + [(2, k + 2) for k in range(length)]
    for trace, (r, c) in zip(panel(starts[0]), cells):
        fig.add_trace(trace, row=r, col=c)
    fig.frames = [go.Frame(data=panel(t), name=str(t), traces=list(range(len(cells)))) for t in starts]
    steps = [dict(method="animate", label=str(t), args=[[str(t)], dict(mode="immediate", frame=dict(
        duration=0, redraw=True))]) for t in starts]
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(title=f"{title} (L = {length}; red: right/down, blue: left/up, scale {bound:.1f} px)",
                      height=330, sliders=[_slider(steps, prefix="stack starts at frame t = ")],
                      margin=dict(l=10, r=10, t=90, b=10))
    return fig
