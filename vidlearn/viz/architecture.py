"""Architecture diagrams drawn from the models themselves (every chapter's "what the network looks like").

Nothing here is typed in: each diagram runs the model once (batch of one, ``torch.no_grad``, eval mode,
then the model's mode is restored) with forward hooks on the parts it draws, and reads the modules to find
where things sit (which blocks carry a non-local block, where the temporal shift is, the M_i channels of a
(2+1)D conv, the attention steps of a transformer block). A paper-size model costs nothing on the ``meta``
device, which computes shapes without numbers::

    with torch.device("meta"):
        model = create_model("slowfast_r50")
    slowfast_diagram(model).show()

Shapes are written without the batch, channels first: ``C × T × H × W`` (a 2D network's per-frame maps
``C × H × W``, a transformer's tokens ``L × D``). The figures are boxes, arrows and hover text only (no
callbacks), so they read the same in the static book. ``fig.layout.meta`` holds what was measured (stage
shapes, non-local positions, lateral shapes...), for the tests and for readers who want the numbers.

Functions: :func:`stage_shapes` (the hooks), :func:`stage_diagram` (any video CNN as a chain of stages:
C3D, I3D, the R(2+1)D family, the non-local ResNets), :func:`deepvideo_diagram`, :func:`two_stream_diagram`,
:func:`fusion_diagram`, :func:`tsn_diagram`, :func:`r2plus1d_block_diagram`, :func:`nonlocal_diagram`,
:func:`slowfast_diagram`, :func:`tsm_diagram`, :func:`timesformer_block_diagram`, :func:`vivit_diagram`.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import plotly.graph_objects as go
import torch
import torch.nn as nn

from vidlearn.viz.style import PALETTE, rgba

INPUT, CONV, FUSE, HEAD, ATTN, SHIFT, NL, MLP = (PALETTE[7], PALETTE[0], PALETTE[1], PALETTE[3], PALETTE[4],
                                                 PALETTE[2], PALETTE[1], PALETTE[5])
SLOW_C, FAST_C = PALETTE[0], PALETTE[1]
ROW_PX = 58  # pixels per row of boxes
Shape = Tuple[int, ...]


# --------------------------------------------------------------------------------------------------------
# measuring: run the model once with hooks


def _device(model: nn.Module) -> torch.device:
    p = next(iter(model.parameters()), None)
    return p.device if p is not None else torch.device("cpu")


def _example(model: nn.Module, inputs: Any = None) -> Any:
    """``inputs`` as given (a tensor, a pair, or a shape to fill with zeros), else the model's example input."""
    dev = _device(model)
    if inputs is None:
        if not hasattr(model, "example_input"):
            raise ValueError(f"{type(model).__name__} has no example_input(): pass inputs (a tensor or a shape)")
        inputs = model.example_input(batch_size=1)
    if isinstance(inputs, (tuple, list)) and inputs and all(isinstance(v, int) for v in inputs):
        return torch.zeros(tuple(inputs), device=dev)
    if isinstance(inputs, (tuple, list)):
        return type(inputs)(_example(model, v) for v in inputs)
    return inputs.to(dev)


def _shape(out: Any) -> Shape:
    while isinstance(out, (tuple, list)):
        out = out[0]
    return tuple(out.shape)


def stage_shapes(model: nn.Module, names: Sequence[str], inputs: Any = None,
                 inputs_of: Sequence[str] = ()) -> Dict[str, Shape]:
    """Output shape (batch included) of each module ``names`` (and input shape of ``inputs_of``) in one forward.

    ``inputs``: a tensor, a pair for two-input models, a shape (zeros on the model's device) or ``None``
    (``model.example_input(batch_size=1)``). A module called several times keeps its first call's shape;
    one that never runs is missing from the result. The model runs in eval mode, its mode is restored.
    """
    modules = dict(model.named_modules())
    missing = [n for n in list(names) + list(inputs_of) if n not in modules]
    if missing:
        raise ValueError(f"{type(model).__name__} has no module(s) {missing}")
    shapes: Dict[str, Shape] = {}
    hooks = []

    def record(key: str, value: Any) -> None:  # a hook that returned a value would replace the tensor
        shapes.setdefault(key, _shape(value))

    for n in names:
        hooks.append(modules[n].register_forward_hook(lambda m, i, o, n=n: record(n, o)))
    for n in inputs_of:
        hooks.append(modules[n].register_forward_pre_hook(lambda m, i, n=n: record(f"{n}:in", i)))
    was_training = model.training
    x = _example(model, inputs)
    try:
        model.eval()
        with torch.no_grad():
            model(x)
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return shapes


def fmt(shape: Sequence[int], batch: bool = True) -> str:
    """``(1, 64, 8, 56, 56) -> "64 × 8 × 56 × 56"`` (the batch dropped)."""
    return " × ".join(str(int(v)) for v in (shape[1:] if batch else shape))


# --------------------------------------------------------------------------------------------------------
# drawing: boxes in a grid of columns (x) and rows (y, downwards), arrows between them


_SIDES = {"top": (0, -1), "bottom": (0, 1), "left": (-1, 0), "right": (1, 0)}  # y grows downwards


