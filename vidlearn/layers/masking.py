"""Masking and pixel targets for masked video modelling (VideoMAE).

VideoMAE: Masked Autoencoders are Data-Efficient Learners for Self-Supervised Video Pre-Training.
Tong, Song, Wang, Wang. NeurIPS 2022. https://arxiv.org/abs/2203.12602 (Sec. 3.3 and Fig. 3: tube, random and
frame masking; Sec. 3.2: the per-patch normalised pixel targets). Official code: ``masking_generator.py`` and
``engine_for_pretraining.py`` of MCG-NJU/VideoMAE.

A mask is ``(B, N)`` bool over the clip's ``N = T' * H' * W'`` tubelet tokens in ``(t h w)`` order, True =
hidden. ``patchify`` cuts a clip ``(B, C, T, H, W)`` into ``(B, N, tubelet * P * P * C)`` pixel rows (pixels in
``(t y x c)`` order, as the official code and Hugging Face), ``unpatchify`` puts them back.
:func:`copy_from_neighbours` is the baseline that learns nothing: it fills a hidden tubelet from the same place
at another time, the shortcut that tube masking closes.
"""

from __future__ import annotations

import math
from typing import Callable, Dict, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from einops import rearrange

# --- masking: which tokens the encoder may see ---------------------------------------------------------------

def _num_masked(ratio: float, n: int, what: str) -> int:
    """``int(ratio * n)`` as the official generator counts (the tiny guard keeps 0.29 * 100 at 29)."""
    if not 0.0 < ratio < 1.0:
        raise ValueError(f"mask ratio must be in (0, 1), got {ratio!r}")
    k = math.floor(ratio * n + 1e-9)
    if not 0 < k < n:
        raise ValueError(f"mask ratio {ratio} of {n} {what} masks {k}; at least one must be masked and one "
                         "visible")
    return k


def _hw(grid_hw: Union[int, Sequence[int]]) -> int:
    return grid_hw if isinstance(grid_hw, int) else int(grid_hw[0]) * int(grid_hw[1])


def _choose(batch: int, n: int, k: int, generator: Optional[torch.Generator]) -> torch.Tensor:
    """``(B, n)`` bool with exactly ``k`` True per row at uniformly random places."""
    order = torch.rand(batch, n, generator=generator).argsort(dim=1)  # (B, n): a random permutation per row
    return torch.zeros(batch, n, dtype=torch.bool).scatter_(1, order[:, :k], True)


