"""The "fusion points" figure (chapters DeepVideo and "Where to fuse the two streams"): where a network merges time.

Each variant is drawn as the path its input frames take through the layers: one column per conv / FC
layer (and every pooling that spans time), one node per temporal position that layer outputs, and lines
from each node to the positions below it that it reads. A node is placed at the mean time of the input
frames it depends on, so merging shows as lines that converge. Blue nodes still see one input position
(a frame, or one flow stack); orange nodes have merged several; the first orange column is the model's
fusion point. Everything is read from the modules by
:func:`vidlearn.models.deepvideo.temporal_receptive_fields`, nothing is typed in. Buttons switch between
variants and the caption gives each one's parameters and FLOPs (:func:`variant_stats`).

    fig = fusion_points_figure({"single frame": m1, "late": m2, "early": m3, "slow": m4},
                               stats=variant_stats(models, inputs))
"""

from __future__ import annotations

from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import plotly.graph_objects as go
import torch.nn as nn

from vidlearn.viz.style import PALETTE, one_variant_at_a_time

PER_FRAME, MERGED, OUTPUT = PALETTE[0], PALETTE[1], PALETTE[7]
TRACES_PER_VARIANT = 5  # per-frame edges, merging edges, score-averaging edges, per-frame nodes, merged nodes


def _short_names(kinds: Sequence[str]) -> List[str]:
    """``conv1, conv2, ..., pool, fc6, ...``: layers named as in the papers (FC layers numbered after the convs)."""
    names, conv, fc = [], 0, 0
    n_conv = sum(k.startswith("conv") for k in kinds)
    for k in kinds:
        if k.startswith("conv"):
            conv += 1
            names.append(f"conv{conv}")
        elif k.startswith("fc"):
            fc += 1
            names.append(f"fc{n_conv + fc}")
        else:
            names.append(f"pool{conv}")
    return names


