"""VideoMAE's masks on a clip, and what a masked autoencoder paints back (chapter "VideoMAE").

:func:`masking_explorer` draws one clip under tube, random and frame masking at several ratios, with a slider
over the ratio, and, given a pre-trained :class:`~vidlearn.models.videomae.VideoMAEPretrain`, the model's
reconstruction of the masked tubelets beside what its encoder saw. Every ratio's images are in the figure
(one trace per panel and ratio; the slider switches which are visible), so it works in the static book.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from vidlearn.layers.masking import MASKS, patchify, unpatchify
from vidlearn.models.videomae_helpers import reconstruct
from vidlearn.viz.video import png_uri, to_uint8_frames

MASK_NAMES = {"tube": "tube masking", "random": "random masking", "frame": "frame masking"}
HIDDEN_GREY = 0.5  # how a masked tubelet is drawn in "what the encoder sees"


def _strip(clip: torch.Tensor, gap: int = 2) -> np.ndarray:
    """A float clip ``(C, T, H, W)`` in [0, 1] as one uint8 image, the frames side by side with white gaps."""
    frames = to_uint8_frames(clip.clamp(0, 1))  # (T, H, W, 3)
    t, h, w, _ = frames.shape
    out = np.full((h, t * w + (t - 1) * gap, 3), 255, dtype=np.uint8)
    for i in range(t):
        out[:, i * (w + gap): i * (w + gap) + w] = frames[i]
    return out


def masked_view(clip: torch.Tensor, mask: torch.Tensor, tubelet_size: int, patch_size: int) -> torch.Tensor:
    """``clip (C, T, H, W)`` with its masked tubelets (``mask (N,)``, True = masked) painted grey."""
    c, t, h, w = clip.shape
    patches = patchify(clip[None], tubelet_size, patch_size)  # (1, N, D_pix)
    patches[0, mask] = HIDDEN_GREY
    grid = (t // tubelet_size, h // patch_size, w // patch_size)
    return unpatchify(patches, grid, tubelet_size, patch_size)[0]  # (C, T, H, W)


def draw_masks(mask_types: Sequence[str], ratio: float, grid: Sequence[int], seed: int = 0
               ) -> Dict[str, torch.Tensor]:
    """One mask ``(N,)`` per mask type at ``ratio`` for the token grid ``(T', H', W')`` (seeded)."""
    out = {}
    for name in mask_types:
        if name not in MASKS:
            raise ValueError(f"unknown mask type {name!r}; expected some of {list(MASKS)}")
        g = torch.Generator().manual_seed(seed)
        out[name] = MASKS[name](1, grid[0], grid[1] * grid[2], ratio, g)[0]
    return out


def masking_explorer(clip: torch.Tensor, model=None, ratios: Sequence[float] = (0.5, 0.75, 0.9),
                     mask_types: Sequence[str] = ("tube", "random", "frame"), tubelet_size: Optional[int] = None,
                     patch_size: Optional[int] = None, seed: int = 0, upscale: int = 3,
                     title: str = "Tube, random and frame masking of a real clip") -> go.Figure:
    """The clip, what the encoder sees under each mask, and (with ``model``) the reconstruction.

    Args:
        clip: float ``(C, T, H, W)`` pixels in [0, 1] (``model``'s clip size when a model is given).
        model: a :class:`~vidlearn.models.videomae.VideoMAEPretrain` (its ``cfg`` gives the tubelet, the patch
            and the input normalisation), or None to show the masks only.
        ratios: the masking ratios the slider offers (it starts at the first).
        mask_types: rows of the figure, from ``"tube"``, ``"random"``, ``"frame"``.
        tubelet_size, patch_size: the token grid without a model (default 2 and a quarter of the frame side).
        seed: every mask type and ratio draws its mask from a generator with this seed.

    Returns a figure with one row per mask type (plus the clip on top): left what the encoder sees (the
    masked tubelets grey), right the model's painting (visible tubelets as they are, masked ones predicted).
    """
    if not isinstance(clip, torch.Tensor) or clip.dim() != 4 or clip.shape[0] != 3:
        got = tuple(clip.shape) if isinstance(clip, torch.Tensor) else type(clip).__name__
        raise ValueError(f"masking_explorer expects a float clip (3, T, H, W) in [0, 1], got {got}")
    if not ratios:
        raise ValueError("masking_explorer needs at least one masking ratio")
    clip = clip.float()
    c, t, h, w = clip.shape
    if model is not None:
        cfg = model.cfg
        tubelet_size, patch_size = cfg.tubelet_size, cfg.patch_size
    tubelet_size = tubelet_size or 2
    patch_size = patch_size or max(1, h // 4)
    if t % tubelet_size or h % patch_size or w % patch_size:
        raise ValueError(f"a {t} x {h} x {w} clip does not split into {tubelet_size} x {patch_size} x "
                         f"{patch_size} tubelets")
    grid = (t // tubelet_size, h // patch_size, w // patch_size)
    if model is not None:
        mean = torch.tensor(cfg.pixel_mean if cfg.pixel_mean is not None else (0.0,) * c).view(-1, 1, 1, 1)
        std = torch.tensor(cfg.pixel_std if cfg.pixel_std is not None else (1.0,) * c).view(-1, 1, 1, 1)
        model_input = ((clip - mean) / std)[None]  # (1, C, T, H, W): normalised as the model was trained
    cols = 2 if model is not None else 1
    rows = 1 + len(mask_types)
    titles: List[str] = ["the clip, frame by frame"] + [""] * (cols - 1)
    for name in mask_types:
        titles += [f"{MASK_NAMES[name]}: what the encoder sees"] + (
            [f"{MASK_NAMES[name]}: the model's reconstruction"] if model is not None else [])
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles, horizontal_spacing=0.02,
                        vertical_spacing=0.08)
    fig.add_trace(go.Image(source=png_uri(_strip(clip), upscale), hoverinfo="skip", name="clip"), row=1, col=1)
    per_ratio = []  # trace indices of each ratio
    for ratio in ratios:
        masks = draw_masks(mask_types, ratio, grid, seed)
        first = len(fig.data)
        for r, name in enumerate(mask_types):
            m = masks[name]
            label = f"{MASK_NAMES[name]}, {int(m.sum())} of {m.numel()} tubelets hidden"
            fig.add_trace(go.Image(source=png_uri(_strip(masked_view(clip, m, tubelet_size, patch_size)),
                                                   upscale), hoverinfo="skip", name=label), row=r + 2, col=1)
            if model is not None:
                painted = reconstruct(model, model_input, m[None])[0]  # (C, T, H, W) pixels
                fig.add_trace(go.Image(source=png_uri(_strip(painted), upscale), hoverinfo="skip",
                                       name=f"{label}, reconstructed"), row=r + 2, col=2)
        per_ratio.append(list(range(first, len(fig.data))))
    n = len(fig.data)
    steps = []
    for k, ratio in enumerate(ratios):
        visible = [True] + [i in per_ratio[k] for i in range(1, n)]
        steps.append(dict(method="restyle", label=f"{ratio:g}", args=[{"visible": visible}]))
    fig.data[0].visible = True
    for i in range(1, n):
        fig.data[i].visible = i in per_ratio[0]
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(title=title, height=150 + 130 * rows, margin=dict(l=10, r=10, t=80, b=10),
                      sliders=[dict(active=0, currentvalue=dict(prefix="masking ratio "), pad=dict(t=20),
                                    steps=steps)])
    return fig


__all__ = ["masking_explorer", "masked_view", "draw_masks", "MASK_NAMES"]
