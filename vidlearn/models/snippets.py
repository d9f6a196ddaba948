"""Beyond Short Snippets: pooling and LSTMs over the frame features of long clips.

Beyond Short Snippets: Deep Networks for Video Classification
Joe Yue-Hei Ng, Matthew Hausknecht, Sudheendra Vijayanarasimhan, Oriol Vinyals, Rajat Monga,
George Toderici. CVPR 2015. https://arxiv.org/abs/1503.08909

The idea: DeepVideo and Two-Stream see about a second of video. Run an ImageNet-style 2D CNN
(GoogLeNet) on many frames (30 to 120) and learn how to aggregate their features over time. Two
families (Sec. 3): feature pooling, where max-pooling over time sits at different places of the network
(Fig. 2), and a 5-layer LSTM over the per-frame features whose per-frame predictions are combined over
time. Conv pooling (max over time of the last conv maps, before the FC layers) was the best pooling;
on Sports-1M conv pooling and the LSTM end up close (72.3% vs 73.1% hit@1, 120 / 30 frames), both
well above a single frame; on UCF-101 with flow both reach about 88%.

    frames (B, 3, T, H, W) --(B*T)--[2D CNN]--> conv maps (B, T, D, h, w)
      conv       max over T ----------------------------> FC FC -> scores
      late       FC FC per frame -> max over T ---------------------> scores
      slow       max over windows of 10 (stride 5) -> FC per window -> max over windows -> FC -> scores
      local      max over windows of 10 (stride 5) -> FC FC per window -> concat windows -> scores
      time_conv  3D conv 3x3 x 10 frames (stride 5 in time, 256 maps) -> max over T -> FC FC -> scores
      lstm       pooled features (B, T, D) -> 5 x LSTM(512) -> per-frame scores -> combined over T -> scores

Paper size: GoogLeNet (torchvision's, with batch norm, ``weights=None``), 30 frames of 224x224, two FC
layers of 4096, Sports-1M's 487 classes. After pooling over time the conv maps are averaged over space
as GoogLeNet's own head does. Shapes: input ``(B, 3, T, H, W)`` float, output ``(B, num_classes)`` logits.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Tuple

import torch
import torch.nn as nn
from einops import rearrange

from vidlearn.layers.checks import check_num_classes, check_video, min_side
from vidlearn.layers.cnn2d import WeightsLike, build_backbone
from vidlearn.registry import register_model

POOLINGS = ("conv", "late", "slow", "local", "time_conv")
COMBINES = ("mean", "max", "last", "weighted")


@dataclass(frozen=True)
class SnippetsConfig:
    num_classes: int = 487  # Sports-1M
    in_channels: int = 3
    backbone: str = "googlenet"  # any of cnn2d.BACKBONES
    widths: Tuple[int, ...] = (16, 32, 64)  # only for backbone="tiny"
    frames: int = 30
    size: int = 224
    pooling: str = "conv"  # feature pooling: one of POOLINGS
    window: int = 10  # slow / local pooling and time-domain conv: frames per window
    window_stride: int = 5
    time_conv_channels: int = 256
    fc_dim: int = 4096
    dropout: float = 0.5
    lstm_layers: int = 5
    lstm_hidden: int = 512
    combine: str = "weighted"  # LSTM: how per-frame predictions become one (one of COMBINES)

    def __post_init__(self):
        check_num_classes(self.num_classes, f"{type(self).__name__}.num_classes")

    @classmethod
    def tiny(cls, **overrides) -> SnippetsConfig:
        base = cls(num_classes=10, backbone="tiny", widths=(32, 64, 96), frames=8, size=32, window=4,
                   window_stride=2, time_conv_channels=32, fc_dim=64, dropout=0.2, lstm_layers=2,
                   lstm_hidden=64)
        return replace(base, **overrides)


def _fc(in_dim: int, out_dim: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Linear(in_dim, out_dim), nn.ReLU(inplace=True), nn.Dropout(dropout))


def _windows(x: torch.Tensor, size: int, stride: int) -> torch.Tensor:
    """Max over sliding temporal windows: ``(B, T, ...) -> (B, N, ...)``, ``N = (T - size) // stride + 1``."""
    return x.unfold(1, size, stride).amax(dim=-1)  # (B, N, ...)