class _Diagram:
    def __init__(self) -> None:
        self.boxes: Dict[str, Dict[str, Any]] = {}
        self.arrows: List[Dict[str, Any]] = []
        self.notes: List[Dict[str, Any]] = []

    def box(self, key: str, x: float, y: float, text: str, color: str = CONV, width: float = 0.86,
            hover: str = "", height: float = 0.7) -> str:
        self.boxes[key] = dict(x=x, y=y, text=text, color=color, w=width, h=height, hover=hover or text)
        return key

    def arrow(self, a: str, b: str, label: str = "", color: str = "#555", dash: bool = False,
              out: Optional[str] = None, into: Optional[str] = None) -> None:
        """An arrow from box ``a`` to box ``b``; ``dash``: a thin grey one (plotly arrows cannot be dashed).

        It leaves ``a`` by its side ``out`` and enters ``b`` by ``into`` (``"top"``, ``"bottom"``, ``"left"``,
        ``"right"``), or by the side that faces the other box where not given: name the sides for an arrow
        that would otherwise run along a box's edge or through a box in between.
        """
        for side in (out, into):
            if side is not None and side not in _SIDES:
                raise ValueError(f"an arrow leaves or enters a box by one of {sorted(_SIDES)}, got {side!r}")
        self.arrows.append(dict(a=a, b=b, label=label, color="#999" if dash else color, dash=dash, out=out,
                                into=into))

    def note(self, x: float, y: float, text: str, align: str = "left", size: int = 11) -> None:
        self.notes.append(dict(x=x, y=y, text=text, align=align, size=size))

    def _edge(self, box: Dict[str, Any], towards: Dict[str, Any], side: Optional[str] = None) -> Tuple[float, float]:
        if side is not None:  # the middle of that side
            sx, sy = _SIDES[side]
            return box["x"] + sx * box["w"] / 2, box["y"] + sy * box["h"] / 2
        dx, dy = towards["x"] - box["x"], towards["y"] - box["y"]
        if abs(dy) * box["w"] >= abs(dx) * box["h"] * 0.9 or abs(dx) < 1e-9:  # leave by the top or bottom
            return box["x"], box["y"] + (box["h"] / 2) * (1 if dy > 0 else -1)
        return box["x"] + (box["w"] / 2) * (1 if dx > 0 else -1), box["y"]

    def figure(self, title: str, meta: Dict[str, Any], subtitle: str = "", min_span: float = 2.4) -> go.Figure:
        """The figure: axes span the boxes (at least ``min_span`` columns, centred), ``ROW_PX`` px per row."""
        fig = go.Figure()
        bs = list(self.boxes.values())
        left = min(b["x"] - b["w"] / 2 for b in bs) - 0.04
        right = max(b["x"] + b["w"] / 2 for b in bs) + 0.04
        if right - left < min_span:  # a narrow diagram: keep its boxes at their size, centred on the page
            left, right = (left + right - min_span) / 2, (left + right + min_span) / 2
        top_y = min(b["y"] - b["h"] / 2 for b in bs) - 0.08
        bottom_y = max([b["y"] + b["h"] / 2 for b in bs] + [n["y"] + 0.3 for n in self.notes]) + 0.08
        xs, ys, hovers = [], [], []
        for b in self.boxes.values():
            fig.add_shape(type="rect", x0=b["x"] - b["w"] / 2, x1=b["x"] + b["w"] / 2, y0=b["y"] - b["h"] / 2,
                          y1=b["y"] + b["h"] / 2, line=dict(color=b["color"], width=1.5),
                          fillcolor=rgba(b["color"], 0.14), layer="below")
            fig.add_annotation(x=b["x"], y=b["y"], text=b["text"], showarrow=False, font=dict(size=11),
                               align="center")
            xs.append(b["x"])
            ys.append(b["y"])
            hovers.append(b["hover"])
        for a in self.arrows:
            src, dst = self.boxes[a["a"]], self.boxes[a["b"]]
            x0, y0 = self._edge(src, dst, a["out"])
            x1, y1 = self._edge(dst, src, a["into"])
            fig.add_annotation(x=x1, y=y1, ax=x0, ay=y0, xref="x", yref="y", axref="x", ayref="y", text="",
                               showarrow=True, arrowhead=2, arrowsize=1, arrowwidth=1.6 if not a["dash"] else 1.2,
                               arrowcolor=a["color"], standoff=1, startstandoff=1)
            if a["label"]:
                fig.add_annotation(x=(x0 + x1) / 2, y=(y0 + y1) / 2, text=a["label"], showarrow=False,
                                   font=dict(size=10, color=a["color"]), bgcolor="rgba(255,255,255,0.85)")
        for n in self.notes:
            fig.add_annotation(x=n["x"], y=n["y"], text=n["text"], showarrow=False, align=n["align"],
                               xanchor={"left": "left", "right": "right"}.get(n["align"], "center"),
                               font=dict(size=n["size"], color="#444"))
        fig.add_scatter(x=xs, y=ys, mode="markers", marker=dict(size=28, opacity=0), hovertext=hovers,
                        hoverinfo="text", showlegend=False, name="")
        sub = [f"<span style='font-size:12px;color:#555'>{line}</span>" for line in subtitle.split("<br>")
               if subtitle]
        full = "<br>".join([title] + sub)
        top = 60 + 18 * len(sub)
        fig.update_layout(
            title=dict(text=full), height=int(top + 10 + ROW_PX * (bottom_y - top_y)),
            margin=dict(l=10, r=10, t=top, b=10),
            xaxis=dict(range=[left, right], visible=False, fixedrange=True),
            yaxis=dict(range=[bottom_y, top_y], visible=False, fixedrange=True),
            showlegend=False, meta=meta, plot_bgcolor="white",
        )
        return fig


def _label(title: str, shape: Optional[Shape] = None, detail: str = "") -> str:
    text = f"<b>{title}</b>" + (f" · {detail}" if detail else "")
    return text + (f"<br>{fmt(shape)}" if shape is not None else "")


# --------------------------------------------------------------------------------------------------------
# video CNNs as a chain of stages


def _blocks_text(n: int, extra: str = "") -> str:
    return f"{n} block{'s' if n != 1 else ''}" + (f", {extra}" if extra else "")


def default_stages(model: nn.Module) -> List[Tuple[str, str, str]]:
    """``(label, module name, detail)`` of the stages :func:`stage_diagram` draws for a known model class."""
    kind = type(model).__name__
    if kind == "VideoResNet":
        from vidlearn.viz.video_resnet import group_conv_kinds

        kinds = group_conv_kinds(model)
        out = [("conv1 (stem)", "stem", kinds[0])]
        for i in range(1, 5):
            layer = getattr(model, f"layer{i}")
            out.append((f"conv{i + 1}_x", f"layer{i}", _blocks_text(len(layer), kinds[i])))
        return out + [("pool, fc", "fc", "scores")]
    if kind == "ResNet3D":
        out = [("conv1, pool1", "maxpool", f"{model.conv1.kernel_size[0]}×7×7 conv")]
        for s in range(1, 5):
            layer = getattr(model, f"layer{s}")
            inflated = sum(b.conv1.kernel_size[0] > 1 for b in layer)
            nls = sum(b.nl is not None for b in layer)
            extra = ", ".join(t for t in (f"{inflated} with 3×1×1" if inflated else "",
                                          f"{nls} non-local" if nls else "") if t)
            out.append((f"res{s + 1}" + (", pool2" if s == 1 else ""), "pool2" if s == 1 else f"layer{s}",
                        _blocks_text(len(layer), extra)))
        return out + [("pool, fc", "fc", "scores")]
    if kind == "C3D":
        out, convs = [], []
        for name, m in model.features.named_children():
            if isinstance(m, nn.Conv3d):
                convs.append(m)
            elif isinstance(m, nn.MaxPool3d):
                k = m.kernel_size if isinstance(m.kernel_size, tuple) else (m.kernel_size,) * 3
                i = len(out) + 1
                names = "conv1a" if i == 1 else ("conv2a" if i == 2 and len(convs) == 1 else f"conv{i}a-b")
                out.append((f"{names}, pool{i}", f"features.{name}",
                            f"{len(convs)} conv{'s' if len(convs) > 1 else ''} 3×3×3, pool {'×'.join(map(str, k))}"))
                convs = []
        return out + [("fc6", "fc6", "the C3D feature"), ("fc7", "fc7", ""), ("fc8", "fc8", "scores")]
    if kind == "I3D":
        return [("conv1, pool1", "maxpool1", "7×7×7 /2, pool 1×3×3"),
                ("conv2, conv3, pool2", "maxpool2", "1×1×1, 3×3×3"),
                ("inception 3a-3b", "inception3b", "2 blocks"), ("pool3", "maxpool3", "3×3×3 /2"),
                ("inception 4a-4e", "inception4e", "5 blocks"), ("pool4", "maxpool4", "2×2×2 /2"),
                ("inception 5a-5b", "inception5b", "2 blocks"), ("pool, fc", "fc", "scores")]
    children = [(n, m) for n, m in model.named_children() if not isinstance(m, nn.Dropout)]
    return [(n, n, type(m).__name__) for n, m in children]