def tube_mask(batch: int, grid_t: int, grid_hw: Union[int, Sequence[int]], ratio: float = 0.9,
              generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """VideoMAE's tube mask: the same ``int(ratio * H'W')`` spatial positions hidden in every time slot.

    ``grid_hw`` is ``H' * W'`` or ``(H', W')``. Returns ``(B, T'*H'*W')`` bool in ``(t h w)`` order, True =
    masked; every sample draws its own positions (from ``generator``, else torch's global generator).
    """
    hw = _hw(grid_hw)
    per_slot = _choose(batch, hw, _num_masked(ratio, hw, "positions of a time slot"), generator)  # (B, H'W')
    return per_slot.repeat(1, grid_t)  # (B, T'*H'W'): slot after slot, the same positions


def random_mask(batch: int, grid_t: int, grid_hw: Union[int, Sequence[int]], ratio: float = 0.9,
                generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Random masking (paper Fig. 3b): ``int(ratio * N)`` tokens hidden anywhere, ``N = T'*H'*W'``.

    Shape and meaning as :func:`tube_mask`.
    """
    n = grid_t * _hw(grid_hw)
    return _choose(batch, n, _num_masked(ratio, n, "tokens"), generator)  # (B, N)


def frame_mask(batch: int, grid_t: int, grid_hw: Union[int, Sequence[int]], ratio: float = 0.9,
               generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Frame masking (paper Fig. 3c): ``int(ratio * T')`` whole time slots hidden.

    Shape and meaning as :func:`tube_mask`.
    """
    slots = _choose(batch, grid_t, _num_masked(ratio, grid_t, "time slots"), generator)  # (B, T')
    return slots.repeat_interleave(_hw(grid_hw), dim=1)  # (B, T'*H'W')


MASKS: Dict[str, Callable[..., torch.Tensor]] = {"tube": tube_mask, "random": random_mask, "frame": frame_mask}


def check_mask(mask: torch.Tensor, batch: int, num_tokens: int) -> int:
    """Check a ``(B, N)`` bool mask with the same number of masked tokens in every row; return that number."""
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool or tuple(mask.shape) != (batch, num_tokens):
        got = f"{tuple(mask.shape)} {mask.dtype}" if isinstance(mask, torch.Tensor) else type(mask).__name__
        raise ValueError(f"VideoMAE expects a bool mask of shape (B, N) = ({batch}, {num_tokens}), got {got}")
    counts = mask.sum(1)
    k = int(counts[0]) if batch else 0
    if batch and (counts != k).any():
        raise ValueError(f"every clip must have the same number of masked tokens, got {counts.tolist()}")
    if batch and not 0 < k < num_tokens:
        raise ValueError(f"the mask hides {k} of {num_tokens} tokens; at least one must be masked and one visible")
    return k


# --- pixel targets --------------------------------------------------------------------------------------------

def patchify(video: torch.Tensor, tubelet_size: int = 2, patch_size: int = 16) -> torch.Tensor:
    """Cut ``(B, C, T, H, W)`` into tubelets: ``(B, N, tubelet*P*P*C)``, tokens ``(t h w)``, pixels ``(t y x c)``."""
    return rearrange(video, "b c (t pt) (h ph) (w pw) -> b (t h w) (pt ph pw c)", pt=tubelet_size,
                     ph=patch_size, pw=patch_size)


def unpatchify(patches: torch.Tensor, grid: Sequence[int], tubelet_size: int = 2, patch_size: int = 16
               ) -> torch.Tensor:
    """Inverse of :func:`patchify`: ``(B, N, tubelet*P*P*C)`` and the grid ``(T', H', W')`` -> ``(B, C, T, H, W)``."""
    t, h, w = grid
    return rearrange(patches, "b (t h w) (pt ph pw c) -> b c (t pt) (h ph) (w pw)", t=t, h=h, w=w,
                     pt=tubelet_size, ph=patch_size, pw=patch_size)


def reconstruction_targets(video: torch.Tensor, tubelet_size: int = 2, patch_size: int = 16,
                           norm_pix: bool = True, mean: Optional[Sequence[float]] = None,
                           std: Optional[Sequence[float]] = None) -> torch.Tensor:
    """The pixels to predict, ``(B, N, tubelet*P*P*C)``.

    ``mean``/``std`` (per channel) undo the input normalisation first. With ``norm_pix`` each tubelet's
    pixels are normalised *per channel* over its ``tubelet*P*P`` values, with the unbiased std plus 1e-6, as
    the official ``engine_for_pretraining.py`` (and Hugging Face) do.
    """
    if mean is not None and std is not None:
        m = torch.as_tensor(mean, dtype=video.dtype, device=video.device).view(1, -1, 1, 1, 1)  # (1, C, 1, 1, 1)
        s = torch.as_tensor(std, dtype=video.dtype, device=video.device).view(1, -1, 1, 1, 1)
        video = video * s + m  # pixels, in [0, 1] for the official pipeline
    if not norm_pix:
        return patchify(video, tubelet_size, patch_size)
    p = rearrange(video, "b c (t pt) (h ph) (w pw) -> b (t h w) (pt ph pw) c", pt=tubelet_size, ph=patch_size,
                  pw=patch_size)  # (B, N, tubelet*P*P, C)
    p = (p - p.mean(dim=-2, keepdim=True)) / (p.var(dim=-2, unbiased=True, keepdim=True).sqrt() + 1e-6)
    return rearrange(p, "b n p c -> b n (p c)")  # (B, N, tubelet*P*P*C)


def reconstruction_loss(pred: torch.Tensor, video: torch.Tensor, mask: torch.Tensor, tubelet_size: int = 2,
                        patch_size: int = 16, norm_pix: bool = True, mean: Optional[Sequence[float]] = None,
                        std: Optional[Sequence[float]] = None) -> torch.Tensor:
    """Mean squared error on the masked tubelets only (visible tokens never count).

    Shape: ``pred`` ``(B, N_masked, D_pix)`` (the masked tokens in ascending order, as the model returns) or
    ``(B, N, D_pix)`` (every token; only the masked ones are used); ``video`` ``(B, C, T, H, W)``; ``mask``
    ``(B, N)`` bool, True = masked. Returns a scalar.
    """
    with torch.no_grad():
        target = reconstruction_targets(video, tubelet_size, patch_size, norm_pix, mean, std)  # (B, N, D_pix)
    b, n, d = target.shape
    k = check_mask(mask, b, n)
    if tuple(pred.shape) == (b, n, d):
        pred = pred[mask].reshape(b, k, d)  # (B, N_masked, D_pix): keep the masked tokens' predictions
    if tuple(pred.shape) != (b, k, d):
        raise ValueError(f"expected predictions of shape (B, N_masked, D_pix) = {(b, k, d)} or (B, N, D_pix) = "
                         f"{(b, n, d)}, got {tuple(pred.shape)}")
    return F.mse_loss(pred, target[mask].reshape(b, k, d))


def copy_from_neighbours(patches: torch.Tensor, mask: torch.Tensor, grid_t: int) -> torch.Tensor:
    """A baseline that learns nothing: fill every masked tubelet by copying a visible one from another time.

    For each masked token it takes the visible token at the *same spatial position* in the nearest time slot
    (the earlier one on a tie); where that position is masked in every slot (always, under tube masking) it
    falls back to the mean of the clip's visible tokens. Shape: ``patches (B, N, D)`` in ``(t h w)`` order,
    ``mask (B, N)`` bool (True = masked); returns ``(B, N, D)`` with the masked rows filled.
    """
    b, n, d = patches.shape
    if n % grid_t:
        raise ValueError(f"{n} tokens do not split into {grid_t} time slots")
    hw = n // grid_t
    x, m = patches.view(b, grid_t, hw, d), mask.view(b, grid_t, hw)  # (B, T', H'W', D)
    vis = (~mask).unsqueeze(-1).to(patches.dtype)  # (B, N, 1)
    fallback = (patches * vis).sum(1) / vis.sum(1).clamp(min=1)  # (B, D): the mean visible token
    out = x.clone()
    for t in range(grid_t):
        filled = ~m[:, t]  # (B, H'W'): visible here, nothing to fill
        out[:, t][m[:, t]] = fallback[:, None].expand(b, hw, d)[m[:, t]]
        for dt in range(1, grid_t):  # nearest slots first, earlier before later
            for s in (t - dt, t + dt):
                if 0 <= s < grid_t:
                    take = ~filled & ~m[:, s]  # (B, H'W'): still empty here, visible there
                    out[:, t][take] = x[:, s][take]
                    filled = filled | take
    return out.view(b, n, d)
