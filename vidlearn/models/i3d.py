"""I3D: the Two-Stream Inflated 3D ConvNet (Inception-v1 inflated to 3D).

Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset
Carreira, Zisserman. CVPR 2017. https://arxiv.org/abs/1705.07750

The idea: take a strong image network (Inception-v1 with batch norm) and *inflate* it: every N x N
filter and pool becomes N x N x N, so the video network inherits a proven design, and its ImageNet
weights can be bootstrapped into 3D (``vidlearn.layers.inflate``: repeat along time, divide by t, so a
static "boring" video gives the image network's response). The first two max pools do not pool time
(1x3x3) and the final average pool is 2x7x7, so the receptive field grows in time at the right rate. An
RGB I3D and a flow I3D (two input channels) are trained separately and their predictions averaged: the
two-stream I3D reached 74.2% top-1 on Kinetics-400 and, Kinetics-pretrained, 98.0% on UCF101.

    clip (B, 3, 64, 224, 224)
      Conv 7x7x7 /2  ->  MaxPool 1x3x3 /(1,2,2)  ->  Conv 1x1x1  ->  Conv 3x3x3  ->  MaxPool 1x3x3 /(1,2,2)
      (B, 64, 32, 112, 112)                                           (B, 192, 32, 28, 28)
      Inc 3a, 3b  ->  MaxPool 3x3x3 /2  ->  Inc 4a..4e  ->  MaxPool 2x2x2 /2  ->  Inc 5a, 5b
      (B, 480, 32, 28, 28)       (B, 832, 16, 14, 14)                     (B, 1024, 8, 7, 7)
      AvgPool 2x7x7 (stride 1)  ->  dropout  ->  1x1x1 conv to classes  ->  mean over time  ->  (B, 400)

    Inc block:  [1x1x1] | [1x1x1 -> 3x3x3] | [1x1x1 -> 3x3x3] | [MaxPool 3x3x3 -> 1x1x1]  --concat-->

Module names follow torchvision's ``GoogLeNet`` (``conv1``, ``inception3a.branch2.1.conv``...; the
paper's Mixed_3b is our ``inception3a``) so ``I3D.inflate_from(googlenet.state_dict())`` bootstraps
ImageNet weights. Like the released I3D (and torchvision's GoogLeNet), the "5x5" branch uses 3x3x3.
Padding is TensorFlow's ``'SAME'`` everywhere, as in the released I3D (deepmind/kinetics-i3d ``i3d.py``:
``Unit3D`` and every ``max_pool3d`` use ``snt.SAME``): strided layers pad more after than before
(:func:`same_padding`), so conv1 and the pools see the windows the released weights were trained on.
torchvision's GoogLeNet pads conv1 3 | 3 instead of 2 | 3, so an inflated conv1 matches it on a static
clip only up to that one-pixel shift.
The head pools space globally (7x7 at 224 px) and time with a 2-frame window, then classifies; the
1x1x1 logits conv is an ``nn.Linear`` (the same map) and averaging logits over time equals classifying
the time-averaged features. The ResNet-50 I3D of the non-local paper (``i3d_r50``) is in ``non_local.py``.
Shapes: input ``(B, 3, T, H, W)`` (``(B, 2, T, H, W)`` flow), output ``(B, num_classes)``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Mapping, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from vidlearn.layers.checks import check_num_classes, check_pair, check_video
from vidlearn.layers.inflate import InflationReport, inflate_state_dict
from vidlearn.registry import register_model
from vidlearn.weights import load_weights

#: Inception-v1 blocks: (name, in, 1x1, 3x3 reduce, 3x3, "5x5" reduce, "5x5", pool proj); out = sum
INCEPTION: Tuple[Tuple[str, int, int, int, int, int, int, int], ...] = (
    ("inception3a", 192, 64, 96, 128, 16, 32, 32),
    ("inception3b", 256, 128, 128, 192, 32, 96, 64),
    ("inception4a", 480, 192, 96, 208, 16, 48, 64),
    ("inception4b", 512, 160, 112, 224, 24, 64, 64),
    ("inception4c", 512, 128, 128, 256, 24, 64, 64),
    ("inception4d", 512, 112, 144, 288, 32, 64, 64),
    ("inception4e", 528, 256, 160, 320, 32, 128, 128),
    ("inception5a", 832, 256, 160, 320, 32, 128, 128),
    ("inception5b", 832, 384, 192, 384, 48, 128, 128),
)


@dataclass(frozen=True)
class I3DConfig:
    num_classes: int = 400  # Kinetics-400
    in_channels: int = 3  # 3 for RGB, 2 for the flow stream
    width_mult: float = 1.0  # scales every channel count (tiny: 1/8)
    dropout: float = 0.5
    frames: int = 64  # the paper trains on 64-frame clips
    size: int = 224

    def __post_init__(self):
        check_num_classes(self.num_classes, f"{type(self).__name__}.num_classes")

    @classmethod
    def tiny(cls, **overrides) -> I3DConfig:
        # 16 frames: the 8x temporal stride leaves 2 steps, so BatchNorm trains on a batch of one clip
        return replace(cls(num_classes=10, width_mult=0.125, dropout=0.2, frames=16, size=32), **overrides)


def same_padding(x: torch.Tensor, kernel: Sequence[int], stride: Sequence[int], value: float = 0.0) -> torch.Tensor:
    """Pad ``x`` as TensorFlow's ``'SAME'`` does for a ``kernel`` / ``stride`` window over (T, H, W).

    The output of the window is ``ceil(n / s)`` long; the padding that takes, ``max(k - s, 0)`` when ``s``
    divides ``n`` (else ``max(k - n % s, 0)``), goes half before and the rest *after*: a 7x7 stride-2 conv on
    224 pixels pads 2 before and 3 after, a 3x3 stride-2 pool on 112 pads 0 before and 1 after. PyTorch's
    symmetric ``padding`` gives the same sizes but windows shifted by a pixel, so the released weights
    would see other inputs. Pools pad with ``-inf`` (TF ignores padded cells in a max).

    Shape: ``(B, C, T, H, W) -> (B, C, T + pt, H + ph, W + pw)``.
    """
    pads: list = []
    for n, k, s in zip(reversed(x.shape[2:]), reversed(kernel), reversed(stride)):  # W, H, T: F.pad's order
        total = max(k - s, 0) if n % s == 0 else max(k - n % s, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads, value=value)


class Unit3D(nn.Module):
    """Conv3d (no bias, ``'SAME'`` padding) + BatchNorm3d (eps 1e-3) + ReLU, as the released I3D's Unit3D.

    Stride-1 convs with odd kernels pad ``k // 2`` on both sides, which is ``'SAME'``; strided ones (only
    conv1, 7x7x7 stride 2) pad at run time with :func:`same_padding`.
    """

    def __init__(self, cin: int, cout: int, kernel: Union[int, Tuple[int, int, int]], stride=1):
        super().__init__()
        k = (kernel,) * 3 if isinstance(kernel, int) else tuple(kernel)
        st = (stride,) * 3 if isinstance(stride, int) else tuple(stride)
        self.dynamic = any(s != 1 for s in st) or any(n % 2 == 0 for n in k)
        padding = 0 if self.dynamic else tuple(n // 2 for n in k)
        self.conv = nn.Conv3d(cin, cout, k, st, padding, bias=False)
        self.bn = nn.BatchNorm3d(cout, eps=1e-3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.dynamic:
            x = same_padding(x, self.conv.kernel_size, self.conv.stride)  # (B, cin, T + pt, H + ph, W + pw)
        return F.relu(self.bn(self.conv(x)), inplace=True)  # (B, cout, ceil(T/s), ceil(H/s), ceil(W/s))


class MaxPool3dSame(nn.MaxPool3d):
    """``nn.MaxPool3d`` with TensorFlow's ``'SAME'`` padding (the released I3D's pools).

    Shape: ``(B, C, T, H, W) -> (B, C, ceil(T/s_t), ceil(H/s), ceil(W/s))``.
    """

    def __init__(self, kernel_size, stride):
        super().__init__(kernel_size, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = (self.kernel_size,) * 3 if isinstance(self.kernel_size, int) else self.kernel_size
        st = (self.stride,) * 3 if isinstance(self.stride, int) else self.stride
        return super().forward(same_padding(x, k, st, value=float("-inf")))  # (B, C, T', H', W')


class Inception3D(nn.Module):
    """An inflated Inception block: four branches concatenated along channels.

    Shape: ``(B, C_in, T, H, W) -> (B, c1 + c3 + c5 + cp, T, H, W)``.
    """

    def __init__(self, cin: int, c1: int, c3r: int, c3: int, c5r: int, c5: int, cp: int):
        super().__init__()
        self.branch1 = Unit3D(cin, c1, 1)
        self.branch2 = nn.Sequential(Unit3D(cin, c3r, 1), Unit3D(c3r, c3, 3))
        self.branch3 = nn.Sequential(Unit3D(cin, c5r, 1), Unit3D(c5r, c5, 3))
        self.branch4 = nn.Sequential(nn.MaxPool3d(3, 1, 1), Unit3D(cin, cp, 1))  # stride 1: 'SAME' is k // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = [self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)]
        return torch.cat(branches, dim=1)  # (B, c1 + c3 + c5 + cp, T, H, W)


class I3D(nn.Module):
    """Inception-v1 I3D for one stream (RGB or flow).

    Shape:
        x: ``(B, in_channels, T, H, W)`` float; padding keeps every layer defined down to 1 x 1 x 1, but
        the network downsamples T by 8 and H, W by 32, so use ``T >= 8``, ``H, W >= 32`` for real work.
        returns: ``(B, num_classes)`` logits.
    """

    min_size = (1, 1)  # padding keeps every layer defined down to 1 x 1

    def __init__(self, cfg: I3DConfig):
        super().__init__()
        self.cfg = cfg

        def w(c: int) -> int:
            return max(1, round(c * cfg.width_mult))

        self.conv1 = Unit3D(cfg.in_channels, w(64), 7, stride=2)
        self.maxpool1 = MaxPool3dSame((1, 3, 3), (1, 2, 2))
        self.conv2 = Unit3D(w(64), w(64), 1)
        self.conv3 = Unit3D(w(64), w(192), 3)
        self.maxpool2 = MaxPool3dSame((1, 3, 3), (1, 2, 2))
        for name, cin, *outs in INCEPTION:
            setattr(self, name, Inception3D(w(cin), *[w(c) for c in outs]))
            if name == "inception3b":
                self.maxpool3 = MaxPool3dSame(3, 2)
            elif name == "inception4e":
                self.maxpool4 = MaxPool3dSame(2, 2)
        self.num_features = w(384) + w(384) + w(128) + w(128)
        self.dropout = nn.Dropout(cfg.dropout)
        self.fc = nn.Linear(self.num_features, cfg.num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Clip features ``(B, 1024)``: the 2x7x7 average pool's outputs averaged over time."""
        check_video(x, channels=self.cfg.in_channels, model="I3D")
        x = self.maxpool1(self.conv1(x))  # (B, 64, T/2, H/4, W/4)
        x = self.maxpool2(self.conv3(self.conv2(x)))  # (B, 192, T/2, H/8, W/8)
        x = self.inception3b(self.inception3a(x))  # (B, 480, T/2, H/8, W/8)
        x = self.maxpool3(x)  # (B, 480, T/4, H/16, W/16)
        for name in ("inception4a", "inception4b", "inception4c", "inception4d", "inception4e"):
            x = getattr(self, name)(x)  # (B, 512..832, T/4, H/16, W/16)
        x = self.maxpool4(x)  # (B, 832, T/8, H/32, W/32)
        x = self.inception5b(self.inception5a(x))  # (B, 1024, T/8, H/32, W/32)
        x = x.mean(dim=(-2, -1))  # (B, 1024, T')    the 7x7 spatial average at 224 px
        x = F.avg_pool1d(x, min(2, x.shape[-1]), stride=1)  # (B, 1024, T'-1)   the 2-frame window
        return x.mean(dim=-1)  # (B, 1024)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(self.forward_features(x)))  # (B, num_classes)

    def example_input(self, batch_size: int = 2, small: bool = False) -> torch.Tensor:
        """A random clip of the configured size (``small``: 8 frames of 32x32)."""
        t, s = (8, 32) if small else (self.cfg.frames, self.cfg.size)
        return torch.randn(batch_size, self.cfg.in_channels, t, s, s)

    def inflate_from(self, state_2d: Mapping[str, torch.Tensor], method: str = "bootstrap",
                     strict: bool = False) -> InflationReport:
        """Bootstrap 2D Inception-v1 weights (torchvision ``googlenet().state_dict()``) into this I3D.

        A flow I3D gets the RGB first-layer kernels averaged over colour (cross-modality init).
        The classifier is skipped when the class counts differ; the report lists every key.
        """
        return inflate_state_dict(state_2d, self, method=method, strict=strict)