class FeaturePooling(nn.Module):
    """A 2D CNN on every frame, its features max-pooled over time where ``pooling`` says.

    Shape:
        x: ``(B, C, T, H, W)`` float; ``T >= 1`` (conv, late), ``T >= window`` (slow, time_conv),
            ``T == frames`` (local: one classifier input per window).
        returns: ``(B, num_classes)`` logits.
    """

    def __init__(self, cfg: SnippetsConfig, weights: WeightsLike | None = None):
        super().__init__()
        if cfg.pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {cfg.pooling!r}; expected one of {', '.join(POOLINGS)}")
        self.cfg = cfg
        self.backbone = build_backbone(cfg.backbone, cfg.in_channels, cfg.widths, weights)
        self.min_size = (min_side(self.backbone),) * 2  # smallest H x W the 2D CNN takes (GoogLeNet: 15)
        d, f = self.backbone.out_dim, cfg.fc_dim
        if cfg.pooling == "time_conv":
            w = cfg.window
            self.time_conv = nn.Sequential(
                nn.Conv3d(d, cfg.time_conv_channels, (w, 3, 3), (cfg.window_stride, 1, 1), (0, 1, 1)),
                nn.ReLU(inplace=True))
            d = cfg.time_conv_channels
        self.fc6 = _fc(d, f, cfg.dropout)
        self.fc7 = _fc(f, f, cfg.dropout)
        n_windows = (cfg.frames - cfg.window) // cfg.window_stride + 1
        if cfg.pooling == "local" and n_windows < 1:
            raise ValueError(f"local pooling needs frames >= window, got frames={cfg.frames}, window={cfg.window}")
        self.classifier = nn.Linear(f * (n_windows if cfg.pooling == "local" else 1), cfg.num_classes)

    def _check(self, x: torch.Tensor) -> None:
        name, c, p = f"FeaturePooling({self.cfg.pooling})", self.cfg.in_channels, self.cfg.pooling
        if p == "local":
            check_video(x, channels=c, frames=self.cfg.frames, min_size=self.min_size, model=name)
        else:
            check_video(x, channels=c, min_frames=self.cfg.window if p in ("slow", "time_conv") else 1,
                        min_size=self.min_size, model=name)

    def conv_maps(self, x: torch.Tensor) -> torch.Tensor:
        """The 2D CNN's last conv maps of every frame: ``(B, C, T, H, W) -> (B, T, D, h, w)``."""
        self._check(x)
        maps = self.backbone.forward_map(rearrange(x, "b c t h w -> (b t) c h w"))  # (B*T, D, h, w)
        return rearrange(maps, "(b t) d h w -> b t d h w", t=x.shape[2])  # (B, T, D, h, w)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The classifier's input: ``(B, fc_dim)`` (``local``: ``(B, windows * fc_dim)``)."""
        m = self.conv_maps(x)  # (B, T, D, h, w)
        p, w, s = self.cfg.pooling, self.cfg.window, self.cfg.window_stride
        if p == "conv":
            return self.fc7(self.fc6(m.amax(dim=1).mean(dim=(2, 3))))  # max over T, mean over space: (B, F)
        if p == "late":
            return self.fc7(self.fc6(m.mean(dim=(3, 4)))).amax(dim=1)  # FC per frame, then max: (B, F)
        if p == "slow":
            win = _windows(m, w, s).mean(dim=(3, 4))  # (B, N, D)
            return self.fc7(self.fc6(win).amax(dim=1))  # FC per window, max over windows: (B, F)
        if p == "local":
            win = _windows(m, w, s).mean(dim=(3, 4))  # (B, N, D)
            return self.fc7(self.fc6(win)).flatten(1)  # (B, N*F)
        z = self.time_conv(rearrange(m, "b t d h w -> b d t h w"))  # (B, 256, T', h, w)
        return self.fc7(self.fc6(z.amax(dim=2).mean(dim=(2, 3))))  # (B, F)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.forward_features(x))  # (B, num_classes)

    def example_input(self, batch_size: int = 2, small: bool = False) -> torch.Tensor:
        """Random ``(B, C, frames, H, W)``; ``small``: the fewest frames the pooling takes, 64x64."""
        t, s = self.cfg.frames, self.cfg.size
        if small:
            t = {"conv": 2, "late": 2, "local": t}.get(self.cfg.pooling, self.cfg.window)
            s = min(64, s)
        return torch.randn(batch_size, self.cfg.in_channels, t, s, s)


