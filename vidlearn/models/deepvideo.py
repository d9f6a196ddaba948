"""DeepVideo: the single-frame baseline of the first large-scale CNN video study.

Large-scale Video Classification with Convolutional Neural Networks
Karpathy, Toderici, Shetty, Leung, Sukthankar, Fei-Fei. CVPR 2014.
https://cs.stanford.edu/people/karpathy/deepvideo/

The idea: before asking *how* a CNN should merge time, measure how far a network that never merges
time gets. ``single_frame`` runs an AlexNet-like 2D tower on every frame independently and averages
the per-frame class scores over the clip, exactly the paper's way of turning frame predictions into a
video prediction. On data whose class lives only in motion it must stay at chance, however well it
is trained; on appearance-biased data (like Sports-1M) it is a strong baseline: the paper's
single-frame model reached 59.3% clip hit@1 against 60.9% for the best (slow fusion) model.

    clip (B, C, T, H, W)
         |  fold time into the batch
         v
    frames (B*T, C, H, W) --> [2D tower: conv-norm-pool x2, conv x3, pool] --> fc --> fc --> scores
                                                                                             |
    video scores (B, K) <------------------- average over the T frames <---------------------+

The tower at paper size is the paper's C(96,11,3)-N-P-C(256,5,1)-N-P-C(384,3,1)-C(384,3,1)-C(256,3,1)-P-
FC(4096)-FC(4096) on 170x170 crops; ``tiny=True`` keeps the same structure at widths a CPU trains in
minutes. Shapes: input ``(B, 3, T, H, W)`` float, output ``(B, num_classes)`` logits.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Tuple

import torch
import torch.nn as nn
from einops import rearrange

from vidlearn.layers.checks import check_video
from vidlearn.registry import register_model


@dataclass(frozen=True)
class DeepVideoConfig:
    num_classes: int = 487  # Sports-1M has 487 classes
    in_channels: int = 3
    # (out_channels, kernel, stride) of the five conv layers, as in the paper's Figure 1 caption
    convs: Tuple[Tuple[int, int, int], ...] = ((96, 11, 3), (256, 5, 1), (384, 3, 1), (384, 3, 1), (256, 3, 1))
    fc_dim: int = 4096
    dropout: float = 0.5
    frames: int = 10  # frames the model sees at paper size
    size: int = 170  # the paper's crop size

    @classmethod
    def tiny(cls, **overrides) -> "DeepVideoConfig":
        base = cls(num_classes=10, convs=((16, 5, 2), (32, 3, 1), (48, 3, 1), (48, 3, 1), (32, 3, 1)),
                   fc_dim=64, dropout=0.2, frames=8, size=32)
        return replace(base, **overrides)


class Tower2D(nn.Module):
    """The paper's 2D feature tower: C-N-P, C-N-P, C, C, C-P, then global pooling.

    Local response normalisation (N) is kept as in the paper (AlexNet, 2012); the last pooling is
    adaptive so the tower takes any frame size at least as large as its receptive field.

    Shape: ``(N, C, H, W) -> (N, D)`` with ``D = convs[-1][0] * 2 * 2``.
    """

    def __init__(self, in_channels: int, convs: Tuple[Tuple[int, int, int], ...]):
        super().__init__()
        (c1, k1, s1), (c2, k2, s2), (c3, k3, _), (c4, k4, _), (c5, k5, _) = convs
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, c1, k1, s1, padding=k1 // 2), nn.ReLU(inplace=True),
            nn.LocalResponseNorm(5), nn.MaxPool2d(3, 2, padding=1),
            nn.Conv2d(c1, c2, k2, s2, padding=k2 // 2), nn.ReLU(inplace=True),
            nn.LocalResponseNorm(5), nn.MaxPool2d(3, 2, padding=1),
            nn.Conv2d(c2, c3, k3, padding=k3 // 2), nn.ReLU(inplace=True),
            nn.Conv2d(c3, c4, k4, padding=k4 // 2), nn.ReLU(inplace=True),
            nn.Conv2d(c4, c5, k5, padding=k5 // 2), nn.ReLU(inplace=True),
            nn.AdaptiveMaxPool2d(2),
        )
        self.out_dim = c5 * 4

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x).flatten(1)  # (N, D)


class SingleFrame(nn.Module):
    """Single-frame baseline: a 2D CNN on each frame, class scores averaged over time.

    Shape:
        x: ``(B, C, T, H, W)`` float; any ``T >= 1``.
        returns: ``(B, num_classes)`` logits (the mean of the per-frame logits).
    """

    def __init__(self, cfg: DeepVideoConfig):
        super().__init__()
        self.cfg = cfg
        self.tower = Tower2D(cfg.in_channels, cfg.convs)
        self.head = nn.Sequential(
            nn.Linear(self.tower.out_dim, cfg.fc_dim), nn.ReLU(inplace=True), nn.Dropout(cfg.dropout),
            nn.Linear(cfg.fc_dim, cfg.fc_dim), nn.ReLU(inplace=True), nn.Dropout(cfg.dropout),
            nn.Linear(cfg.fc_dim, cfg.num_classes),
        )

    def forward_frames(self, x: torch.Tensor) -> torch.Tensor:
        """Per-frame logits ``(B, T, num_classes)``."""
        check_video(x, channels=self.cfg.in_channels, model=type(self).__name__)
        b = x.shape[0]
        frames = rearrange(x, "b c t h w -> (b t) c h w")  # (B*T, C, H, W)
        logits = self.head(self.tower(frames))  # (B*T, K)
        return rearrange(logits, "(b t) k -> b t k", b=b)  # (B, T, K)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_frames(x).mean(dim=1)  # (B, K)

    def example_input(self, batch_size: int = 2, small: bool = False) -> torch.Tensor:
        """A random input of the size this model was configured for (``small``: 2 frames of 64x64)."""
        t, s = (2, 64) if small else (self.cfg.frames, self.cfg.size)
        return torch.randn(batch_size, self.cfg.in_channels, t, s, s)


def _config(tiny: bool, overrides: dict) -> DeepVideoConfig:
    return DeepVideoConfig.tiny(**overrides) if tiny else replace(DeepVideoConfig(), **overrides)


@register_model
def single_frame(tiny: bool = False, **overrides) -> SingleFrame:
    """DeepVideo's single-frame model (Karpathy et al. 2014): no temporal fusion at all."""
    return SingleFrame(_config(tiny, overrides))
