"""Figures for TimeSformer's attention schemes (chapter "TimeSformer").

- :func:`attention_patterns_figure`: the five schemes side by side on real frames; a slider picks the query
  patch and every step's keys light up in that step's colour, as in the paper's Figure 3.
- :func:`attention_cost_figure`: time, peak memory and FLOPs of one block per scheme against the number of
  frames and the resolution: measured points on analytic curves.
- :func:`paper_scale_cost_figure`: the analytic cost at the paper's size (ViT-B/16), where joint attention
  runs out of GPU memory.
- :func:`scheme_accuracy_figure`: validation accuracy of each scheme on motion and scene data.
- :func:`rollout_figure`: attention rollout of the class token drawn over the frames of a clip.

All of them are static-friendly: slider steps and buttons carry their data, so they work without a kernel.
"""

from __future__ import annotations

import math
from typing import Dict, Mapping, Optional, Sequence, Tuple

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from vidlearn.layers.attention_cost import attention_matrix_bytes
from vidlearn.layers.attention_pattern import SCHEMES, attention_pattern, block_flops, resolve_scheme
from vidlearn.viz.style import PALETTE, title_over_legend
from vidlearn.viz.video import png_uri, to_uint8_frames

# the paper's names, in the order of its Figure 1 and Table 1
SCHEME_TITLES: Dict[str, str] = {
    "space": "Space (S)",
    "joint": "Joint Space-Time (ST)",
    "divided": "Divided Space-Time (T+S)",
    "sparse_local_global": "Sparse Local Global (L+G)",
    "axial": "Axial (T+W+H)",
}
SCHEME_SHORT: Dict[str, str] = {  # two-line column titles for narrow pages
    "space": "Space<br>(S)",
    "joint": "Joint<br>(ST)",
    "divided": "Divided<br>(T+S)",
    "sparse_local_global": "Local-Global<br>(L+G)",
    "axial": "Axial<br>(T+W+H)",
}
SCHEME_COLORS: Dict[str, str] = dict(zip(SCHEME_TITLES, [PALETTE[7], PALETTE[3], PALETTE[4], PALETTE[1],
                                                           PALETTE[2]]))
QUERY_COLOR = "#1f77b4"  # the query patch is blue, as in the paper's figure
STEP_COLORS: Dict[str, str] = {
    "space_time": "#ff7f0e",
    "space": "#d62728",
    "time": "#2ca02c",
    "width": "#ffbf00",
    "height": "#9467bd",
    "local": "#17becf",
    "global": "#e377c2",
}
STEP_LABELS: Dict[str, str] = {
    "space_time": "joint space-time",
    "space": "space (same frame)",
    "time": "time (same position)",
    "width": "width (same row)",
    "height": "height (same column)",
    "local": "local (same quadrant)",
    "global": "global (stride 2)",
}


def _check_frames(frames, grid: Tuple[int, int]) -> np.ndarray:
    rgb = to_uint8_frames(frames)  # (T, h, w, 3)
    h, w = rgb.shape[1:3]
    if len(grid) != 2 or min(grid) < 1 or grid[0] > h or grid[1] > w:
        raise ValueError(f"grid must be (rows, columns) of patches, at most the frame size {h}x{w}, got {grid}")
    return rgb