def temporal_graph(model: nn.Module) -> Dict[str, object]:
    """Nodes and edges of one model's temporal path, computed from its modules.

    Returns a dict with ``columns`` (layer labels, the input first), ``layers`` (the
    :class:`~vidlearn.models.deepvideo.TemporalRF` rows drawn), ``nodes`` (per column a list of
    ``(time, receptive_field, first_frame, last_frame)``), ``edges`` (``(column, node, input_node, merging)``),
    ``fusion_column`` (index of the first column that merges input positions, ``None`` if none does) and
    ``averaged`` (whether the per-position scores are averaged into the video score).
    """
    from vidlearn.models.deepvideo import temporal_receptive_fields

    n, spacing, *rest = getattr(model, "temporal_input", (1, 1))
    span = rest[0] if rest else 1  # frames one input position covers (a stack of L flow fields)
    layers = [lay for lay in temporal_receptive_fields(model)
              if not lay.kind.startswith("pool") or lay.kernel > 1]
    # input position i covers frames [i*spacing, i*spacing + span - 1]
    nodes: List[List[Tuple[float, int, int, int]]] = [
        [(i * spacing + (span - 1) / 2, span, i * spacing, i * spacing + span - 1) for i in range(n)]]
    edges: List[Tuple[int, int, int, bool]] = []
    fusion_column: Optional[int] = None
    for c, lay in enumerate(layers, start=1):
        prev = nodes[-1]
        k, s, n_out = lay.kernel, lay.stride, lay.frames_out
        pad = max(0, ((n_out - 1) * s + k - len(prev)) // 2)
        col = []
        for j in range(n_out):
            ins = [i for i in range(j * s - pad, j * s - pad + k) if 0 <= i < len(prev)]
            first, last = min(prev[i][2] for i in ins), max(prev[i][3] for i in ins)
            col.append((sum(prev[i][0] for i in ins) / len(ins), lay.receptive_field, first, last))
            edges += [(c, j, i, len(ins) > 1) for i in ins]
        if fusion_column is None and any(rf > span for _, rf, _, _ in col):
            fusion_column = c
        nodes.append(col)
    kinds = [lay.kind for lay in layers]
    return {"columns": ["input"] + _short_names(kinds), "layers": layers, "nodes": nodes, "edges": edges,
            "fusion_column": fusion_column, "averaged": len(nodes[-1]) > 1, "span": span}


def _variant_traces(name: str, graph: Dict[str, object]) -> List[go.Scatter]:
    nodes, edges = graph["nodes"], graph["edges"]
    seg = {False: ([], []), True: ([], [])}
    for c, j, i, merging in edges:
        xs, ys = seg[merging]
        xs += [c - 1, c, None]
        ys += [nodes[c - 1][i][0], nodes[c][j][0], None]
    out_x, out_y = [], []
    last = len(nodes) - 1
    end = sum(t for t, *_ in nodes[-1]) / len(nodes[-1])
    for t, *_ in nodes[-1]:
        out_x += [last, last + 1, None]
        out_y += [t, end, None]
    labels = graph["columns"] + ["video score"]
    layers = graph["layers"]
    pts = {False: ([], [], []), True: ([], [], [])}
    for c, col in enumerate(nodes):
        for t, rf, first, last_f in col:
            merged = rf > graph["span"]
            where = "input" if c == 0 else f"{labels[c]} ({layers[c - 1].name}, {layers[c - 1].kind})"
            text = (f"{where}<br>sees frames {first}-{last_f} (temporal receptive field {rf})"
                    + (f"<br>temporal kernel {layers[c - 1].kernel}, stride {layers[c - 1].stride}" if c else ""))
            xs, ys, tx = pts[merged]
            xs.append(c)
            ys.append(t)
            tx.append(text)
    score = "scores averaged over time" if graph["averaged"] else "one score for the clip"
    traces = [
        go.Scatter(x=seg[False][0], y=seg[False][1], mode="lines", line=dict(color=PER_FRAME, width=1.5),
                   name="per-position path", hoverinfo="skip", legendgroup="a"),
        go.Scatter(x=seg[True][0], y=seg[True][1], mode="lines", line=dict(color=MERGED, width=2.5),
                   name="time merged here", hoverinfo="skip", legendgroup="b"),
        go.Scatter(x=out_x, y=out_y, mode="lines", line=dict(color=OUTPUT, width=1.5, dash="dot"),
                   name=score, hoverinfo="skip", legendgroup="c"),
        go.Scatter(x=pts[False][0], y=pts[False][1], mode="markers", text=pts[False][2], hoverinfo="text",
                   marker=dict(color=PER_FRAME, size=11, line=dict(color="white", width=1)),
                   name="sees one input position", legendgroup="d"),
        go.Scatter(x=pts[True][0], y=pts[True][1], mode="markers", text=pts[True][2], hoverinfo="text",
                   marker=dict(color=MERGED, size=13, symbol="diamond", line=dict(color="white", width=1)),
                   name="has merged several", legendgroup="e"),
    ]
    for tr in traces:
        tr.update(meta=name)
    return traces


def variant_stats(models: Mapping[str, nn.Module], inputs: Mapping[str, object]) -> Dict[str, Dict[str, float]]:
    """Parameters and forward FLOPs (``vidlearn.profile`` conventions) of each model on its input."""
    from vidlearn.profile import count_flops, count_parameters

    return {name: {"params": count_parameters(m), "flops": count_flops(m, inputs[name])}
            for name, m in models.items()}


def _caption(name: str, graph: Dict[str, object], stats: Optional[Mapping[str, float]]) -> str:
    fc = graph["fusion_column"]
    where = (f"time merged at <b>{graph['columns'][fc]}</b>" if fc is not None
             else "time never merged inside the network: per-frame scores are averaged")
    text = f"<b>{name}</b>: {where}"
    if stats:
        text += f"<br>{stats['params'] / 1e6:.2f} M parameters, {stats['flops'] / 1e9:.2f} GFLOPs per clip"
    return text


def fusion_points_figure(models: Mapping[str, nn.Module], stats: Optional[Mapping[str, Mapping[str, float]]] = None,
                         title: str = "Where does each variant merge time?",
                         frame_label: str = "input frame") -> go.Figure:
    """The path of the input frames through each model's layers, one variant at a time (buttons).

    Args:
        models: variant name -> model with ``temporal_input`` (every DeepVideo variant, FusionTwoStream...).
        stats: optional name -> ``{"params": ..., "flops": ...}`` shown in the caption (:func:`variant_stats`).
        frame_label: the y-axis title (time is measured in input frames).
    """
    if not models:
        raise ValueError("fusion_points_figure needs at least one model")
    graphs = {name: temporal_graph(m) for name, m in models.items()}
    fig = go.Figure()
    for name, g in graphs.items():
        for tr in _variant_traces(name, g):
            fig.add_trace(tr)
    names = list(graphs)
    width = max(len(g["columns"]) for g in graphs.values()) + 1
    ymax = max(max(f[3] for col in g["nodes"] for f in col) for g in graphs.values())

    def view(k: int):
        g = graphs[names[k]]
        visible = [i // TRACES_PER_VARIANT == k for i in range(TRACES_PER_VARIANT * len(names))]
        cols = g["columns"] + ["video score"]
        layout = {"xaxis.tickvals": list(range(len(cols))), "xaxis.ticktext": cols,
                  "annotations[0].text": _caption(names[k], g, (stats or {}).get(names[k]))}
        return visible, layout

    menu, lay0 = one_variant_at_a_time(fig, names, view, y=1.17)
    fig.update_layout(
        title=dict(text=title, y=0.98, yanchor="top"), height=540, margin=dict(l=60, r=20, t=170, b=60),
        xaxis=dict(title="layer (input at the left)", tickvals=lay0["xaxis.tickvals"],
                   ticktext=lay0["xaxis.ticktext"], range=[-0.5, width - 0.5], showgrid=False),
        yaxis=dict(title=frame_label, range=[ymax + 0.8, -0.8], zeroline=False),
        legend=dict(orientation="h", y=-0.18, x=0),
        updatemenus=[menu],
        annotations=[dict(text=lay0["annotations[0].text"], x=0, xref="paper", y=1.02, yref="paper",
                          xanchor="left", yanchor="bottom", showarrow=False, align="left")],
    )
    return fig


def multires_streams_figure(frame, fovea, context, title: str = "DeepVideo's multiresolution streams") -> go.Figure:
    """A frame with the fovea's box drawn on it, and the two streams' inputs side by side.

    Args:
        frame: the full frame; fovea: its centre crop at full resolution; context: the whole frame
            downsampled to the fovea's size. Each uint8 ``(H, W, 3)`` or float ``(3, H, W)`` in [0, 1].
    """
    import numpy as np
    from plotly.subplots import make_subplots

    from vidlearn.viz.video import png_uri

    def img(a):
        a = a.detach().cpu().numpy() if hasattr(a, "detach") else np.asarray(a)
        if a.dtype != np.uint8:
            a = np.clip(a.transpose(1, 2, 0) * 255 + 0.5, 0, 255).astype(np.uint8)
        return a

    frame, fovea, context = img(frame), img(fovea), img(context)
    h, w = frame.shape[:2]
    fh, fw = fovea.shape[:2]
    fig = make_subplots(rows=1, cols=3, horizontal_spacing=0.03, column_widths=[0.5, 0.25, 0.25],
                        subplot_titles=(f"frame {h}x{w}, fovea box", f"fovea:<br>centre {fh}x{fw}",
                                        f"context:<br>whole frame at {context.shape[0]}x{context.shape[1]}"))
    for col, a in enumerate((frame, fovea, context), start=1):
        fig.add_trace(go.Image(source=png_uri(a), hoverinfo="skip"), row=1, col=col)
    top, left = (h - fh) // 2, (w - fw) // 2
    fig.add_shape(type="rect", x0=left - 0.5, x1=left + fw - 0.5, y0=top - 0.5, y1=top + fh - 0.5,
                  line=dict(color="#ffdd00", width=3), row=1, col=1)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(title=title, height=330, margin=dict(l=10, r=10, t=80, b=10))
    return fig


def accuracy_bars(results: Mapping[str, Mapping[str, float]], chance: Optional[float] = None,
                  title: str = "Validation accuracy", yaxis: str = "validation accuracy",
                  xaxis: str = "") -> go.Figure:
    """Grouped bars: one group per outer key (e.g. the data set), one bar per inner key (e.g. the model).

    ``chance`` draws a dashed line at the chance level. Hover shows the exact value.
    """
    if not results:
        raise ValueError("accuracy_bars needs at least one group of results")
    groups = list(results)
    names: List[str] = []
    for g in groups:
        names += [n for n in results[g] if n not in names]
    fig = go.Figure()
    for k, n in enumerate(names):
        ys = [results[g].get(n) for g in groups]
        fig.add_bar(x=groups, y=ys, name=n, marker_color=PALETTE[k % len(PALETTE)],
                    text=[f"{v:.2f}" if v is not None else "" for v in ys], textposition="outside",
                    hovertemplate=f"{n}<br>%{{x}}: %{{y:.3f}}<extra></extra>")
    if chance is not None:
        fig.add_hline(y=chance, line=dict(color="#444", dash="dash"), annotation_text=f"chance ({chance:.2f})",
                      annotation_position="top right")
    fig.update_layout(title=title, barmode="group", height=400, yaxis=dict(title=yaxis, range=[0, 1.08]),
                      xaxis=dict(title=xaxis), legend=dict(orientation="h", y=-0.15))
    return fig


def binding_streams_figure(examples: Mapping[str, Tuple[object, object]],
                           title: str = "What each stream sees") -> go.Figure:
    """One row per clip: its first and last RGB frames, the grayscale frame and the mean optical flow.

    Made for ``SyntheticActions("binding")`` (the Fusion chapter): the RGB frames are what the appearance
    stream sees one at a time, the grayscale frames what the flow is computed from, and the flow (colour =
    direction, :func:`vidlearn.flow.flow_to_rgb`) what the motion stream sees.

    Args:
        examples: row label -> ``(clip, flow)``: ``clip`` float ``(3, T, H, W)`` in [0, 1], ``flow``
            ``(2, T-1, H, W)`` (numpy or torch).
    """
    import numpy as np
    from plotly.subplots import make_subplots

    from vidlearn.flow.compute import to_gray
    from vidlearn.flow.visualize import flow_to_rgb
    from vidlearn.viz.video import png_uri

    if not examples:
        raise ValueError("binding_streams_figure needs at least one (clip, flow) example")
    as_np = [(np.asarray(c, dtype=np.float32), np.asarray(f, dtype=np.float32)) for c, f in examples.values()]
    bound = max(float(np.abs(f.mean(axis=1)).max()) for _, f in as_np) or 1.0  # one colour scale for all
    cols = ("first frame (RGB)", "last frame (RGB)", "first frame (grayscale)", "mean flow (colour = direction)")
    fig = make_subplots(rows=len(as_np), cols=4, horizontal_spacing=0.02, vertical_spacing=0.06,
                        subplot_titles=cols + ("",) * 4 * (len(as_np) - 1), row_titles=list(examples))

    def rgb8(a: np.ndarray) -> np.ndarray:  # (3, H, W) in [0, 1] -> (H, W, 3) uint8
        return np.clip(a.transpose(1, 2, 0) * 255 + 0.5, 0, 255).astype(np.uint8)

    for row, (clip, flow) in enumerate(as_np, start=1):
        gray = to_gray(clip[:, :1])[0]  # (H, W) uint8
        images = (rgb8(clip[:, 0]), rgb8(clip[:, -1]), np.repeat(gray[:, :, None], 3, axis=2),
                  flow_to_rgb(flow.mean(axis=1), max_magnitude=bound))
        for col, image in enumerate(images, start=1):
            fig.add_trace(go.Image(source=png_uri(image, upscale=4), hoverinfo="skip"), row=row, col=col)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(title=title, height=120 + 190 * len(as_np), margin=dict(l=10, r=40, t=90, b=10))
    return fig


def binding_bars(results: Mapping[str, Mapping[str, float]], chance: float, ceiling: float,
                 title: str = "Binding what to where it moves: validation accuracy") -> go.Figure:
    """:func:`accuracy_bars` with a second line at ``ceiling``: the most a model that cannot tie an object's
    appearance to its motion can score (0.5 on ``SyntheticActions("binding")``: it knows the direction,
    then guesses which of the two objects moves)."""
    fig = accuracy_bars(results, chance=chance, title=title)
    fig.add_hline(y=ceiling, line=dict(color=PALETTE[3], dash="dot"),
                  annotation_text=f"without binding: at most {ceiling:.2f}", annotation_position="bottom right")
    return fig
