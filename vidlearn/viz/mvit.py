"""Figures for the MViT chapter (``book/mvit.ipynb``): the multiscale pyramid, stage by stage.

:func:`stage_rows` measures a built model (any device, ``"meta"`` included: shapes without compute) and
:func:`stage_pyramid_figure` draws the rows of one or more models; its buttons only switch which precomputed
traces are visible, so it works in the static book.
"""

from __future__ import annotations

import math
from typing import Dict, List, Optional

import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from vidlearn.viz.style import PALETTE, one_variant_at_a_time


@torch.no_grad()
def stage_rows(model, x: Optional[torch.Tensor] = None) -> List[dict]:
    """One dict per stage of an :class:`vidlearn.models.mvit.MViT`, measured by hooks on a forward pass.

    Keys: ``stage`` ("scale2", ...), ``blocks``, ``grid`` (the query grid ``(T', H', W')``), ``tokens``
    (``T' H' W'``, class token not counted), ``channels``, ``heads``, and ``kv_grid`` / ``kv_tokens``: the
    key/value grid of the stage's last block (the one most of its blocks share).
    """
    x = model.example_input(1) if x is None else x
    q_seen, kv_seen, hooks = {}, {}, []
    for i, block in enumerate(model.blocks):
        hooks.append(block.attn.register_forward_hook(
            lambda m, inp, out, i=i: q_seen.__setitem__(i, (out[0].shape[-1], tuple(out[1])))))
        if block.attn.pool_k is not None:
            hooks.append(block.attn.pool_k.register_forward_hook(
                lambda m, inp, out, i=i: kv_seen.__setitem__(i, tuple(out[1]))))
    was_training = model.training
    try:  # eval mode: shapes only, and no drop-path mask (random numbers on "meta" fail on older torch)
        model.eval()
        with torch.no_grad():
            model(x)
    finally:
        model.train(was_training)
        for h in hooks:
            h.remove()
    rows = []
    for s, blocks in enumerate(model.stages()):
        channels, grid = q_seen[blocks[0]]
        kv = kv_seen.get(blocks[-1], q_seen[blocks[-1]][1])  # no key/value pooling: the query grid
        rows.append(dict(stage=f"scale{s + 2}", blocks=len(blocks), grid=grid, tokens=math.prod(grid),
                         channels=channels, heads=model.specs[blocks[0]].num_heads, kv_grid=kv,
                         kv_tokens=math.prod(kv)))
    return rows


def stage_pyramid_figure(rows_by_model: Dict[str, List[dict]],
                         title: str = "MViT's pyramid: tokens shrink as channels grow") -> go.Figure:
    """Three bar panels per model: query tokens, channels, and keys per query, stage by stage.

    ``rows_by_model`` maps a model's name to its :func:`stage_rows`; one button per model shows its bars
    (token counts on a log axis). The hover gives each stage's grid, blocks and heads.
    """
    if not rows_by_model:
        raise ValueError("rows_by_model is empty: pass {name: stage_rows(model)}")
    fig = make_subplots(rows=1, cols=3, horizontal_spacing=0.09,
                        subplot_titles=("query tokens T'H'W'", "channels", "keys per query (last block)"))
    names = list(rows_by_model)
    for k, name in enumerate(names):
        rows = rows_by_model[name]
        stages = [r["stage"] for r in rows]
        hover = [f"{r['stage']}: {r['blocks']} block(s), {r['heads']} head(s)<br>query grid "
                 f"{'x'.join(map(str, r['grid']))} = {r['tokens']:,} tokens, width {r['channels']}<br>"
                 f"keys/values {'x'.join(map(str, r['kv_grid']))} = {r['kv_tokens']:,}" for r in rows]
        color = PALETTE[k % len(PALETTE)]
        for col, key in enumerate(("tokens", "channels", "kv_tokens"), 1):
            values = [r[key] for r in rows]
            fig.add_trace(go.Bar(x=stages, y=values, name=name, marker_color=color, showlegend=False,
                                 text=[f"{v:,}" for v in values], textposition="outside", hovertext=hover,
                                 hovertemplate="%{hovertext}<extra></extra>"), row=1, col=col)

    def view(k: int):
        flags = [i // 3 == k for i in range(3 * len(names))]
        return flags, {"title.text": f"{title}: {names[k]}"}

    menu, layout = one_variant_at_a_time(fig, names, view, y=1.14)
    fig.update_yaxes(type="log", row=1, col=1)
    fig.update_yaxes(type="log", row=1, col=3)
    fig.update_xaxes(title_text="stage")
    fig.update_layout(updatemenus=[menu], height=430, margin=dict(t=120), **{"title_text": layout["title.text"]})
    return fig


__all__ = ["stage_rows", "stage_pyramid_figure"]
