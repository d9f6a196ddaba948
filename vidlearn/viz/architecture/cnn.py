"""Diagrams of the 2D and two-stream eras: video CNNs as stage chains, DeepVideo, Two-Stream, conv fusion, TSN."""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import plotly.graph_objects as go
import torch.nn as nn

from vidlearn.viz.architecture._core import (
    CONV,
    FUSE,
    HEAD,
    INPUT,
    Shape,
    _Diagram,
    _example,
    _label,
    fmt,
    stage_shapes,
)

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