def attention_patterns_figure(frames, grid: Tuple[int, int] = (4, 4), schemes: Sequence[str] = tuple(SCHEME_TITLES),
                              query: Tuple[int, int, int] = (1, 1, 2), frame_px: int = 96,
                              title: str = "Which patches one query attends to, in each scheme") -> go.Figure:
    """The attention schemes side by side: a ``T x H x W`` patch grid over real frames and a query slider.

    One column per scheme, one row per frame. The query patch is blue; the keys of each attention step
    are tinted in the step's colour (:data:`STEP_COLORS`); a patch reached in two steps shows both tints
    blended. The slider steps through every query position (all ``T*H*W`` of them are precomputed).

    Args:
        frames: ``T`` frames, uint8 ``(T, h, w, 3)`` or a float clip ``(C, T, h, w)``; each is shown
            ``frame_px`` pixels wide (nearest-neighbour resized).
        grid: ``(H, W)``, patch rows and columns laid over every frame.
        query: the query shown first, ``(t, h, w)``.
    """
    rgb = _check_frames(frames, grid)
    t_len, (gh, gw) = len(rgb), grid
    names = [resolve_scheme(s) for s in schemes]
    from PIL import Image

    px_h = max(1, round(frame_px * rgb.shape[1] / rgb.shape[2]))
    uris = [png_uri(np.asarray(Image.fromarray(f).resize((frame_px, px_h), Image.BILINEAR))) for f in rgb]
    cell_w, cell_h = frame_px / gw, px_h / gh

    def keys(scheme: str, q) -> Dict[str, np.ndarray]:
        return {s: m.numpy() for s, m in attention_pattern(scheme, t_len, gh, gw, q).items()}

    first = {s: keys(s, query) for s in names}
    counts = {s: " + ".join(str(int(m.sum())) for m in first[s].values()) for s in names}
    fig = make_subplots(rows=t_len, cols=len(names), horizontal_spacing=0.012, vertical_spacing=0.012,
                        column_titles=[f"{SCHEME_SHORT[s]}<br><sup>keys: {counts[s]}</sup>" for s in names],
                        row_titles=[f"frame {t}" for t in range(t_len)])
    lines_x, lines_y = [], []
    for k in range(1, gw):
        lines_x += [k * cell_w - 0.5, k * cell_w - 0.5, None]
        lines_y += [-0.5, px_h - 0.5, None]
    for k in range(1, gh):
        lines_x += [-0.5, frame_px - 0.5, None]
        lines_y += [k * cell_h - 0.5, k * cell_h - 0.5, None]
    cells = dict(x0=cell_w / 2 - 0.5, dx=cell_w, y0=cell_h / 2 - 0.5, dy=cell_h, xgap=1, ygap=1, showscale=False,
                 hoverinfo="skip", zmin=0, zmax=1)
    dynamic = []  # (trace index, scheme, step or None for the query, frame)
    for c, s in enumerate(names, start=1):
        for t in range(t_len):
            fig.add_trace(go.Image(source=uris[t], hoverinfo="skip"), row=t + 1, col=c)
            fig.add_trace(go.Scatter(x=lines_x, y=lines_y, mode="lines", line=dict(color="rgba(255,255,255,0.5)",
                                                                                 width=1),
                                     hoverinfo="skip", showlegend=False), row=t + 1, col=c)
            for step in SCHEMES[s]:
                color = STEP_COLORS[step]
                fig.add_trace(go.Heatmap(z=_cells(first[s][step][t]), colorscale=[[0, color], [1, color]],
                                         opacity=0.55, **cells), row=t + 1, col=c)
                dynamic.append((len(fig.data) - 1, s, step, t))
            fig.add_trace(go.Heatmap(z=_cells(_query_mask(query, t, t_len, gh, gw)), opacity=0.9,
                                     colorscale=[[0, QUERY_COLOR], [1, QUERY_COLOR]], **cells), row=t + 1, col=c)
            dynamic.append((len(fig.data) - 1, s, None, t))
    # legend: one square marker per colour (heatmaps have no legend entries)
    used = ["query"] + [st for st in STEP_COLORS if any(st in SCHEMES[s] for s in names)]
    for name in used:
        color = QUERY_COLOR if name == "query" else STEP_COLORS[name]
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name="query patch" if name == "query" else
                                 STEP_LABELS[name], marker=dict(symbol="square", size=13, color=color)),
                      row=1, col=1)
    steps = []
    for qt in range(t_len):
        for qh in range(gh):
            for qw in range(gw):
                q = (qt, qh, qw)
                masks = {s: keys(s, q) for s in names}
                zs = [_cells(masks[s][step][t]) if step else _cells(_query_mask(q, t, t_len, gh, gw))
                      for _, s, step, t in dynamic]
                steps.append(dict(method="restyle", label=f"t={qt}, row {qh}, col {qw}",
                                  args=[{"z": zs}, [i for i, *_ in dynamic]]))
    active = (query[0] * gh + query[1]) * gw + query[2]
    fig.update_xaxes(visible=False, range=[-0.5, frame_px - 0.5])
    fig.update_yaxes(visible=False, range=[px_h - 0.5, -0.5], scaleanchor=None)
    fig.update_layout(
        title=title, height=130 + t_len * (px_h + 40), width=None,
        legend=dict(orientation="h", y=-0.02, yanchor="top", x=0.5, xanchor="center"),
        sliders=[dict(active=active, steps=steps, pad=dict(t=70), y=0, font=dict(size=1, color="rgba(0,0,0,0)"),
                      currentvalue=dict(prefix="query patch: ", font=dict(size=13, color="#333")), ticklen=0,
                      minorticklen=0)],
        margin=dict(l=20, r=40, t=120, b=40),
    )
    return fig


