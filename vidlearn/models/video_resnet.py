"""The R(2+1)D family: R2D, MCx, rMCx, R3D and R(2+1)D from one residual network.

A Closer Look at Spatiotemporal Convolutions for Action Recognition
Tran, Wang, Torresani, Ray, LeCun, Paluri. CVPR 2018. https://arxiv.org/abs/1711.11248

The idea: keep one ResNet and change only *where and how* it convolves time. R2D collapses time in its
first layer (the stem's kernel spans the whole clip) and is 2D after that; MCx ("mixed convolutions")
keeps 3D convs in the bottom groups 1..x-1 and uses 2D from group x on; rMCx is the reverse (2D at the
bottom, 3D from group x on); R3D is 3D everywhere; R(2+1)D factorises every t x d x d conv into a
1 x d x d spatial conv to M_i channels and a t x 1 x 1 temporal conv, with M_i chosen so the parameter
count stays the same (Sec. 3.5, ``vidlearn.layers.conv_builders.midplanes``). On Kinetics the paper finds
R(2+1)D > R3D > rMC3 > MC3 > R2D, and R(2+1)D's training error is lower at equal size ("easier to optimise").

    clip (B, 3, T, 112, 112)
      |  group 1: stem  d=7 conv, stride (1, 2, 2)             (3D, 2D, (2+1)D, or clip-wide for R2D)
      v
    (B, 64, T, 56, 56)
      |  group 2: conv2_x  [block] x n1                         one conv builder per group:
      |  group 3: conv3_x  [block] x n2, stride 2 (time too if the builder is temporal)
      |  group 4: conv4_x  [block] x n3, stride 2                 "3d" -> 3x3x3
      |  group 5: conv5_x  [block] x n4, stride 2                 "2d" -> 1x3x3
      v                                                          "2+1d" -> 1x3x3 -> BN-ReLU -> 3x1x1
    (B, 512, T/8, 7, 7) --> global average pool --> fc --> (B, num_classes)

block = two convs with BN, ReLU and an identity (or 1x1x1 strided) shortcut; depths 10/16/18/34.
Module names follow torchvision's ``VideoResNet``, so ``r3d_18``, ``mc3_18`` and ``r2plus1d_18`` load
torchvision's Kinetics-400 state dicts through ``weights=`` (a path or a state dict; nothing downloads).
Note on M_i: the released R(2+1)D weights (VMZ, torchvision) use a 45-channel stem and give *both* convs
of a block the M_i of its first conv (``mid_rule="torchvision"``, the default so those weights load);
``mid_rule="paper"`` applies Sec. 3.5 to every conv, which makes R(2+1)D-18 the size of R3D-18.
Shapes: input ``(B, 3, T, H, W)`` float (T = ``frames`` exactly for R2D), output ``(B, num_classes)``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Dict, Optional, Tuple, Union

import torch
import torch.nn as nn

from vidlearn.layers.checks import check_num_classes, check_video
from vidlearn.layers.conv_builders import ConvBuilder, conv_builder, midplanes
from vidlearn.registry import register_model
from vidlearn.weights import load_weights, read_state_dict

#: residual blocks per group conv2_x..conv5_x for each depth
DEPTHS: Dict[int, Tuple[int, int, int, int]] = {10: (1, 1, 1, 1), 16: (2, 2, 2, 1), 18: (2, 2, 2, 2),
                                                34: (3, 4, 6, 3)}


@dataclass(frozen=True)
class VideoResNetConfig:
    num_classes: int = 400  # Kinetics-400
    depth: int = 18  # 10, 16, 18 or 34
    # conv type of the five groups (conv1 = stem, conv2_x .. conv5_x): "3d", "2d" or "2+1d"
    convs: Tuple[str, str, str, str, str] = ("3d", "3d", "3d", "3d", "3d")
    widths: Tuple[int, int, int, int] = (64, 128, 256, 512)  # channels of conv2_x .. conv5_x
    mid_rule: str = "torchvision"  # M_i of (2+1)D convs: "torchvision" (released weights) or "paper"
    collapse_time: bool = False  # R2D: the stem's temporal kernel spans all `frames`, time is gone after it
    dropout: float = 0.0
    in_channels: int = 3
    frames: int = 16  # clip length (16 frames as in torchvision's Kinetics weights; 8 in the ablations)
    size: int = 112

    def __post_init__(self):
        check_num_classes(self.num_classes, f"{type(self).__name__}.num_classes")

    @classmethod
    def tiny(cls, **overrides) -> VideoResNetConfig:
        base = cls(num_classes=10, widths=(8, 16, 24, 32), frames=8, size=32)
        return replace(base, **overrides)


def mixed_convs(x: int, reverse: bool = False) -> Tuple[str, str, str, str, str]:
    """Conv types of MCx (3D in groups 1..x-1, 2D from group x on) or, with ``reverse``, of rMCx."""
    if not 2 <= x <= 5:
        raise ValueError(f"MCx / rMCx are defined for x in 2..5 (the paper's groups), got x={x}")
    bottom, top = ("2d", "3d") if reverse else ("3d", "2d")
    return tuple(bottom if g < x else top for g in range(1, 6))  # type: ignore[return-value]


def make_stem(conv: str, width: int, cfg: VideoResNetConfig) -> nn.Sequential:
    """Group 1: a d=7 conv with spatial stride 2 (no max pooling, as in the paper's Table 1)."""
    c = cfg.in_channels
    if cfg.collapse_time:  # R2D: one 2D conv over the 3L-channel clip == a T x 7 x 7 conv without padding
        first = nn.Conv3d(c, width, (cfg.frames, 7, 7), (1, 2, 2), (0, 3, 3), bias=False)
        return nn.Sequential(first, nn.BatchNorm3d(width), nn.ReLU(inplace=True))
    if conv == "2+1d":
        mid = round(45 * width / 64) if cfg.mid_rule == "torchvision" else midplanes(c, width, t=3, d=7)
        return nn.Sequential(
            nn.Conv3d(c, mid, (1, 7, 7), (1, 2, 2), (0, 3, 3), bias=False), nn.BatchNorm3d(mid),
            nn.ReLU(inplace=True),
            nn.Conv3d(mid, width, (3, 1, 1), 1, (1, 0, 0), bias=False), nn.BatchNorm3d(width),
            nn.ReLU(inplace=True),
        )
    t = 3 if conv == "3d" else 1
    conv_builder(conv)  # validates the name
    first = nn.Conv3d(c, width, (t, 7, 7), (1, 2, 2), (t // 2, 3, 3), bias=False)
    return nn.Sequential(first, nn.BatchNorm3d(width), nn.ReLU(inplace=True))


class BasicBlock(nn.Module):
    """Two ``builder`` convs with BN and ReLU plus a shortcut (1x1x1 strided conv when shapes change).

    Shape: ``(B, C_in, T, H, W) -> (B, C_out, T / s_t, H / s, W / s)``, ``s_t`` from the builder.
    """

    def __init__(self, in_ch: int, out_ch: int, builder: ConvBuilder, stride: int = 1,
                 mid_rule: str = "torchvision"):
        super().__init__()
        mid1 = midplanes(in_ch, out_ch)
        mid2 = mid1 if mid_rule == "torchvision" else midplanes(out_ch, out_ch)
        self.conv1 = nn.Sequential(builder(in_ch, out_ch, mid1, stride), nn.BatchNorm3d(out_ch),
                                   nn.ReLU(inplace=True))
        self.conv2 = nn.Sequential(builder(out_ch, out_ch, mid2), nn.BatchNorm3d(out_ch))
        self.downsample: Optional[nn.Sequential] = None
        if stride != 1 or in_ch != out_ch:
            self.downsample = nn.Sequential(
                nn.Conv3d(in_ch, out_ch, 1, stride=builder.downsample_stride(stride), bias=False),
                nn.BatchNorm3d(out_ch),
            )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)  # (B, C_out, T', H', W')
        return self.relu(self.conv2(self.conv1(x)) + shortcut)  # (B, C_out, T', H', W')


class VideoResNet(nn.Module):
    """One residual network for the whole family; ``cfg.convs`` picks the conv of each group.

    Shape:
        x: ``(B, C, T, H, W)`` float; R2D (``collapse_time``) needs exactly ``T = cfg.frames``.
        returns: ``(B, num_classes)`` logits.
    """

    min_size = (1, 1)  # padded convs and a global pool: any frame size

    def __init__(self, cfg: VideoResNetConfig):
        super().__init__()
        if cfg.depth not in DEPTHS:
            raise ValueError(f"depth must be one of {sorted(DEPTHS)}, got {cfg.depth}")
        if cfg.mid_rule not in ("torchvision", "paper"):
            raise ValueError(f"mid_rule must be 'torchvision' or 'paper', got {cfg.mid_rule!r}")
        if len(cfg.convs) != 5:
            raise ValueError(f"convs names the conv of 5 groups (stem + 4 stages), got {len(cfg.convs)}")
        self.cfg = cfg
        convs = ("2d",) * 5 if cfg.collapse_time else cfg.convs  # R2D is 2D once time is collapsed
        self.stem = make_stem(convs[0], cfg.widths[0], cfg)
        in_ch = cfg.widths[0]
        for i, (conv, width, n) in enumerate(zip(convs[1:], cfg.widths, DEPTHS[cfg.depth])):
            builder = conv_builder(conv)
            stride = 1 if i == 0 else 2
            blocks = []
            for j in range(n):
                blocks.append(BasicBlock(in_ch, width, builder, stride if j == 0 else 1, cfg.mid_rule))
                in_ch = width
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        self.avgpool = nn.AdaptiveAvgPool3d(1)
        self.dropout = nn.Dropout(cfg.dropout)
        self.fc = nn.Linear(in_ch, cfg.num_classes)
        self.num_features = in_ch
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm3d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled clip features ``(B, widths[-1])`` (the input of ``fc``)."""
        frames = self.cfg.frames if self.cfg.collapse_time else None
        check_video(x, channels=self.cfg.in_channels, frames=frames, model=type(self).__name__)
        x = self.stem(x)  # (B, 64, T, H/2, W/2)   (T = 1 for R2D)
        x = self.layer1(x)  # (B, 64, T, H/2, W/2)
        x = self.layer2(x)  # (B, 128, T/2, H/4, W/4)   (T unchanged where the group is 2D)
        x = self.layer3(x)  # (B, 256, T/4, H/8, W/8)
        x = self.layer4(x)  # (B, 512, T/8, H/16, W/16)
        return self.avgpool(x).flatten(1)  # (B, 512)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(self.forward_features(x)))  # (B, num_classes)

    def example_input(self, batch_size: int = 2, small: bool = False) -> torch.Tensor:
        """A random clip of the configured size (``small``: 4 frames of 32x32, or ``frames`` for R2D)."""
        t = self.cfg.frames if (not small or self.cfg.collapse_time) else 4
        s = 32 if small else self.cfg.size
        return torch.randn(batch_size, self.cfg.in_channels, t, s, s)

    def load_weights(self, weights: Union[str, Path, Dict[str, torch.Tensor]], strict: bool = True) -> None:
        """Load a state dict (or a path to one), e.g. torchvision's ``r3d_18`` Kinetics-400 weights.

        The key names are torchvision's, so ``torchvision.models.video.r2plus1d_18(weights=...).state_dict()``
        or the downloaded ``.pth`` file loads as is into ``r2plus1d_18()``.
        """
        state = read_state_dict(weights)  # a path is loaded with weights_only=True, errors name it
        try:
            load_weights(self, state, strict=strict)
        except ValueError as err:
            raise ValueError(
                f"these weights do not fit {type(self).__name__} with {self.cfg}; torchvision's weights need "
                f"num_classes=400, the default widths and mid_rule='torchvision'.\n{err}"
            ) from err


def _build(tiny: bool, overrides: dict, **recipe) -> VideoResNet:
    weights = overrides.pop("weights", None)
    base = VideoResNetConfig.tiny(**recipe) if tiny else VideoResNetConfig(**recipe)
    model = VideoResNet(replace(base, **overrides))
    if weights is not None:
        model.load_weights(weights)
    return model


@register_model
def r2d_18(tiny: bool = False, **overrides) -> VideoResNet:
    """R2D-18: time collapsed by the first conv, a 2D ResNet-18 after it (R(2+1)D paper, Fig. 1a)."""
    return _build(tiny, overrides, collapse_time=True)


@register_model
def fr2d_18(tiny: bool = False, **overrides) -> VideoResNet:
    """f-R2D-18: a 2D ResNet-18 on every frame, pooled over time only at the end (Fig. 1a, frame-wise)."""
    return _build(tiny, overrides, convs=("2d",) * 5)


@register_model
def mc3_18(tiny: bool = False, **overrides) -> VideoResNet:
    """MC3-18: 3D convs in groups 1-2, 2D in groups 3-5 (torchvision ``mc3_18``)."""
    return _build(tiny, overrides, convs=mixed_convs(3))


@register_model
def rmc3_18(tiny: bool = False, **overrides) -> VideoResNet:
    """rMC3-18: 2D convs in groups 1-2, 3D in groups 3-5."""
    return _build(tiny, overrides, convs=mixed_convs(3, reverse=True))


@register_model
def r3d_18(tiny: bool = False, **overrides) -> VideoResNet:
    """R3D-18: 3 x 3 x 3 convs everywhere (torchvision ``r3d_18``)."""
    return _build(tiny, overrides)


@register_model
def r3d_34(tiny: bool = False, **overrides) -> VideoResNet:
    """R3D-34: the 34-layer R3D the paper compares with R(2+1)D-34."""
    return _build(tiny, overrides, depth=34)


@register_model
def r2plus1d_18(tiny: bool = False, **overrides) -> VideoResNet:
    """R(2+1)D-18: every 3D conv factorised into space then time (torchvision ``r2plus1d_18``)."""
    return _build(tiny, overrides, convs=("2+1d",) * 5)


@register_model
def r2plus1d_34(tiny: bool = False, **overrides) -> VideoResNet:
    """R(2+1)D-34: the paper's main Kinetics / Sports-1M model."""
    return _build(tiny, overrides, convs=("2+1d",) * 5, depth=34)