def stage_diagram(model: nn.Module, inputs: Any = None, stages: Optional[Sequence[Tuple[str, str, str]]] = None,
                  title: Optional[str] = None) -> go.Figure:
    """A video CNN as a column of stages, each with its output ``C × T × H × W`` measured on ``inputs``.

    ``stages``: ``(label, module name, detail)`` rows; by default :func:`default_stages` (C3D, I3D,
    ``VideoResNet``, ``ResNet3D``; otherwise the model's top-level children). ``meta["stages"]`` lists
    ``{"label", "module", "shape"}`` with the batch in the shape.
    """
    stages = list(stages) if stages is not None else default_stages(model)
    x = _example(model, inputs)
    shapes = stage_shapes(model, [m for _, m, _ in stages], x)
    d = _Diagram()
    first = x[0] if isinstance(x, (tuple, list)) else x
    d.box("input", 0, 0, _label("input clip", tuple(first.shape)), INPUT, width=1.0)
    prev, rows = "input", [dict(label="input", module="", shape=list(first.shape))]
    for label, name, detail in stages:
        if name not in shapes:
            continue
        head = name in ("fc", "fc8") or label.startswith("pool, fc")
        key = d.box(name, 0, len(rows), _label(label, shapes[name], detail), HEAD if head else CONV, width=1.0)
        d.arrow(prev, key)
        prev = key
        rows.append(dict(label=label, module=name, shape=list(shapes[name])))
    title = title or f"{type(model).__name__}: the stages and their output shapes"
    return d.figure(title, {"stages": rows}, subtitle="channels × frames × height × width after each stage, "
                                                     "measured by running the model")


# --------------------------------------------------------------------------------------------------------
# DeepVideo, Two-Stream, the conv fusion of the two streams, TSN


def _conv_groups(seq: nn.Module, conv_types=(nn.Conv2d, nn.Conv3d)) -> List[Tuple[str, nn.Module, str]]:
    """Per conv of ``seq``: (prefix-free name of the last module before the next conv, the conv, text)."""
    groups: List[List[Tuple[str, nn.Module]]] = []
    for name, m in seq.named_children():
        if isinstance(m, conv_types) or not groups:
            groups.append([])
        groups[-1].append((name, m))
    out = []
    for g in groups:
        conv = g[0][1]
        k = conv.kernel_size
        extra = "+pool" if any(isinstance(m, (nn.MaxPool2d, nn.MaxPool3d, nn.AvgPool2d,
                                               nn.AdaptiveMaxPool3d, nn.AdaptiveAvgPool2d,
                                               nn.AdaptiveMaxPool2d)) for _, m in g) else ""
        out.append((g[-1][0], conv, "×".join(map(str, k)) + (" " + extra if extra else ""), [n for n, _ in g]))
    return out


def deepvideo_diagram(models: Mapping[str, nn.Module], title: str = "DeepVideo: where the frames meet") -> go.Figure:
    """One column per variant (single frame, late, early, slow fusion): conv1..conv5, fc, scores.

    Each box gives the layer's output; a per-frame layer shows ``C × H × W`` for each of its ``T`` inputs,
    a 3D one ``C × T' × H × W``. The orange box is where several frames first meet, as
    :func:`vidlearn.models.deepvideo.fusion_point` reads it from the layers' temporal kernels.
    ``meta["variants"][name]`` has ``fusion`` (module name or None) and ``shapes``.
    """
    from vidlearn.models.deepvideo import fusion_point

    d, meta = _Diagram(), {}
    rows = 0
    for c, (name, model) in enumerate(models.items()):
        tower = getattr(model, "tower", None) or model.fovea
        groups = _conv_groups(tower.features)
        head = [n for n, m in model.head.named_children() if isinstance(m, nn.Linear)]
        names = [f"tower.features.{g}" if hasattr(model, "tower") else f"fovea.features.{g}" for g, *_ in groups]
        names += [f"head.{head[0]}", f"head.{head[-1]}"]
        x = _example(model)
        shapes = stage_shapes(model, names, x)
        fusion = fusion_point(model)
        prefix = "tower" if hasattr(model, "tower") else "fovea"
        row_of = {f"{prefix}.features.{n}": i + 1 for i, (_, _, _, members) in enumerate(groups)
                  for n in members}
        row_of.update({f"head.{n}": len(groups) + 1 for n, _ in model.head.named_children()})
        row_of[f"head.{head[-1]}"] = len(groups) + 2
        fused_row = row_of.get(fusion) if fusion is not None else None
        per_frame = not isinstance(groups[0][1], nn.Conv3d)
        t_in = frames_in = model.temporal_input[0]
        d.box(f"{c}in", c, 0, _label(name, None) + f"<br>{frames_in} frame{'s' if frames_in > 1 else ''}"
              f" of {x.shape[1]} × {x.shape[3]} × {x.shape[4]}", INPUT)
        prev = f"{c}in"
        labels = [f"conv{i + 1} {txt}" for i, (_, _, txt, _) in enumerate(groups)] + ["fc6", "scores"]
        for r, (label, mod) in enumerate(zip(labels, names), start=1):
            shp = shapes[mod]
            if per_frame and r <= len(groups):
                body = f"{t_in}× {fmt(shp)}"
            elif r > len(groups):
                body = f"{shp[-1]}" + (f" per frame, × {t_in}" if per_frame else "")
            else:
                body = fmt(shp)
            color = FUSE if r == fused_row else (HEAD if r > len(groups) else CONV)
            extra = "<br><i>frames meet here</i>" if r == fused_row else ""
            key = d.box(f"{c}{r}", c, r, f"<b>{label}</b><br>{body}{extra}", color,
                        height=0.9 if extra else 0.7)  # three lines of text
            d.arrow(prev, key)
            prev = key
        if fusion is None:  # time meets only when the per-frame scores are averaged
            r = len(labels) + 1
            d.box(f"{c}avg", c, r, "<b>average over frames</b><br>frames meet here", FUSE)
            d.arrow(prev, f"{c}avg")
            fused_row = r
        rows = max(rows, len(labels) + 2)
        meta[name] = {"fusion": fusion, "fusion_row": fused_row, "shapes": {k: list(v) for k, v in shapes.items()}}
    return d.figure(title, {"variants": meta},
                    subtitle="orange: the first layer that combines several frames; "
                             "per-frame layers show T× C × H × W")