def _cells(mask: np.ndarray) -> list:
    """A boolean ``(H, W)`` mask as heatmap values: 1 where set, None (transparent) elsewhere."""
    return [[1 if v else None for v in row] for row in np.asarray(mask)]


def _query_mask(query, t: int, T: int, H: int, W: int) -> np.ndarray:
    m = np.zeros((H, W), dtype=bool)
    if query[0] == t:
        m[query[1], query[2]] = True
    return m


def _split_rows(rows: Sequence[Mapping]) -> Dict[str, list]:
    out: Dict[str, list] = {}
    for r in rows:
        out.setdefault(resolve_scheme(str(r["scheme"])), []).append(r)
    return out


def attention_cost_figure(by_frames: Sequence[Mapping], by_size: Sequence[Mapping], dim: int, heads: int,
                          mlp_ratio: float = 4.0, device: str = "cpu",
                          title: str = "What one block costs, per scheme") -> go.Figure:
    """Measured time, peak memory and FLOPs of one block (markers) on the analytic curves (lines).

    Args:
        by_frames, by_size: rows of :func:`vidlearn.layers.attention_cost.measure_block`, one sweep over the
            number of frames ``T`` (fixed patch grid) and one over the grid side ``H = W`` (fixed ``T``).
        dim, heads, mlp_ratio: the block that was measured (the analytic curves use the same).

    Buttons switch the metric: FLOPs (analytic ``block_flops`` vs the FLOPs torch counted), peak memory
    (analytic ``block_memory_bytes`` vs measured), time (measured, and the analytic FLOPs at the median
    measured speed).
    """
    from vidlearn.layers.attention_cost import block_memory_bytes

    if not by_frames or not by_size:
        raise ValueError("need measurements over frames and over the grid size (two non-empty lists of rows)")
    h0, w0 = int(by_frames[0]["H"]), int(by_frames[0]["W"])
    t0 = int(by_size[0]["T"])
    frames = sorted({int(r["T"]) for r in by_frames})
    sides = sorted({int(r["H"]) for r in by_size})
    xs_t = list(range(frames[0], frames[-1] + 1))
    xs_s = list(range(sides[0], sides[-1] + 1))
    speed = float(np.median([r["flops_analytic"] / r["time_s"] for r in [*by_frames, *by_size]]))

    def grid(panel: int, x: int) -> Tuple[int, int, int]:
        return (x, h0, w0) if panel == 0 else (t0, x, x)

    def curve_fn(kind: str, panel: int):
        def f(s: str, x: int) -> float:
            t, h, w = grid(panel, x)
            flops = block_flops(s, t, h, w, dim, mlp_ratio)
            if kind == "flops":
                return flops / 1e6
            if kind == "memory":
                return block_memory_bytes(s, t, h, w, dim, heads, mlp_ratio) / 1e6
            return flops / speed * 1e3
        return f

    panels_rows = [(_split_rows(by_frames), lambda r: int(r["T"])), (_split_rows(by_size), lambda r: int(r["H"]))]
    xtitles = [f"frames T (grid {h0} x {w0} patches)", f"patches per side H = W ({t0} frames)"]
    metrics_def = [
        ("FLOPs", "MFLOPs (analytic lines, counted markers)", "flops", lambda r: r["flops"] / 1e6),
        ("peak memory", "peak memory, MB", "memory", lambda r: r["peak_bytes"] / 1e6),
        ("time", f"ms per forward pass on {device}", "time", lambda r: r["time_s"] * 1e3),
    ]
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1)
    groups = []
    for m, (_label, _ytitle, kind, point) in enumerate(metrics_def):
        idx = []
        for p, ((rows_by_scheme, xkey), xs) in enumerate(zip(panels_rows, [xs_t, xs_s])):
            for s, rows in rows_by_scheme.items():
                color, f = SCHEME_COLORS[s], curve_fn(kind, p)
                fig.add_trace(go.Scatter(
                    x=xs, y=[f(s, x) for x in xs], mode="lines", name=SCHEME_TITLES[s], legendgroup=s,
                    showlegend=p == 0, visible=m == 0, line=dict(color=color, width=2, dash="dash" if kind == "time"
                                                                else "solid"),
                    hovertemplate=f"{SCHEME_TITLES[s]}: %{{y:.4g}} (analytic)<extra></extra>"), row=1, col=p + 1)
                idx.append(len(fig.data) - 1)
                fig.add_trace(go.Scatter(
                    x=[xkey(r) for r in rows], y=[point(r) for r in rows], mode="markers", legendgroup=s,
                    name=f"{SCHEME_TITLES[s]} measured", showlegend=False, visible=m == 0,
                    marker=dict(color=color, size=10, symbol="circle-open", line=dict(width=2.5)),
                    hovertemplate=f"{SCHEME_TITLES[s]}: %{{y:.4g}} (measured)<extra></extra>"), row=1, col=p + 1)
                idx.append(len(fig.data) - 1)
        groups.append(idx)
    notes = {
        "FLOPs": "lines: block_flops; circles: FLOPs counted by torch on the real block",
        "peak memory": "lines: attention matrices + token activations; circles: measured peak",
        "time": f"circles: measured; dashed: analytic FLOPs at the median measured {speed / 1e9:.2f} GFLOP/s",
    }
    buttons = []
    for m, (label, ytitle, *_r) in enumerate(metrics_def):
        vis = [False] * len(fig.data)
        for i in groups[m]:
            vis[i] = True
        buttons.append(dict(label=label, method="update", args=[
            {"visible": vis}, {"yaxis.title.text": ytitle, "annotations[0].text": notes[label]}]))
    fig.update_xaxes(title_text=xtitles[0], row=1, col=1)
    fig.update_xaxes(title_text=xtitles[1], row=1, col=2)
    fig.update_yaxes(title_text=metrics_def[0][1], rangemode="tozero", row=1, col=1)
    fig.update_yaxes(rangemode="tozero", row=1, col=2)
    fig.update_layout(
        title=f"{title} (D = {dim}, {heads} heads, plain softmax path)", height=470,
        updatemenus=[dict(type="buttons", direction="right", buttons=buttons, x=0.0, xanchor="left", y=1.08,
                          yanchor="bottom", active=0)],
        legend=dict(orientation="h", y=-0.2, yanchor="top", x=0.5, xanchor="center"),
        annotations=[dict(text=notes["FLOPs"], x=1.0, xanchor="right", y=1.08, yanchor="bottom", xref="paper",
                          yref="paper", showarrow=False, font=dict(size=11, color="#555"))],
        margin=dict(t=120, b=120),
    )
    return fig


