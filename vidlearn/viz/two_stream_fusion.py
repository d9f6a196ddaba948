"""The "where do the streams meet" figure (chapter "Where to fuse the two streams").

Draws a :class:`vidlearn.models.fusion.FusionTwoStream` as the path its two inputs take: the RGB stream
(top row) and the flow stream (bottom row) run through their own conv stages until the fusion layer, after
which one fused trunk (middle row) goes on to the temporal fusion and the classifier; the temporal branch
(and the spatial one, for ``+fc8``) continue on their own and meet the fused trunk only at the prediction.
Everything is read from the model: its fusion index, its branches and the parameters of every stage
(hover over a node). Buttons switch between variants; the caption gives each one's totals.

    fig = stream_fusion_figure({"conv2": m2, "conv5": m5, "conv5 + fc8": m58}, accuracy={"conv5": 0.9})
"""

from __future__ import annotations

from typing import Dict, List, Mapping, Optional

import plotly.graph_objects as go
import torch.nn as nn

from vidlearn.viz.style import PALETTE, one_variant_at_a_time

RGB, FLOW, FUSED = PALETTE[0], PALETTE[1], PALETTE[2]
TRACES_PER_VARIANT = 4  # rgb path, flow path, fused path, nodes


def _params(module: Optional[nn.Module]) -> int:
    return 0 if module is None else sum(p.numel() for p in module.parameters())


def stream_graph(model: nn.Module) -> Dict[str, object]:
    """Nodes and paths of one two-stream fusion model, computed from its modules.

    Returns a dict with ``columns`` (x tick labels), ``nodes`` (``(x, y, label, params)``; y = 1 RGB,
    -1 flow, 0 fused), ``paths`` (``{"rgb"|"flow"|"fused": [(x, y), ...] polylines}``), ``fuse_column``
    (the conv stage after which the streams meet, 1-based), ``params`` (the model's total) and ``text``
    (a one-line description: fusion function, place, temporal fusion, branches).
    """
    for attr in ("fuse_index", "spatial", "temporal", "fuse", "fused_stages", "head", "cfg"):
        if not hasattr(model, attr):
            raise TypeError(f"stream_graph needs a FusionTwoStream model (missing .{attr}), got "
                            f"{type(model).__name__}")
    cfg, k = model.cfg, model.fuse_index
    n = len(cfg.stages)
    head_x, out_x, fuse_x = n + 1, n + 2, k + 1.5
    nodes = [(0, 1, "RGB frames", 0), (0, -1, f"flow stacks (2L = {2 * cfg.flow_frames} channels)", 0)]
    paths: Dict[str, List[list]] = {"rgb": [[(0, 1)]], "flow": [[(0, -1)]], "fused": []}
    for i in range(k + 1):
        nodes.append((i + 1, 1, f"RGB conv{i + 1}", _params(model.spatial[i])))
        nodes.append((i + 1, -1, f"flow conv{i + 1}", _params(model.temporal[i])))
        paths["rgb"][0].append((i + 1, 1))
        paths["flow"][0].append((i + 1, -1))
    paths["rgb"][0].append((fuse_x, 0))
    paths["flow"][0].append((fuse_x, 0))
    nodes.append((fuse_x, 0, f"{cfg.fusion} fusion", _params(model.fuse)))
    trunk = [(fuse_x, 0)]
    for j, stage in enumerate(model.fused_stages):
        nodes.append((k + 2 + j, 0, f"fused conv{k + 2 + j}", _params(stage)))
        trunk.append((k + 2 + j, 0))
    nodes.append((head_x, 0, f"{cfg.temporal_fusion.replace('_', ' ')} + fc6-fc8", _params(model.head)))
    trunk += [(head_x, 0), (out_x, 0)]
    paths["fused"].append(trunk)
    branches = []
    for name, rest, head, y, key in (("temporal", "temporal_rest", "temporal_head", -1, "flow"),
                                     ("spatial", "spatial_rest", "spatial_head", 1, "rgb")):
        if getattr(model, head, None) is None:
            continue
        branches.append(name)
        line = [(k + 1, y)]
        for j, stage in enumerate(getattr(model, rest)):
            nodes.append((k + 2 + j, y, f"{name} branch conv{k + 2 + j}", _params(stage)))
            line.append((k + 2 + j, y))
        nodes.append((head_x, y, f"{name} branch: pool + fc6-fc8", _params(getattr(model, head))))
        line += [(head_x, y), (out_x, 0)]
        paths[key].append(line)
    nodes.append((out_x, 0, "prediction" + (" (softmax scores averaged)" if branches else ""), 0))
    total = _params(model)
    text = (f"{cfg.fusion} fusion after conv{k + 1}, temporal fusion: {cfg.temporal_fusion.replace('_', ' ')}"
            + (f"; {' and '.join(branches)} branch{'es' if len(branches) > 1 else ''} kept" if branches else ""))
    columns = ["input"] + [f"conv{i + 1}" for i in range(n)] + ["head", "output"]
    return {"columns": columns, "nodes": nodes, "paths": paths, "fuse_column": k + 1, "params": total,
            "text": text}