def _stream_column(d: _Diagram, model: nn.Module, col: float, prefix: str, net: nn.Module,
                   shapes: Dict[str, Shape], title: str, input_text: str, key: str) -> str:
    groups = _conv_groups(net.convs)
    d.box(f"{key}in", col, 0, f"<b>{title}</b><br>{input_text}", INPUT)
    prev = f"{key}in"
    for i, (g, _, txt, _) in enumerate(groups, start=1):
        d.box(f"{key}{i}", col, i, f"<b>conv{i}</b> {txt}<br>{fmt(shapes[f'{prefix}.convs.{g}'])}")
        d.arrow(prev, f"{key}{i}")
        prev = f"{key}{i}"
    fcs = [n for n, m in net.fcs.named_children() if isinstance(m, nn.Linear)]
    for j, n in enumerate(fcs):
        r = len(groups) + 1 + j
        d.box(f"{key}f{j}", col, r, f"<b>full{6 + j}</b><br>{fmt(shapes[f'{prefix}.fcs.{n}'])}", CONV)
        d.arrow(prev, f"{key}f{j}")
        prev = f"{key}f{j}"
    r = len(groups) + 1 + len(fcs)
    d.box(f"{key}s", col, r, f"<b>class scores</b><br>{fmt(shapes[f'{prefix}.classifier'])}", HEAD)
    d.arrow(prev, f"{key}s")
    return f"{key}s"


def _cnnm_names(prefix: str, net: nn.Module) -> List[str]:
    names = [f"{prefix}.convs.{g}" for g, *_ in _conv_groups(net.convs)]
    names += [f"{prefix}.fcs.{n}" for n, m in net.fcs.named_children() if isinstance(m, nn.Linear)]
    return names + [f"{prefix}.classifier"]


def two_stream_diagram(model: nn.Module, inputs: Any = None,
                       title: str = "Two-Stream: two CNNs, fused only at the class scores") -> go.Figure:
    """The spatial stream (one RGB frame) and the temporal stream (L stacked flow fields, 2L channels), layer
    by layer with their output shapes, and the late fusion of their softmax scores (average or linear)."""
    x = _example(model, inputs)
    names = _cnnm_names("spatial.net", model.spatial.net) + _cnnm_names("temporal.net", model.temporal.net)
    shapes = stage_shapes(model, names, x, inputs_of=["spatial.net", "temporal.net"])
    rgb_in, flow_in = shapes["spatial.net:in"], shapes["temporal.net:in"]
    L = model.cfg.flow_frames
    d = _Diagram()
    a = _stream_column(d, model, 0, "spatial.net", model.spatial.net, shapes, "spatial stream: RGB frame",
                       f"{fmt(rgb_in)}", "s")
    b = _stream_column(d, model, 1.6, "temporal.net", model.temporal.net, shapes,
                       "temporal stream: stacked flow", f"{L} fields × (x, y) = {fmt(flow_in)}", "t")
    r = d.boxes[a]["y"] + 1
    how = "average of the softmax scores" if model.fuse is None else "linear layer on both softmax scores"
    d.box("fuse", 0.8, r, f"<b>late fusion</b><br>{how}", FUSE, width=1.3)
    d.arrow(a, "fuse")
    d.arrow(b, "fuse")
    meta = {"rgb_input": list(rgb_in), "flow_input": list(flow_in), "fusion": "average" if model.fuse is None
            else "linear", "shapes": {k: list(v) for k, v in shapes.items()}}
    return d.figure(title, meta, subtitle="the streams share no layer: they meet only at the scores")


def fusion_diagram(model: nn.Module, inputs: Any = None,
                   title: str = "Convolutional fusion: where the streams merge") -> go.Figure:
    """``FusionTwoStream``: the RGB and flow towers up to ``fuse_at``, the fusion, the fused tower and its 3D
    head, and the branches that keep a stream of their own (the final model's temporal branch; the spatial
    one of ``"+fc8"``), each with its loss; shapes per frame ``C × H × W`` (the ``T`` positions in the batch)
    until a 3D conv or pool merges time, then ``C × T × H × W``. ``meta`` has ``fuse_at``, ``fusion`` and
    ``branches`` (the losses drawn)."""
    cfg, k = model.cfg, model.fuse_index
    names = [f"spatial.{i}" for i in range(len(model.spatial))] + [f"temporal.{i}" for i in range(len(model.temporal))]
    late = model.fuse is None  # fuse_at="fc8": late fusion, no feature map is fused
    names += ([] if late else ["fuse"]) + [f"fused_stages.{i}" for i in range(len(model.fused_stages))]
    heads = {"head": model.head, "temporal_head": model.temporal_head, "spatial_head": model.spatial_head}
    for h, m in heads.items():
        if m is not None and hasattr(m, "pool"):
            names += ([f"{h}.conv3d"] if m.conv3d is not None else []) + [f"{h}.pool"]
    for rest in ("temporal_rest", "spatial_rest"):
        if getattr(model, rest) is not None:
            names += [f"{rest}.{i}" for i in range(len(getattr(model, rest)))]
    x = _example(model, inputs)
    shapes = stage_shapes(model, names, x)
    d = _Diagram()
    d.box("rgb", 0, 0, f"<b>RGB frame</b> (× {cfg.frames} positions)<br>3 × {x[0].shape[3]} × {x[0].shape[4]}",
          INPUT)
    d.box("flow", 2, 0, f"<b>{cfg.flow_frames} flow fields</b> (× {cfg.frames})<br>{2 * cfg.flow_frames} × "
          f"{x[1].shape[3]} × {x[1].shape[4]}", INPUT)
    pa, pb = "rgb", "flow"
    for i in range(k + 1):
        d.box(f"s{i}", 0, i + 1, f"<b>conv{i + 1}</b><br>{fmt(shapes[f'spatial.{i}'])}")
        d.box(f"t{i}", 2, i + 1, f"<b>conv{i + 1}</b><br>{fmt(shapes[f'temporal.{i}'])}")
        d.arrow(pa, f"s{i}")
        d.arrow(pb, f"t{i}")
        pa, pb = f"s{i}", f"t{i}"
    r = k + 2
    in_3d = not late and model.fuse.mode != cfg.fusion  # the final model: conv fusion's conv is the 3D conv
    if not late:
        how = f"<b>stack</b> ({model.fuse.mode})" if in_3d else f"<b>{cfg.fusion} fusion</b>"
        d.box("fuse", 1, r, f"{how} after conv{k + 1}<br>{fmt(shapes['fuse'])}", FUSE)
        d.arrow(pa, "fuse")
        d.arrow(pb, "fuse")
    ends = []

    pool_rows: List[int] = []

    def branch(col: float, start: str, row: int, rest: Optional[str], head: str, loss: str) -> int:
        prev = start
        if rest is not None:
            for j in range(len(getattr(model, rest))):
                row += 1
                d.box(f"{rest}{j}", col, row, f"<b>conv{k + 2 + j}</b><br>{fmt(shapes[f'{rest}.{j}'])}")
                d.arrow(prev, f"{rest}{j}")
                prev = f"{rest}{j}"
        if f"{head}.conv3d" in shapes:
            row += 1
            what = " = conv fusion" if in_3d and head == "head" else ""
            d.box(f"{head}c", col, row, f"<b>3D conv 3×3×3</b>{what}<br>{fmt(shapes[f'{head}.conv3d'])}", FUSE)
            d.arrow(prev, f"{head}c")
            prev = f"{head}c"
        if f"{head}.pool" in shapes:
            row = max([row + 1] + pool_rows)  # the branches' pools side by side
            pool_rows.append(row)
            kt = heads[head].pool.kernel_size[0]
            d.box(f"{head}p", col, row, f"<b>{'3D' if kt > 1 else '2D'} pool</b><br>{fmt(shapes[f'{head}.pool'])}",
                  FUSE if kt > 1 else CONV)
            d.arrow(prev, f"{head}p")
            prev = f"{head}p"
        row += 1
        d.box(f"{head}l", col, row, f"<b>fc6-fc8</b><br>{loss} loss", HEAD)
        d.arrow(prev, f"{head}l")
        ends.append(f"{head}l")
        return row

    rows = [] if late else [branch(1, "fuse", r, "fused_stages" if len(model.fused_stages) else None, "head",
                                   "spatiotemporal")]
    if model.temporal_head is not None:
        rows.append(branch(2, pb, k + 1, "temporal_rest", "temporal_head", "temporal"))
    if model.spatial_head is not None:
        rows.append(branch(0, pa, k + 1, "spatial_rest", "spatial_head", "spatial"))
    if len(ends) > 1:
        d.box("avg", 1, max(rows) + 1, "<b>prediction</b><br>average of the branches' softmax", HEAD)
        for e in ends:
            d.arrow(e, "avg")
    return d.figure(title, {"fuse_at": "fc8" if late else f"conv{k + 1}", "fusion": "late" if late else cfg.fusion,
                            "branches": [e[:-1] for e in ends], "shapes": {n: list(v) for n, v in shapes.items()}},
                    subtitle="per-frame maps C × H × W until a 3D conv/pool, then C × T × H × W")


