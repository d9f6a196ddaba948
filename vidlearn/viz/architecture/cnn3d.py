"""Diagrams of the 3D CNNs: the (2+1)D block, the non-local blocks' positions, SlowFast's laterals, TSM's shift."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import torch.nn as nn

from vidlearn.viz.architecture._core import (
    CONV,
    FAST_C,
    FUSE,
    HEAD,
    INPUT,
    NL,
    SHIFT,
    SLOW_C,
    _Diagram,
    _example,
    _label,
    fmt,
    stage_shapes,
)

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
# TSM


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