def _traces(name: str, g: Dict[str, object]) -> List[go.Scatter]:
    out = []
    for key, colour, label in (("rgb", RGB, "RGB (spatial) stream"), ("flow", FLOW, "flow (temporal) stream"),
                               ("fused", FUSED, "fused trunk")):
        xs, ys = [], []
        for line in g["paths"][key]:
            xs += [p[0] for p in line] + [None]
            ys += [p[1] for p in line] + [None]
        out.append(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color=colour, width=3), name=label,
                              hoverinfo="skip", meta=name))
    nodes = g["nodes"]
    colours = [RGB if y > 0 else FLOW if y < 0 else FUSED for _, y, _, _ in nodes]
    out.append(go.Scatter(
        x=[x for x, *_ in nodes], y=[y for _, y, *_ in nodes], mode="markers", name="layer (hover: parameters)",
        marker=dict(size=[10 + min(p, 5e7) ** 0.25 / 4 for *_, p in nodes], color=colours,
                    line=dict(color="white", width=1)),
        text=[f"{lab}<br>{p:,} parameters" for *_, lab, p in nodes], hoverinfo="text", meta=name))
    return out


def _caption(name: str, g: Dict[str, object], accuracy: Optional[float]) -> str:
    text = f"<b>{name}</b>: {g['text']}<br>{g['params'] / 1e6:.2f} M parameters"
    if g["params"] < 1e6:
        text = f"<b>{name}</b>: {g['text']}<br>{g['params'] / 1e3:.1f} k parameters"
    if accuracy is not None:
        text += f", validation accuracy {accuracy:.2f}"
    return text


def stream_fusion_figure(models: Mapping[str, nn.Module], accuracy: Optional[Mapping[str, float]] = None,
                         title: str = "Where do the two streams meet?") -> go.Figure:
    """Each variant's two streams and fused trunk, one variant at a time (buttons).

    Args:
        models: variant name -> :class:`~vidlearn.models.fusion.FusionTwoStream`.
        accuracy: optional variant name -> accuracy, shown in the caption.
    """
    if not models:
        raise ValueError("stream_fusion_figure needs at least one model")
    graphs = {name: stream_graph(m) for name, m in models.items()}
    names = list(graphs)
    fig = go.Figure()
    for name, g in graphs.items():
        for tr in _traces(name, g):
            fig.add_trace(tr)
    columns = max((g["columns"] for g in graphs.values()), key=len)

    def view(i: int):
        visible = [t // TRACES_PER_VARIANT == i for t in range(TRACES_PER_VARIANT * len(names))]
        return visible, {"annotations[0].text": _caption(names[i], graphs[names[i]], (accuracy or {}).get(names[i]))}

    menu, lay0 = one_variant_at_a_time(fig, names, view, y=1.2)
    fig.update_layout(
        title=dict(text=title, y=0.98, yanchor="top"), height=460, margin=dict(l=70, r=20, t=150, b=60),
        xaxis=dict(title="depth (conv stages of the VGG towers, then the head)", tickvals=list(range(len(columns))),
                   ticktext=columns, range=[-0.5, len(columns) - 0.5], showgrid=False),
        yaxis=dict(tickvals=[1, 0, -1], ticktext=["RGB", "fused", "flow"], range=[-1.6, 1.6], showgrid=False,
                   zeroline=False),
        legend=dict(orientation="h", y=-0.2, x=0),
        updatemenus=[menu],
        annotations=[dict(text=lay0["annotations[0].text"], x=0, xref="paper", y=1.03, yref="paper",
                          xanchor="left", yanchor="bottom", showarrow=False, align="left")],
    )
    return fig


def fusion_results_figure(results: Mapping[str, Mapping[str, Mapping[str, float]]], chance: Optional[float] = None,
                          title: str = "Fusion variants compared on the same data") -> go.Figure:
    """One panel per experiment (e.g. fusion function, fusion location, temporal fusion), one bar per variant.

    Args:
        results: experiment -> variant -> ``{"acc": accuracy, "params": parameter count}``; the bar is the
            accuracy, its label and hover give the parameters too (the paper's tables report both).
        chance: draws a dashed chance line in every panel.
    """
    from plotly.subplots import make_subplots

    if not results or not all(results.values()):
        raise ValueError("fusion_results_figure needs at least one experiment, each with at least one variant")
    names = list(results)
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=names, shared_yaxes=True,
                        column_widths=[len(results[n]) for n in names], horizontal_spacing=0.04)
    for c, name in enumerate(names, start=1):
        variants = list(results[name])
        acc = [results[name][v]["acc"] for v in variants]
        params = [results[name][v]["params"] for v in variants]
        fig.add_bar(x=variants, y=acc, marker_color=PALETTE[c - 1], showlegend=False, name=name,
                    text=[f"{a:.2f}<br>{p / 1e3:.0f}k" for a, p in zip(acc, params)], textposition="outside",
                    customdata=params, row=1, col=c,
                    hovertemplate="%{x}<br>accuracy %{y:.3f}<br>%{customdata:,} parameters<extra></extra>")
        if chance is not None:
            fig.add_hline(y=chance, line=dict(color="#444", dash="dash"), row=1, col=c)
    fig.update_yaxes(range=[0, 1.15], row=1, col=1, title="validation accuracy")
    fig.update_layout(title=title, height=430, margin=dict(l=60, r=20, t=90, b=60),
                      annotations=list(fig.layout.annotations) + [dict(
                          text="bar labels: accuracy, then parameters (thousands)"
                               + (f"; dashed: chance ({chance:.2f})" if chance is not None else ""),
                          x=0, xref="paper", y=-0.22, yref="paper", showarrow=False, xanchor="left")])
    return fig