def tsn_diagram(model: nn.Module, inputs: Any = None, max_segments: int = 5,
                title: str = "TSN: one snippet per segment, one shared ConvNet, a consensus") -> go.Figure:
    """``TSN`` or ``TSNTwoStream``: per segment a snippet (one RGB frame or L stacked flow fields) through the
    same ConvNet to class scores, the segmental consensus over the K segments, and the two modalities'
    weighted average. ``meta`` has the snippet shape, K and the consensus of each modality."""
    nets = [("rgb", model.rgb), ("flow", model.flow)] if hasattr(model, "rgb") else [(model.cfg.modality, model)]
    x = _example(model, inputs)
    d, meta, col = _Diagram(), {}, 0.0
    ends = []
    for (modality, net), xi in zip(nets, x if len(nets) == 2 else [x]):
        shapes = stage_shapes(net, ["backbone", "fc"], xi, inputs_of=["backbone"])
        snippet, k = shapes["backbone:in"], shapes["backbone:in"][0]
        shown = min(k, max_segments)
        L = net.snippet_len
        what = "1 frame" if modality == "rgb" else f"{L} flow fields"
        for s in range(shown):
            c = col + s
            d.box(f"{modality}in{s}", c, -0.05, f"<b>segment {s + 1}</b><br>{what}<br>{fmt(snippet)}", INPUT,
                  height=0.9)  # three lines of text
            d.box(f"{modality}net{s}", c, 1.1, f"<b>ConvNet</b> (shared)<br>{shapes['backbone'][1]} features",
                  CONV)
            d.box(f"{modality}fc{s}", c, 2.1, f"<b>scores</b><br>{shapes['fc'][1]} classes", HEAD)
            d.arrow(f"{modality}in{s}", f"{modality}net{s}")
            d.arrow(f"{modality}net{s}", f"{modality}fc{s}")
        mid = col + (shown - 1) / 2
        d.box(f"{modality}cons", mid, 3.4, f"<b>segmental consensus</b> ({net.consensus.mode})<br>over K = {k} "
              f"segments → {shapes['fc'][1]} classes", FUSE, width=max(1.8, shown - 0.2))
        for s in range(shown):
            d.arrow(f"{modality}fc{s}", f"{modality}cons")
        ends.append((f"{modality}cons", mid))
        meta[modality] = {"snippet": list(snippet), "segments": k, "consensus": net.consensus.mode,
                          "features": shapes["backbone"][1]}
        col += shown + 0.3
    if len(nets) == 2:
        w = model.fusion_weights.tolist() if model.fusion_weights.device.type != "meta" else None
        ratio = f"<br>RGB : flow = 1 : {w[1] / w[0]:.3g}" if w else ""
        d.box("fuse", (ends[0][1] + ends[1][1]) / 2, 4.8, f"<b>weighted average of the softmax scores</b>{ratio}",
              FUSE, width=3.0)
        d.arrow(ends[0][0], "fuse")
        d.arrow(ends[1][0], "fuse")
        meta["fusion_weights"] = w
    return d.figure(title, meta,
                    subtitle="the K snippets are drawn from K equal segments of the whole video")


# --------------------------------------------------------------------------------------------------------
# R(2+1)D's block, non-local positions, SlowFast's laterals


def r2plus1d_block_diagram(model: nn.Module, stage: int = 2, inputs: Any = None) -> go.Figure:
    """The first residual block of ``layer{stage}`` of an R(2+1)D ``VideoResNet``: each (2+1)D conv is a
    ``1×3×3`` spatial conv to ``M_i`` channels, BN, ReLU, then a ``3×1×1`` temporal conv; the shortcut joins
    at the sum. Shapes are measured; the note compares the parameters with the ``3×3×3`` conv replaced.
    ``meta`` has ``mid_channels`` (M_i of conv1 and conv2) and the shapes."""
    from vidlearn.layers.conv_builders import Conv2Plus1D

    block = getattr(model, f"layer{stage}")[0]
    if not isinstance(block.conv1[0], Conv2Plus1D):
        raise ValueError(f"layer{stage} of this model has no (2+1)D conv (its conv is "
                         f"{type(block.conv1[0]).__name__}); build an r2plus1d_* model")
    p = f"layer{stage}.0"
    names = [f"{p}.conv1.0.0", f"{p}.conv1.0.3", f"{p}.conv1", f"{p}.conv2.0.0", f"{p}.conv2.0.3", p]
    if block.downsample is not None:
        names.append(f"{p}.downsample")
    shapes = stage_shapes(model, names, inputs, inputs_of=[p])
    d = _Diagram()
    c1, c2 = block.conv1[0], block.conv2[0]
    d.box("in", 0, 0, _label(f"input of conv{stage + 1}_x", shapes[f"{p}:in"]), INPUT)
    steps = [("s1", f"{p}.conv1.0.0", c1[0], "spatial", FUSE), ("t1", f"{p}.conv1.0.3", c1[3], "temporal", CONV),
             ("s2", f"{p}.conv2.0.0", c2[0], "spatial", FUSE), ("t2", f"{p}.conv2.0.3", c2[3], "temporal", CONV)]
    prev = "in"
    for r, (key, name, conv, what, color) in enumerate(steps, start=1):
        k, s = "×".join(map(str, conv.kernel_size)), conv.stride
        stride = f", stride {'×'.join(map(str, s))}" if any(v > 1 for v in s) else ""
        after = " → BN, ReLU" if what == "spatial" or key == "t1" else " → BN"
        mid = f" (M_i = {conv.out_channels})" if what == "spatial" else ""
        d.box(key, 0, r, f"<b>{what} {k}</b>{stride}{after}<br>{fmt(shapes[name])}{mid}", color)
        d.arrow(prev, key)
        prev = key
    d.box("sum", 0, 5, "<b>+ shortcut, ReLU</b><br>" + fmt(shapes[p]), HEAD)
    d.arrow(prev, "sum")
    sc = "1×1×1 conv, stride 2" if block.downsample is not None else "identity"
    d.box("short", 1.05, 2.5, f"<b>shortcut</b><br>{sc}", INPUT, width=0.7)
    d.arrow("in", "short", dash=True, out="right", into="top")  # clear of the branch's boxes
    d.arrow("short", "sum", dash=True, out="bottom", into="right")
    n_in, n_out, m = c1[0].in_channels, c1[3].out_channels, c1[0].out_channels
    p21 = c1[0].weight.numel() + c1[3].weight.numel()
    p3 = 27 * n_in * n_out
    d.note(0.6, 5.95, f"conv1: a 3×3×3 conv {n_in} → {n_out} would have {p3:,} weights;<br>"
           f"its (2+1)D pair has {p21:,} (M_i = {m} chosen to match)", align="center", size=11)
    return d.figure(f"R(2+1)D: the residual block of conv{stage + 1}_x, space then time",
                    {"mid_channels": [m, c2[0].out_channels], "params_2plus1d": p21, "params_3d": p3,
                     "shapes": {n: list(v) for n, v in shapes.items()}},
                    subtitle="orange: spatial 1×3×3 to M_i channels; blue: temporal 3×1×1")