def paper_scale_cost_figure(frames: Sequence[int] = (8, 16, 24, 32, 48, 64, 96),
                            sizes: Sequence[int] = (224, 288, 336, 384, 448, 560), patch_size: int = 16,
                            dim: int = 768, heads: int = 12, depth: int = 12, memory_limit_gb: float = 32.0,
                            title: str = "At the paper's size: ViT-B/16, analytic") -> go.Figure:
    """Analytic TFLOPs and attention-matrix memory of the whole model (``depth`` blocks) at paper scale.

    Left: against the number of frames at 224 x 224 (the first of ``sizes``); right: against the
    resolution at 8 frames (the first of ``frames``). Memory counts what a training step keeps for the
    backward pass with plain attention: every block's attention scores and softmax weights (fp32,
    batch 1). The dotted line is a ``memory_limit_gb`` GPU; above it the model does not fit.
    """
    s0, f0 = sizes[0], frames[0]

    def grid(panel: int, x: int) -> Tuple[int, int, int]:
        side = (s0 if panel == 0 else x) // patch_size
        return (x if panel == 0 else f0), side, side

    def tflops(s: str, panel: int, x: int) -> float:
        return depth * block_flops(s, *grid(panel, x), dim) / 2 / 1e12  # multiply-adds, as the paper counts

    def memory(s: str, panel: int, x: int) -> float:
        return 2 * depth * attention_matrix_bytes(s, *grid(panel, x), heads) / 2 ** 30

    panels = [(list(frames), f"frames ({s0} x {s0} pixels)"), (list(sizes), f"resolution, pixels ({f0} frames)")]
    metrics = [("attention memory", "GB kept for backward (batch 1, fp32)", memory),
               ("TFLOPs", "TFLOPs per clip (multiply-adds)", tflops)]
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1)
    groups = []
    for m, (label, _yt, fn) in enumerate(metrics):
        idx = []
        for p, (xs, xtitle) in enumerate(panels):
            for s in SCHEME_TITLES:
                ys = [fn(s, p, x) for x in xs]
                over = ["  out of memory" if memory(s, p, x) > memory_limit_gb else "" for x in xs]
                fig.add_trace(go.Scatter(
                    x=xs, y=ys, mode="lines+markers", name=SCHEME_TITLES[s], legendgroup=s, showlegend=p == 0,
                    visible=m == 0, line=dict(color=SCHEME_COLORS[s], width=2), customdata=over,
                    marker=dict(size=[11 if o else 6 for o in over], symbol=["x" if o else "circle" for o in over]),
                    hovertemplate=f"{SCHEME_TITLES[s]}<br>{xtitle}: %{{x}}<br>{label}: %{{y:.3g}}%{{customdata}}"
                                  "<extra></extra>"), row=1, col=p + 1)
                idx.append(len(fig.data) - 1)
        groups.append(idx)
    limit = [dict(type="line", xref=f"x{'' if p == 1 else p} domain", x0=0, x1=1, yref=f"y{'' if p == 1 else p}",
                  y0=memory_limit_gb, y1=memory_limit_gb, line=dict(color="#444", dash="dot", width=1.5))
             for p in (1, 2)]
    limit_note = dict(text=f"{memory_limit_gb:g} GB GPU", x=0.02, xanchor="left", y=math.log10(memory_limit_gb),
                      yanchor="bottom",  # annotations on a log axis take log10 of the value
                      xref="x domain", yref="y", showarrow=False, font=dict(size=11, color="#444"))
    buttons = []
    for m, (label, ytitle, _fn) in enumerate(metrics):
        vis = [False] * len(fig.data)
        for i in groups[m]:
            vis[i] = True
        buttons.append(dict(label=label, method="update", args=[
            {"visible": vis}, {"yaxis.title.text": ytitle, "shapes": limit if m == 0 else [],
                               "annotations": [limit_note] if m == 0 else []}]))
    fig.update_xaxes(title_text=panels[0][1], row=1, col=1)
    fig.update_xaxes(title_text=panels[1][1], row=1, col=2)
    fig.update_yaxes(type="log", row=1, col=1, title_text=metrics[0][1])
    fig.update_yaxes(type="log", row=1, col=2)
    fig.update_layout(
        title=f"{title} (crosses: above the {memory_limit_gb:g} GB line, out of memory)", height=460,
        shapes=limit, annotations=[limit_note],
        updatemenus=[dict(type="buttons", direction="right", buttons=buttons, x=0.0, xanchor="left", y=1.08,
                          yanchor="bottom", active=0)],
        legend=dict(orientation="h", y=-0.2, yanchor="top", x=0.5, xanchor="center"),
        margin=dict(t=110, b=110),
    )
    return fig


