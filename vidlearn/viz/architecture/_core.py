"""The measuring (forward hooks) and drawing (boxes and arrows) shared by every diagram."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

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