def nonlocal_diagram(model: nn.Module, inputs: Any = None) -> go.Figure:
    """A ``ResNet3D``: one column per stage (res2..res5) with one box per residual block; a block followed by
    a non-local block carries an orange NL badge giving the positions it relates (``T·H·W``). The blocks
    with a 3×1×1 first conv (I3D's inflation) are marked. ``meta["nonlocal_positions"]`` per stage."""
    names = ["maxpool", "pool2", "layer1", "layer2", "layer3", "layer4", "fc"]
    nl_names = [f"layer{s}.{i}.nl" for s in range(1, 5) for i, b in enumerate(getattr(model, f"layer{s}"))
                if b.nl is not None]
    shapes = stage_shapes(model, names, inputs, inputs_of=nl_names)
    d = _Diagram()
    stem = shapes["maxpool"]
    d.box("stem", 0, 0.5, f"<b>conv1, pool1</b><br>{stem[1]} ch<br>{fmt(stem[2:], batch=False)}", INPUT, height=1.2)
    positions, rows = [], 0
    for s in range(1, 5):
        layer = getattr(model, f"layer{s}")
        out = shapes["pool2" if s == 1 else f"layer{s}"]
        d.box(f"h{s}", s, 0.5, f"<b>res{s + 1}</b>" + (" + pool2" if s == 1 else "") + f"<br>{out[1]} ch<br>"
              f"{fmt(out[2:], batch=False)}", CONV, height=1.2)
        pos = []
        for i, b in enumerate(layer):
            t = b.conv1.kernel_size[0]
            text = f"block {i + 1}"
            d.box(f"b{s}.{i}", s - 0.14, 1.6 + i * 0.8, text, SHIFT if t > 1 else CONV, width=0.56, height=0.6,
                  hover=f"res{s + 1} block {i + 1}: first conv {t}×1×1")
            if b.nl is not None:
                shp = shapes[f"layer{s}.{i}.nl:in"]
                n = shp[2] * shp[3] * shp[4]
                d.box(f"nl{s}.{i}", s + 0.3, 1.6 + i * 0.8, f"<b>NL</b><br>{n}", NL, width=0.3, height=0.6,
                      hover=f"non-local block after block {i + 1}: every one of the {shp[2]}×{shp[3]}×{shp[4]} = "
                            f"{n} positions attends to all")
                pos.append(i)
        positions.append(tuple(pos))
        rows = max(rows, 1.6 + len(layer) * 0.8)
        if s > 1:
            d.arrow(f"h{s - 1}", f"h{s}")
    d.arrow("stem", "h1")
    d.box("fc", 5, 0.5, _label("pool, fc", shapes["fc"]), HEAD, height=1.2)
    d.arrow("h4", "fc")
    total = sum(len(p) for p in positions)
    return d.figure(f"{type(model).__name__}: where the {total} non-local block{'s' if total != 1 else ''} sit",
                    {"nonlocal_positions": [list(p) for p in positions],
                                    "shapes": {n: list(v) for n, v in shapes.items()}},
                    subtitle="orange NL: a non-local block after that residual block, with the T·H·W positions it "
                             "relates<br>green: a block whose first conv is 3×1×1 (inflated); blue: 1×1×1")