class LSTMSnippets(nn.Module):
    """Stacked LSTM over per-frame CNN features; per-frame predictions combined over time.

    ``combine``: ``mean``/``max`` of the per-frame softmax, ``last`` frame's prediction, or ``weighted``:
    a weighted mean whose weight grows linearly with time (late frames have seen more of the video).

    Shape:
        x: ``(B, C, T, H, W)`` float, any ``T >= 1``.
        returns: ``(B, num_classes)`` logits (the log of the combined distribution, or the last logits).
    """

    def __init__(self, cfg: SnippetsConfig, weights: WeightsLike | None = None):
        super().__init__()
        if cfg.combine not in COMBINES:
            raise ValueError(f"unknown combine {cfg.combine!r}; expected one of {', '.join(COMBINES)}")
        self.cfg = cfg
        self.backbone = build_backbone(cfg.backbone, cfg.in_channels, cfg.widths, weights)
        self.min_size = (min_side(self.backbone),) * 2  # smallest H x W the 2D CNN takes (GoogLeNet: 15)
        self.dropout = nn.Dropout(cfg.dropout)
        self.lstm = nn.LSTM(self.backbone.out_dim, cfg.lstm_hidden, cfg.lstm_layers, batch_first=True)
        self.classifier = nn.Linear(cfg.lstm_hidden, cfg.num_classes)
        # the combine weights g_t for the configured clip length, built once; a buffer follows .to(device)
        # and is not saved (persistent=False), so state dicts keep their keys
        self.register_buffer("combine_weights", self._combine_weights(cfg.frames, torch.device("cpu")),
                             persistent=False)

    def _combine_weights(self, t: int, device: torch.device) -> torch.Tensor:
        """``(T,)`` weights summing to 1: equal for ``mean``, growing linearly (1, 2, ..., T) for ``weighted``."""
        g = torch.ones(t, device=device) if self.cfg.combine == "mean" else torch.arange(1, t + 1, device=device)
        return g.float() / g.sum()

    def forward_frames(self, x: torch.Tensor) -> torch.Tensor:
        """Per-frame logits ``(B, T, num_classes)``: frame t's prediction has seen frames 1..t."""
        check_video(x, channels=self.cfg.in_channels, min_size=self.min_size, model="LSTMSnippets")
        feats = self.backbone(rearrange(x, "b c t h w -> (b t) c h w"))  # (B*T, D)
        feats = rearrange(self.dropout(feats), "(b t) d -> b t d", t=x.shape[2])  # (B, T, D)
        hidden, _ = self.lstm(feats)  # (B, T, hidden)
        return self.classifier(self.dropout(hidden))  # (B, T, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.forward_frames(x)  # (B, T, num_classes)
        if self.cfg.combine == "last":
            return logits[:, -1]  # (B, num_classes)
        probs = logits.softmax(-1)  # (B, T, num_classes)
        if self.cfg.combine == "max":
            p = probs.amax(dim=1)
            p = p / p.sum(-1, keepdim=True)  # (B, num_classes)
        else:
            t = probs.shape[1]
            g = self.combine_weights if t == len(self.combine_weights) else self._combine_weights(t, probs.device)
            g = g.to(probs.dtype)  # (T,)
            p = torch.einsum("btk,t->bk", probs, g)  # (B, num_classes)
        return p.clamp_min(1e-12).log()  # (B, num_classes)

    def example_input(self, batch_size: int = 2, small: bool = False) -> torch.Tensor:
        """Random ``(B, C, frames, H, W)``; ``small``: 2 frames of 64x64."""
        t, s = (2, min(64, self.cfg.size)) if small else (self.cfg.frames, self.cfg.size)
        return torch.randn(batch_size, self.cfg.in_channels, t, s, s)


def _config(tiny: bool, overrides: dict) -> SnippetsConfig:
    return SnippetsConfig.tiny(**overrides) if tiny else replace(SnippetsConfig(), **overrides)


@register_model
def conv_pooling(tiny: bool = False, weights: WeightsLike | None = None, **overrides) -> FeaturePooling:
    """Beyond Short Snippets feature pooling (Ng et al. 2015); ``pooling=`` conv (default), late, slow,
    local or time_conv. ``weights``: optional state dict/path of the 2D backbone."""
    return FeaturePooling(_config(tiny, overrides), weights)


@register_model
def lstm_snippets(tiny: bool = False, weights: WeightsLike | None = None, **overrides) -> LSTMSnippets:
    """Beyond Short Snippets LSTM (5 x 512 cells at paper size); ``combine=`` mean, max, last, weighted."""
    return LSTMSnippets(_config(tiny, overrides), weights)
