"""The VideoMAE chapter's tools: a pre-training loop in miniature and the clip as a model paints it.

:func:`pretrain` is the official recipe (AdamW, warm-up then cosine decay, a fresh mask per clip and step) for
a :class:`~vidlearn.models.videomae.VideoMAEPretrain` on unlabelled clips; :func:`reconstruct` returns the
visible tubelets as they are and the masked ones as the model predicts them, in pixels.
"""

from __future__ import annotations

import math
from typing import List, Union

import torch

from vidlearn.layers.masking import patchify, unpatchify
from vidlearn.models.videomae import VideoMAEConfig, VideoMAEPretrain


def pretrain(model: VideoMAEPretrain, clips: Union[torch.Tensor, torch.utils.data.Dataset], *, epochs: int,
             batch_size: int = 16, lr: float = 1e-3, weight_decay: float = 0.05, warmup: float = 0.1,
             seed: int = 0) -> List[float]:
    """Pre-train ``model`` on unlabelled ``clips``; return the mean reconstruction loss of every epoch.

    ``clips`` is a tensor ``(N, C, T, H, W)`` or a dataset of ``(clip, label)`` (labels are ignored). As the
    official recipe, in miniature: AdamW with betas (0.9, 0.95), a linear warm-up over the first ``warmup``
    share of the steps, then a cosine decay to zero; a fresh mask for every clip of every step (drawn from a
    generator seeded with ``seed``, like the shuffling). Runs on the model's device; the model ends in eval mode.
    """
    if isinstance(clips, torch.utils.data.Dataset):
        clips = torch.stack([clips[i][0] for i in range(len(clips))])  # (N, C, T, H, W)
    if epochs < 1 or batch_size < 1 or len(clips) == 0:
        raise ValueError(f"pretrain needs epochs >= 1, batch_size >= 1 and clips; got {epochs}, {batch_size}, "
                         f"{len(clips)} clips")
    device = next(model.parameters()).device
    g = torch.Generator().manual_seed(seed)
    steps = epochs * math.ceil(len(clips) / batch_size)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.95), weight_decay=weight_decay)
    warm = max(1, int(warmup * steps))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: (s + 1) / warm if s < warm else
                                              0.5 * (1 + math.cos(math.pi * (s - warm) / max(1, steps - warm))))
    losses = []
    model.train()
    for _ in range(epochs):
        order, total = torch.randperm(len(clips), generator=g), 0.0
        for i in range(0, len(clips), batch_size):
            x = clips[order[i:i + batch_size]].to(device, torch.float32)  # (B, C, T, H, W)
            loss = model(x, generator=g).loss
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(x)
        losses.append(total / len(clips))
    model.eval()
    return losses


def _pixels(video: torch.Tensor, cfg: VideoMAEConfig) -> torch.Tensor:
    """Undo the input normalisation: the clip's pixels (as ``reconstruction_targets`` does)."""
    if cfg.pixel_mean is None or cfg.pixel_std is None:
        return video
    m = torch.as_tensor(cfg.pixel_mean, dtype=video.dtype, device=video.device).view(1, -1, 1, 1, 1)
    s = torch.as_tensor(cfg.pixel_std, dtype=video.dtype, device=video.device).view(1, -1, 1, 1, 1)
    return video * s + m


@torch.no_grad()
def reconstruct(model: VideoMAEPretrain, video: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The clip as the model paints it: visible tubelets as they are, masked ones predicted, in pixels.

    With normalised targets (``norm_pix_loss``) a prediction is mapped back to pixels with the mean and std of
    the true tubelet, per channel, as the MAE papers draw their figures (the model never predicts those two).
    Shape: ``video (B, C, T, H, W)`` normalised as the model's inputs, ``mask (B, N)``; returns the pixels
    ``(B, C, T, H, W)`` (the input normalisation undone).
    """
    cfg = model.cfg
    model.eval()
    pred = model(video, mask=mask).pred  # (B, N_masked, D_pix)
    pixels = _pixels(video, cfg)
    patches = patchify(pixels, cfg.tubelet_size, cfg.patch_size)  # (B, N, D_pix), (pt ph pw c)
    b, n, d = patches.shape
    c = cfg.in_chans
    if cfg.norm_pix_loss:
        p = patches.view(b, n, d // c, c)  # (B, N, pt*P*P, C)
        mean, std = p.mean(-2, keepdim=True), p.var(-2, unbiased=True, keepdim=True).sqrt() + 1e-6
        k = pred.shape[1]
        pred = (pred.view(b, k, d // c, c) * std[mask].view(b, k, 1, c) + mean[mask].view(b, k, 1, c))
        pred = pred.reshape(b, k, d)
    out = patches.clone()
    out[mask] = pred.reshape(-1, d).to(out.dtype)
    grid = (pixels.shape[2] // cfg.tubelet_size, pixels.shape[3] // cfg.patch_size,
            pixels.shape[4] // cfg.patch_size)
    return unpatchify(out, grid, cfg.tubelet_size, cfg.patch_size)  # (B, C, T, H, W)