def slowfast_diagram(model: nn.Module, inputs: Any = None) -> go.Figure:
    """Slow (left) and Fast (right) pathways stage by stage with their shapes, and the lateral connections
    (after pool1, res2, res3, res4) with the shape each adds to the Slow pathway. ``meta`` has ``slow``,
    ``fast`` (per stage) and ``laterals`` shapes, batch included."""
    cfg, n = model.cfg, len(model.cfg.depths)
    names, ins = [], []
    for side in ("slow", "fast"):
        if getattr(model, side) is not None:
            names += [f"{side}.stem"] + [f"{side}.stages.{i}" for i in range(n)]
    names += [f"laterals.{i}" for i in range(len(model.laterals))]
    if model.slow is not None:
        ins = [f"slow.stages.{i}" for i in range(n)]
    x = _example(model, inputs)
    shapes = stage_shapes(model, names, x, inputs_of=ins)
    d = _Diagram()
    stage_names = ["pool1"] + [f"res{i + 2}" for i in range(n)]
    cols = {"slow": 0, "fast": 2} if model.slow is not None and model.fast is not None else {
        "slow" if model.slow is not None else "fast": 0}
    xs = x if isinstance(x, (list, tuple)) else [x]
    for side, c in cols.items():
        xin = xs[0] if side == "slow" or len(xs) == 1 else xs[1]
        frames = "one frame in τ" if side == "slow" else "one frame in τ/α"
        d.box(f"{side}in", c, 0, f"<b>{side.capitalize()} input</b> ({frames})<br>{fmt(tuple(xin.shape))}", INPUT)
        prev = f"{side}in"
        for r, st in enumerate(stage_names, start=1):
            mod = f"{side}.stem" if r == 1 else f"{side}.stages.{r - 2}"
            extra = ""
            if side == "slow" and r > 1 and f"{mod}:in" in shapes and len(model.laterals):
                extra = f" (in: {shapes[f'{mod}:in'][1]} ch)"
            color = SLOW_C if side == "slow" else FAST_C
            d.box(f"{side}{r}", c, 1.5 * r - 0.5, f"<b>{side.capitalize()} {st}</b>{extra}<br>{fmt(shapes[mod])}",
                  color)
            d.arrow(prev, f"{side}{r}")
            prev = f"{side}{r}"
    lat = []
    for i, m in enumerate(model.laterals):
        shp = shapes[f"laterals.{i}"]
        how = {"conv": f"conv {m.conv[0].kernel_size[0]}×1×1, stride {m.alpha}", "sample": f"every {m.alpha}th frame",
               "ttoc": "time → channels"}[m.kind]
        key = d.box(f"lat{i}", 1, 1.5 * (i + 1) + 0.25, f"<b>lateral</b> {how} → concat<br>{fmt(shp)}", FUSE,
                    width=0.95)
        d.arrow(f"fast{i + 1}", key, out="left", into="right")  # side to side, not along the box's top
        d.arrow(key, f"slow{i + 2}", out="left", into="right")
        lat.append(list(shp))
    rows = 1.5 * len(stage_names) + 0.5
    pool = "global pool each, concat, fc" if len(cols) > 1 else "global pool, fc"
    d.box("head", (len(cols) - 1), rows, f"<b>{pool}</b><br>"
          f"{model.out_dim} features → {cfg.num_classes} classes", HEAD, width=1.6 if len(cols) > 1 else 0.86)
    for side in cols:
        d.arrow(f"{side}{len(stage_names)}", "head")
    meta = {s: [list(shapes[f"{s}.stem"])] + [list(shapes[f"{s}.stages.{i}"]) for i in range(n)] for s in cols}
    meta["laterals"] = lat
    sub = (f"α = {cfg.alpha}: Fast has α× the frames; β = 1/{cfg.beta_inv} of the channels; "
           "shapes C × T × H × W")
    title = ("SlowFast: two pathways and the lateral connections" if len(cols) > 1 else
             f"SlowFast's {next(iter(cols)).capitalize()} pathway alone")
    return d.figure(title, meta, subtitle=sub)



# --------------------------------------------------------------------------------------------------------
# TSM, TimeSformer, ViViT


def tsm_diagram(model: nn.Module, inputs: Any = None, stage: int = 1) -> go.Figure:
    """TSM. Left: the 2D network on the ``B·T`` frames (stem, res2..res5, per-frame scores, mean over T)
    with each stage's per-frame shape and how many of its blocks shift. Right: the first block of
    ``layer{stage}``, drawn in the order its modules run: the shift sits on the residual branch before
    ``conv1`` (``placement="residual"``) or before the whole block (``"inplace"``), the identity path unshifted.
    ``meta`` has ``placement``, ``branch`` (module names in order) and ``shifted_blocks`` per stage."""
    from vidlearn.layers.temporal_shift import TemporalShift

    net = model.backbone
    names = ["backbone.conv1"] + [f"backbone.layer{i}" for i in range(1, 5)] + ["fc"]
    x = _example(model, inputs)
    first = getattr(net, f"layer{stage}")[0]
    inplace = isinstance(first, nn.Sequential) and isinstance(first[0], TemporalShift)
    block = first[1] if inplace else first
    bp = f"backbone.layer{stage}.0" + (".1" if inplace else "")
    convs = [(n, m) for n, m in block.named_children() if n.startswith("conv")]
    conv_mods = []
    for n, m in convs:
        conv_mods.append(f"{bp}.{n}.1" if isinstance(m, nn.Sequential) else f"{bp}.{n}")
    shapes = stage_shapes(model, names + conv_mods, x, inputs_of=[f"backbone.layer{stage}.0"])
    d = _Diagram()
    t = model.cfg.frames
    d.box("in", 0, 0, f"<b>clip</b> → {t} frames in the batch<br>{fmt(tuple(x.shape))}", INPUT)
    d.box("stem", 0, 1, _label("stem", shapes["backbone.conv1"]) + " per frame")
    d.arrow("in", "stem")
    prev, shifted = "stem", []
    for i in range(1, 5):
        layer = getattr(net, f"layer{i}")
        k = sum(isinstance(b, nn.Sequential) or any(isinstance(m, TemporalShift) for m in b.modules())
                for b in layer)
        shifted.append(k)
        d.box(f"l{i}", 0, i + 1, f"<b>res{i + 1}</b> · {k} of {len(layer)} blocks shifted<br>"
              f"{fmt(shapes[f'backbone.layer{i}'])} per frame", SHIFT if i == stage else CONV)
        d.arrow(prev, f"l{i}")
        prev = f"l{i}"
    d.box("fc", 0, 6, f"<b>fc per frame, mean over T</b><br>{shapes['fc'][-1]} classes", HEAD)
    d.arrow(prev, "fc")
    # the block, as its modules run
    fold = model.cfg.fold_div
    shift_text = (f"<b>temporal shift</b><br>1/{fold} ch. from t+1, 1/{fold} from t−1" if
                  model.cfg.direction == "bidirectional" else f"<b>temporal shift</b><br>1/{fold} ch. from t−1")
    xin = shapes[f"backbone.layer{stage}.0:in"]
    d.box("bin", 2, 0, _label(f"res{stage + 1} block input", xin), INPUT, width=1.2)
    branch, r = [], 1.0
    top = "bin"
    if inplace:
        d.box("shift", 2, 1, shift_text, SHIFT, width=1.2)
        d.arrow("bin", "shift")
        top, r, branch = "shift", 2.0, ["shift"]
    prev = top
    for (n, m), mod in zip(convs, conv_mods):
        if isinstance(m, nn.Sequential) and isinstance(m[0], TemporalShift):
            d.box("shift", 1.6, r, shift_text, SHIFT, width=1.0)
            d.arrow(prev, "shift")
            prev, r = "shift", r + 1
            branch.append("shift")
        conv = m[1] if isinstance(m, nn.Sequential) else m
        k = "×".join(map(str, conv.kernel_size))
        d.box(n, 1.6, r, f"<b>{n}</b> {k}, BN, ReLU<br>{fmt(shapes[mod])}", CONV, width=1.0)
        d.arrow(prev, n)
        prev, r = n, r + 1
        branch.append(n)
    d.box("sum", 2, r, "<b>+</b> (then ReLU)", HEAD, width=0.5)
    d.arrow(prev, "sum")
    ident = "identity (unshifted)" if block.downsample is None else "1×1 conv (unshifted)"
    d.box("id", 2.75, (1 + r) / 2 + (0.5 if inplace else 0), f"<b>shortcut</b><br>{ident}", INPUT, width=0.62)
    d.arrow(top, "id", dash=True)
    d.arrow("id", "sum", dash=True)
    placement = "inplace" if inplace else "residual"
    return d.figure(f"TSM: the shift sits {'before the whole block' if inplace else 'on the residual branch'}",
                    {"placement": placement, "branch": branch, "shifted_blocks": shifted,
                                         "shapes": {n: list(v) for n, v in shapes.items()}},
                    subtitle=f"left: the 2D network on every frame; right: the first block of res{stage + 1} (green), "
                             "in the order it runs")


