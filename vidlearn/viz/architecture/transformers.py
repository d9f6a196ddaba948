"""Diagrams of the video transformers: the TimeSformer block, the four ViViT models, VideoMAE."""

from __future__ import annotations

from typing import Any, List, Mapping, Sequence, Tuple

import plotly.graph_objects as go
import torch
import torch.nn as nn

from vidlearn.viz.architecture._core import (
    ATTN,
    HEAD,
    INPUT,
    MLP,
    SHIFT,
    Shape,
    _Diagram,
    _example,
    _label,
    _shape,
    stage_shapes,
)

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


@torch.no_grad()
def videomae_diagram(model: nn.Module, inputs: Any = None) -> go.Figure:
    """VideoMAE pre-training: the encoder on the visible tubelets only, then a narrow decoder on all of them.

    The model's own parts run once on a clip (``meta`` works: shapes only): the tubelet embedding, a mask
    drawn by the model (``cfg.mask_type`` at ``cfg.mask_ratio``, on the CPU), the encoder on the visible
    tokens, the projection to the decoder's width, the decoder on visible and mask tokens, the pixel head on
    the masked ones. (The model's ``forward`` needs the mask's values, which ``meta`` has not; these are its
    steps.) ``meta`` has ``tokens``, ``visible``, ``masked``, ``grid`` and the ``encoder``, ``decoder`` and
    ``pred`` shapes without the batch.
    """
    cfg = model.cfg
    x = _example(model, inputs)
    was_training = model.training
    model.eval()
    try:
        tokens, grid = model.encoder.embed(x)  # (1, N, D)
        n, dim = tokens.shape[1:]
        mask = model.draw_mask(1, grid, torch.Generator().manual_seed(0))  # (1, N) on the CPU
        masked = int(mask.sum())
        visible = n - masked
        enc = model.encoder(tokens[:, :visible])  # (1, N_vis, D): which tokens does not change a shape
        dec_in = model.encoder_to_decoder(enc)  # (1, N_vis, D_dec)
        dec = torch.cat([dec_in, model.mask_token.expand(1, masked, -1).to(dec_in)], dim=1)  # (1, N, D_dec)
        for block in model.decoder_blocks:
            dec = block(dec)
        pred = model.decoder_head(model.decoder_norm(dec[:, -masked:]))  # (1, N_masked, pixels)
    finally:
        model.train(was_training)
    per_slot = visible // grid[0]
    d = _Diagram()
    d.box("in", 0, 0, _label("clip", tuple(x.shape)), INPUT, width=1.2)
    tub = f"{cfg.tubelet_size}×{cfg.patch_size}×{cfg.patch_size}"
    d.box("emb", 0, 1, f"<b>tubelets {tub}</b> → linear embedding + sine-cosine position<br>{n} = "
          f"{grid[0]}·{grid[1]}·{grid[2]} tokens × {dim}", INPUT, width=1.9)
    d.arrow("in", "emb")
    how = {"tube": f"the same {grid[1] * grid[2] - per_slot} positions in every time slot",
           "random": "anywhere", "frame": "whole time slots"}[cfg.mask_type]
    d.box("mask", 0, 2, f"<b>{cfg.mask_type} mask, {cfg.mask_ratio:.0%}</b>: {masked} hidden, {how}<br>"
          f"{visible} visible tokens go on", SHIFT, width=1.9)
    d.arrow("emb", "mask")
    d.box("enc", 0, 3, f"<b>encoder × {len(model.encoder.blocks)}</b>: LN → joint attention, LN → MLP, on the "
          f"visible tokens only<br>{visible} tokens × {enc.shape[-1]}", ATTN, width=1.9)
    d.arrow("mask", "enc")
    d.box("proj", 0, 4, f"<b>Linear {dim} → {dec_in.shape[-1]}</b>, + a shared mask token at each hidden "
          f"position, + position<br>{dec.shape[1]} tokens × {dec.shape[-1]}", MLP, width=1.9)
    d.arrow("enc", "proj")
    d.box("dec", 0, 5, f"<b>decoder × {len(model.decoder_blocks)}</b>: the same blocks, narrower, on all "
          f"tokens<br>{dec.shape[1]} tokens × {dec.shape[-1]}", ATTN, width=1.9)
    d.arrow("proj", "dec")
    norm = ", normalised per tubelet" if cfg.norm_pix_loss else ""
    d.box("head", 0, 6, f"<b>LN → Linear → the hidden tubelets' pixels</b>, MSE to their pixels{norm}<br>"
          f"{pred.shape[1]} × {pred.shape[-1]} (= {tub}×{cfg.in_chans})", HEAD, width=1.9)
    d.arrow("dec", "head")
    meta = {"tokens": n, "visible": visible, "masked": masked, "grid": list(grid),
            "encoder": list(enc.shape[1:]), "decoder": list(dec.shape[1:]), "pred": list(pred.shape[1:]),
            "mask_type": cfg.mask_type}
    return d.figure("VideoMAE pre-training: encode the visible tubelets, decode them all", meta,
                    subtitle="tokens × width; fine-tuning drops the decoder and runs the encoder on every token")