class I3DTwoStream(nn.Module):
    """Two-stream I3D: an RGB I3D and a flow I3D, trained separately, predictions averaged.

    Shape:
        x: ``(rgb, flow)`` with rgb ``(B, 3, T, H, W)`` and flow ``(B, 2, T, H, W)``.
        returns: ``(B, num_classes)`` logits, the mean of the two streams' logits
        (``forward_streams`` returns both).
    """

    min_size = I3D.min_size

    def __init__(self, cfg: I3DConfig):
        super().__init__()
        self.cfg = cfg
        self.rgb = I3D(replace(cfg, in_channels=3))
        self.flow = I3D(replace(cfg, in_channels=2))

    def forward_streams(self, x: Sequence[torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
        """Logits of each stream: ``((B, num_classes), (B, num_classes))``."""
        rgb, flow = check_pair(x, "I3DTwoStream")
        check_video(rgb, channels=3, name="rgb", model="I3DTwoStream")
        check_video(flow, channels=2, name="flow", model="I3DTwoStream")
        return self.rgb(rgb), self.flow(flow)

    def forward(self, x: Sequence[torch.Tensor]) -> torch.Tensor:
        rgb_logits, flow_logits = self.forward_streams(x)  # (B, num_classes), (B, num_classes)
        return (rgb_logits + flow_logits) / 2  # (B, num_classes)

    def example_input(self, batch_size: int = 2, small: bool = False) -> Tuple[torch.Tensor, torch.Tensor]:
        """A random ``(rgb, flow)`` pair of the configured size (``small``: 8 frames of 32x32)."""
        t, s = (8, 32) if small else (self.cfg.frames, self.cfg.size)
        return torch.randn(batch_size, 3, t, s, s), torch.randn(batch_size, 2, t, s, s)


def _config(tiny: bool, overrides: dict) -> I3DConfig:
    return I3DConfig.tiny(**overrides) if tiny else replace(I3DConfig(), **overrides)


def _with_weights(model: nn.Module, weights: Union[str, Path, Mapping[str, torch.Tensor], None]) -> nn.Module:
    """Load a saved state dict of this very architecture (``weights=`` path or dict); nothing downloads."""
    if weights is not None:
        load_weights(model, weights)  # weights_only=True; names the file, the keys and the shapes
    return model


@register_model
def i3d(tiny: bool = False, **overrides) -> I3D:
    """RGB I3D (Carreira & Zisserman 2017): Inception-v1 inflated to 3D, Kinetics-400 head."""
    weights = overrides.pop("weights", None)
    return _with_weights(I3D(_config(tiny, overrides)), weights)


@register_model
def i3d_flow(tiny: bool = False, **overrides) -> I3D:
    """Flow I3D: the same network on 2-channel optical flow (x, y displacements)."""
    weights = overrides.pop("weights", None)
    return _with_weights(I3D(_config(tiny, {"in_channels": 2, **overrides})), weights)


@register_model
def i3d_two_stream(tiny: bool = False, **overrides) -> I3DTwoStream:
    """Two-stream I3D: RGB and flow I3Ds with their logits averaged; input ``(rgb, flow)``."""
    weights = overrides.pop("weights", None)
    return _with_weights(I3DTwoStream(_config(tiny, overrides)), weights)