STEP_TEXT = {"time": "time: each position over its T frames", "space": "space: each frame over its patches",
             "space_time": "joint: all patches of all frames", "width": "width: along each row",
             "height": "height: along each column", "local": "local: a window around the patch",
             "global": "global: a sparse grid of patches"}


def _attention_inputs(model: nn.Module, block: nn.Module, x: Any) -> List[Shape]:
    """Input shapes of every ``Attention`` inside ``block``, in call order, for one forward of ``model``."""
    from vidlearn.layers.attention import Attention

    seen: List[Shape] = []
    hooks = [m.register_forward_pre_hook(lambda m, i: seen.append(_shape(i))) for m in block.modules()
             if isinstance(m, Attention)]
    was = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(x)
    finally:
        for h in hooks:
            h.remove()
        model.train(was)
    return seen


def _groups(g: Shape) -> str:
    return f"{g[0]} group{'s' if g[0] != 1 else ''} of {g[1]} tokens × {g[2]}"


def _steps_column(d: _Diagram, col: float, r: float, steps: Sequence[str], groups: Sequence[Shape],
                  dim: int, hidden: int, prev: str, key: str,
                  texts: Mapping[str, str] = STEP_TEXT) -> Tuple[str, float]:
    for s, g in zip(steps, groups):
        d.box(f"{key}{s}", col, r, f"<b>LN → {texts.get(s, s)}</b> · + residual<br>{_groups(g)}", ATTN,
              width=1.9)
        d.arrow(prev, f"{key}{s}")
        prev, r = f"{key}{s}", r + 1
    d.box(f"{key}mlp", col, r, f"<b>LN → MLP</b> {dim} → {hidden} → {dim} · + residual<br>every token", MLP,
          width=1.9)
    d.arrow(prev, f"{key}mlp")
    return f"{key}mlp", r + 1


def timesformer_block_diagram(model: nn.Module, inputs: Any = None, block: int = 0) -> go.Figure:
    """A TimeSformer and one of its blocks: the scheme's attention steps in order (divided: time, then space,
    then the MLP), each with the token groups it attends within, ``groups × tokens × D``, measured by hooks on
    the attention layers. ``meta`` has ``steps``, ``groups`` and ``tokens`` (``1 + T·N``, D)."""
    blk = model.blocks[block]
    x = _example(model, inputs)
    shapes = stage_shapes(model, ["patch_embed", "head"], x)
    groups = _attention_inputs(model, blk, x)
    steps = list(blk.steps)
    cfg = model.cfg
    t, hh, ww = x.shape[2], x.shape[3] // cfg.patch_size, x.shape[4] // cfg.patch_size
    d = _Diagram()
    d.box("in", 0, 0, _label("clip", tuple(x.shape)), INPUT, width=1.2)
    n = shapes["patch_embed"][1]
    d.box("emb", 0, 1, f"<b>patches {cfg.patch_size}×{cfg.patch_size}</b> + space & time embedding, [cls]<br>"
          f"{n} = {t}·{hh}·{ww} patch tokens (+1) × {cfg.embed_dim}", INPUT, width=1.9)
    d.arrow("in", "emb")
    last, r = _steps_column(d, 0, 2, steps, groups, cfg.embed_dim, blk.mlp.fc1.out_features, "emb", "b")
    d.box("head", 0, r, f"<b>× {len(model.blocks)} blocks → LN → [cls] → head</b><br>"
          f"{shapes['head'][-1]} classes", HEAD, width=1.9)
    d.arrow(last, "head")
    return d.figure(f"TimeSformer ({cfg.attention}): block {block + 1} of {len(model.blocks)}, step by step",
                    {"steps": steps, "groups": [list(g) for g in groups], "tokens": [n + 1, cfg.embed_dim]},
                    subtitle="groups × tokens × D: a token attends only within its group")


def vivit_diagram(model: nn.Module, inputs: Any = None) -> go.Figure:
    """ViViT, any of its four models: tubelet embedding, then the encoder(s) with the attention of their
    first block measured by hooks (groups × tokens × D): Model 1 joint, Model 2 a spatial encoder per time
    index then a temporal encoder, Model 3 space and time steps inside each block, Model 4 one attention
    whose heads are split. ``meta`` has ``variant``, ``tokens`` and per encoder its ``groups``."""
    cfg = model.cfg
    x = _example(model, inputs)
    shapes = stage_shapes(model, ["patch_embed", "head"], x)
    tokens = shapes["patch_embed"]
    nt, nh, nw = x.shape[2] // cfg.tubelet_size[0], x.shape[3] // cfg.tubelet_size[1], x.shape[4] // cfg.tubelet_size[2]
    d = _Diagram()
    d.box("in", 0, 0, _label("clip", tuple(x.shape)), INPUT, width=1.2)
    tub = "×".join(map(str, cfg.tubelet_size))
    d.box("emb", 0, 1, f"<b>tubelets {tub}</b> → linear embedding + position<br>{tokens[1]} = {nt}·{nh}·{nw} "
          f"tokens × {tokens[2]}", INPUT, width=1.9)
    d.arrow("in", "emb")
    prev, r, meta = "emb", 2, {"variant": cfg.variant, "tokens": list(tokens[1:]), "encoders": {}}
    encoders = [("spatial", model.spatial), ("temporal", model.temporal)] if hasattr(model, "spatial") else [
        ("encoder", model.encoder)]
    hidden = int(cfg.embed_dim * cfg.mlp_ratio)
    for name, enc in encoders:
        blk = enc.blocks[0]
        groups = _attention_inputs(model, blk, x)
        meta["encoders"][name] = {"depth": len(enc.blocks), "groups": [list(g) for g in groups]}
        if hasattr(blk, "steps"):  # Model 3
            texts = {"space": "space: within each time index", "time": "time: each position over the n_t indices"}
            prev, r = _steps_column(d, 0, r, list(blk.steps), groups, cfg.embed_dim, hidden, prev, name, texts)
        else:
            what = {"spatial": "space: each time index's tokens", "temporal": "time: the n_t frame tokens",
                    "encoder": "joint: all tokens" if cfg.variant == "spatio_temporal" else
                    "heads split: half over time, half over space"}[name]
            g = groups[0]
            label = "encoder" if name == "encoder" else f"{name} encoder"
            d.box(f"{name}b", 0, r, f"<b>{label} × {len(enc.blocks)}</b>: LN → {what}, LN → MLP<br>"
                  f"{_groups(g)}", ATTN, width=1.9)
            d.arrow(prev, f"{name}b")
            prev, r = f"{name}b", r + 1
    pool = "[cls] token" if cfg.with_cls else "mean over tokens"
    d.box("head", 0, r, f"<b>LN → {pool} → head</b><br>{shapes['head'][-1]} classes", HEAD, width=1.9)
    d.arrow(prev, "head")
    return d.figure(f"ViViT ({cfg.variant}): tokens and attention", meta,
                    subtitle="groups × tokens × D: a token attends only within its group")