def scheme_accuracy_figure(accuracy: Mapping[str, Mapping[str, float]], chance: Optional[float] = None,
                           title: str = "Validation accuracy of each scheme") -> go.Figure:
    """Grouped bars: ``accuracy[mode][scheme]`` (e.g. mode ``motion`` / ``scene``), with a chance line."""
    fig = go.Figure()
    for mode, color in zip(accuracy, [PALETTE[0], PALETTE[1], PALETTE[2]]):
        schemes = [resolve_scheme(s) for s in accuracy[mode]]
        fig.add_bar(x=[SCHEME_TITLES[s] for s in schemes], y=list(accuracy[mode].values()), name=f"{mode} data",
                    marker_color=color, text=[f"{v:.0%}" for v in accuracy[mode].values()], textposition="outside",
                    hovertemplate="%{x}<br>" + mode + " accuracy %{y:.1%}<extra></extra>")
    if chance is not None:
        fig.add_hline(y=chance, line=dict(color="#444", dash="dot"), annotation_text=f"chance {chance:.0%}",
                      annotation_position="top left")
    fig.update_layout(barmode="group", height=430, yaxis=dict(title="validation accuracy", range=[0, 1.1],
                                                              tickformat=".0%"),
                      xaxis=dict(title="attention scheme"), **title_over_legend(title, legend_rows=1))
    return fig


