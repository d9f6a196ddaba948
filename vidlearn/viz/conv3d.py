"""Figures for 3D convolutions (chapter "C3D").

``receptive_fields`` walks a network's 3D convolutions and poolings in order and returns, after each one,
how many input frames and pixels one output unit sees (its receptive field) and how far apart in the input
two neighbouring units are (the jump). ``temporal_receptive_field_figure`` draws the temporal receptive field
of one unit, layer by layer, as a bar over the input clip's frames, with a slider over networks (for C3D:
the same network built with temporal kernel depths 1, 3, 5, 7, the paper's depth search).
Everything is computed from the modules; the figure is a pure function of those numbers, so its slider
works in the static book.
"""

from __future__ import annotations

from typing import Dict, List, Mapping, Sequence, Tuple, Union

import plotly.graph_objects as go
import torch.nn as nn

from vidlearn.viz.style import PALETTE

Triple = Tuple[int, int, int]


def _triple(v: Union[int, Sequence[int]]) -> Triple:
    return (v, v, v) if isinstance(v, int) else tuple(int(x) for x in v)  # type: ignore[return-value]


def receptive_fields(layers: Union[nn.Module, Sequence[Tuple[str, nn.Module]]]) -> List[Dict[str, object]]:
    """Receptive field ``(t, h, w)`` and jump after each ``Conv3d`` / ``MaxPool3d`` / ``AvgPool3d``, in order.

    ``layers``: a module (its ``named_modules()`` are walked in registration order, which is the data
    order for a plain ``nn.Sequential`` such as ``C3D.features``) or a list of ``(name, module)``; layers
    named by a ``Sequential`` index are called ``conv1, conv2, ...`` and ``pool1, pool2, ...``.
    The recursion: ``rf += (k - 1) * jump`` and ``jump *= stride`` in every dimension (dilation 1).
    Returns one dict per layer: ``name``, ``kind`` ("conv" or "pool"), ``kernel``, ``stride``, ``rf``, ``jump``.
    """
    named = list(layers.named_modules()) if isinstance(layers, nn.Module) else list(layers)
    rf, jump = [1, 1, 1], [1, 1, 1]
    counts = {"conv": 0, "pool": 0}
    out: List[Dict[str, object]] = []
    for name, m in named:
        if isinstance(m, nn.Conv3d):
            kind = "conv"
        elif isinstance(m, (nn.MaxPool3d, nn.AvgPool3d)):
            kind = "pool"
        else:
            continue
        counts[kind] += 1
        if not name or name.split(".")[-1].isdigit():  # nn.Sequential indices: name by kind and order
            name = f"{kind}{counts[kind]}"
        k, s = _triple(m.kernel_size), _triple(m.stride if m.stride is not None else m.kernel_size)
        if kind == "conv" and any(d != 1 for d in _triple(m.dilation)):
            raise ValueError(f"{name}: dilated convolutions are not supported (dilation {m.dilation})")
        for i in range(3):
            rf[i] += (k[i] - 1) * jump[i]
            jump[i] *= s[i]
        out.append(dict(name=name, kind=kind, kernel=k, stride=s, rf=tuple(rf), jump=tuple(jump)))
    if not out:
        raise ValueError("no Conv3d or 3D pooling layer found")
    return out


def temporal_receptive_field_figure(networks: Mapping[str, Sequence[Mapping]], frames: int,
                                    active: int = 0,
                                    title: str = "How many frames one unit sees, layer by layer") -> go.Figure:
    """One horizontal bar per layer: the input frames that one (central) unit of that layer sees.

    ``networks`` maps a label (a slider step, e.g. ``"depth 3"``) to the output of :func:`receptive_fields`.
    The shaded band is the input clip (``frames`` frames); a bar wider than the band means the unit's
    receptive field is larger than the clip (the padded frames count too). Hover shows the full
    ``t x h x w`` receptive field and the kernel.
    """
    if not networks:
        raise ValueError("networks is empty: pass {label: receptive_fields(...)}")
    if frames < 1:
        raise ValueError(f"frames must be >= 1, got {frames}")
    labels = list(networks)
    centre = (frames - 1) / 2
    fig = go.Figure()
    fig.add_vrect(x0=-0.5, x1=frames - 0.5, fillcolor="#2ca02c", opacity=0.12, line_width=0)
    for j, label in enumerate(labels):
        layers = list(networks[label])
        names = [f"{i + 1}. {d['name']}" for i, d in enumerate(layers)]
        rf_t = [d["rf"][0] for d in layers]
        colours = [PALETTE[0] if d["kind"] == "conv" else PALETTE[1] for d in layers]
        hover = [f"{d['kind']} {'x'.join(map(str, d['kernel']))}, stride {'x'.join(map(str, d['stride']))}"
                 f"<br>receptive field {d['rf'][0]} frames x {d['rf'][1]}x{d['rf'][2]} pixels" for d in layers]
        fig.add_bar(y=names, x=rf_t, base=[centre - (r - 1) / 2 - 0.5 for r in rf_t], orientation="h",
                    marker_color=colours, text=[f"{r} frames" for r in rf_t], textposition="inside",
                    hovertext=hover, hoverinfo="text", name=label, visible=j == active, showlegend=False)
    steps = [dict(method="update", label=label,
                  args=[{"visible": [i == j for i in range(len(labels))]},
                        {"title.text": f"{title} ({label})"}]) for j, label in enumerate(labels)]
    widest = max(d["rf"][0] for layers in networks.values() for d in layers)
    half = max(widest, frames) / 2 + 1
    fig.update_layout(
        title=f"{title} ({labels[active]})", height=140 + 34 * max(len(v) for v in networks.values()),
        margin=dict(l=120, r=30, t=70, b=110), bargap=0.25,
        uniformtext=dict(minsize=9, mode="hide"),
        xaxis=dict(title=f"input frame (green band: the {frames}-frame clip; bars: blue convolution, orange pooling)",
                   range=[centre - half, centre + half],
                   zeroline=False),
        yaxis=dict(title="layer", autorange="reversed"),
        sliders=[dict(active=active, currentvalue=dict(prefix="network: "), pad=dict(t=50), steps=steps)],
    )
    return fig