def rollout_figure(clip, maps: Mapping[str, object], frame_px: int = 96, labels: Optional[Sequence[str]] = None,
                   title: str = "Attention rollout of the class token") -> go.Figure:
    """Frames of a clip with each model's relevance map laid over them; one row per model.

    Args:
        clip: uint8 ``(T, h, w, 3)`` or float ``(C, T, h, w)``.
        maps: name -> relevance ``(T, H', W')`` (e.g. ``TimeSformer.attention_rollout(x)[0]``), non-negative;
            each row is scaled to its own maximum.
        labels: the column titles (default ``frame t``).
    """
    rgb = to_uint8_frames(clip)
    t_len = len(rgb)
    arrays = {k: np.asarray(v.detach().cpu() if hasattr(v, "detach") else v, dtype=float) for k, v in maps.items()}
    for k, a in arrays.items():
        if a.ndim != 3 or a.shape[0] != t_len:
            raise ValueError(f"map {k!r} must be (T, H', W') with T = {t_len} frames, got shape {a.shape}")
    from PIL import Image

    px_h = max(1, round(frame_px * rgb.shape[1] / rgb.shape[2]))
    uris = [png_uri(np.asarray(Image.fromarray(f).resize((frame_px, px_h), Image.NEAREST))) for f in rgb]
    names = list(arrays)
    fig = make_subplots(rows=len(names), cols=t_len, horizontal_spacing=0.008, vertical_spacing=0.06,
                        column_titles=list(labels) if labels else [f"frame {t}" for t in range(t_len)],
                        row_titles=names)
    for r, name in enumerate(names, start=1):
        a = arrays[name]
        a = a / max(float(a.max()), 1e-12)
        gh, gw = a.shape[1:]
        for t in range(t_len):
            fig.add_trace(go.Image(source=uris[t], hoverinfo="skip"), row=r, col=t + 1)
            fig.add_trace(go.Heatmap(z=a[t], x0=frame_px / gw / 2 - 0.5, dx=frame_px / gw, y0=px_h / gh / 2 - 0.5,
                                     dy=px_h / gh, zmin=0, zmax=1, colorscale="Inferno", opacity=0.55,
                                     showscale=r == 1 and t == t_len - 1,
                                     colorbar=dict(title="relevance<br>(row max = 1)", len=0.8, x=1.06),
                                     hovertemplate=f"{name}, frame {t}: relevance %{{z:.2f}}<extra></extra>"),
                          row=r, col=t + 1)
    fig.update_xaxes(visible=False, range=[-0.5, frame_px - 0.5])
    fig.update_yaxes(visible=False, range=[px_h - 0.5, -0.5])
    fig.update_layout(title=title, height=140 + len(names) * (px_h + 70), margin=dict(l=20, r=90, t=100, b=20))
    return fig
