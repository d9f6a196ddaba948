"""C2D, I3D and non-local ResNet-50: the video ResNets of the non-local paper.

Non-local Neural Networks
Wang, Girshick, Gupta, He. CVPR 2018. https://arxiv.org/abs/1711.07971

The idea: a non-local block (``vidlearn.layers.non_local``) lets every space-time position attend to all
others in one step, and inserting a few of them into a video ResNet beats making its convolutions 3D.
The baselines: C2D, a ResNet-50 whose kernels are all 2D (time enters only through pooling), and I3D,
the same network with some kernels inflated (conv1 to 5x7x7, the first 1x1 of every other residual
block to 3x1x1). Adding 5 non-local blocks to C2D (``nl_c2d_r50``) already beat I3D on Kinetics; NL I3D
(``nl_i3d_r50``) improved further. The ablations put 1 block in res2/3/4/5, or 5 / 10 blocks in res3+res4.

    clip (B, 3, 32, 224, 224)                               (the paper's Table 1)
      conv1 1x7x7 (I3D: 5x7x7), 64, stride (2, 2, 2)         (B, 64, 16, 112, 112)
      pool1 3x3x3 max, stride 2                               (B, 64, 8, 56, 56)
      res2  [1x1 64, 1x3x3 64, 1x1 256] x 3                   (B, 256, 8, 56, 56)
      pool2 3x1x1 max, stride (2, 1, 1)                       (B, 256, 4, 56, 56)
      res3  [...] x 4  (+ NL)                                 (B, 512, 4, 28, 28)
      res4  [...] x 6  (+ NL)                                 (B, 1024, 4, 14, 14)
      res5  [...] x 3                                         (B, 2048, 4, 7, 7)
      global average pool, dropout, fc                        (B, 400)

    Time is strided 8x before res3, as in the paper's Table 1 and the official 32-frame models
    (``resnet_video_org.py`` in facebookresearch/video-nonlocal-net: conv1 temporal stride 2, pool1 and
    pool2 stride 2 in time). The strides are config fields (``conv1_time_stride``, ``pool1_time_stride``,
    ``pool2_time_stride``) with these defaults. Departures from the official code: pool1 and pool2 use the
    paper's 3-frame windows padded by 1 (the official Caffe2 code pools 2 frames, unpadded, and pool1 is
    unpadded in space too); the output lengths at 32 frames are the same. ``ResNet3DConfig.tiny`` keeps
    conv1's temporal stride at 1, so its 8- to 16-frame clips keep 2 to 4 frames at res3-res5.
    Cost at 32x224x224 (``vidlearn.profile.count_flops`` / 2, multiply-adds): C2D R50 about 20.5 G; the
    paper gives absolute costs only for C2D R101 (Table 2e: 43.2 M parameters, 34.2 G), which the same
    builder with ``layers=(3, 4, 23, 3)`` reproduces to within a few per cent (``tests/test_non_local.py``).

    I3D: a block's first 1x1 becomes 3x1x1 where ``inflate`` says so (official pattern: res2 all,
    res3/res4 every other block, res5 the middle one). NL: a block after the residual block it follows.

Module names follow torchvision's ``resnet50`` (conv1, bn1, layer1..4, fc; the stride sits on the 3x3
conv as in torchvision's v1.5), so ``load_2d_weights(resnet50().state_dict())`` inflates ImageNet weights;
non-local blocks live in ``layerK.i.nl``. Shapes: ``(B, 3, T, H, W) -> (B, num_classes)``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import List, Mapping, Optional, Tuple

import torch
import torch.nn as nn

from vidlearn.layers.checks import check_num_classes, check_video
from vidlearn.layers.inflate import InflationReport, inflate_state_dict
from vidlearn.layers.non_local import NonLocal
from vidlearn.registry import register_model
from vidlearn.weights import load_weights

STAGES = ("res2", "res3", "res4", "res5")
# which residual blocks have their first 1x1 inflated to 3x1x1 in the official NL I3D ResNet-50
I3D_INFLATE = ((1, 1, 1), (1, 0, 1, 0), (1, 0, 1, 0, 1, 0), (0, 1, 0))
C2D_INFLATE = ((0, 0, 0), (0, 0, 0, 0), (0, 0, 0, 0, 0, 0), (0, 0, 0))


@dataclass(frozen=True)
class ResNet3DConfig:
    num_classes: int = 400  # Kinetics-400
    in_channels: int = 3
    layers: Tuple[int, int, int, int] = (3, 4, 6, 3)  # ResNet-50
    widths: Tuple[int, int, int, int] = (64, 128, 256, 512)  # bottleneck widths; block outputs are 4x
    stem_width: int = 64
    conv1_time: int = 1  # 5 for I3D
    conv1_time_stride: int = 2  # the paper's Table 1 / official 32-frame models (tiny: 1)
    pool1_time_stride: int = 2  # pool1 is 3x3x3 max, stride (2, 2, 2)
    pool2_time_stride: int = 2  # pool2 after res2 is 3x1x1 max, stride (2, 1, 1)
    inflate: Optional[Tuple[Tuple[int, ...], ...]] = None  # per stage, per block: 1 -> first 1x1 is 3x1x1;
    # None: C2D, no block inflated, whatever the ``layers`` (C2D_INFLATE at ResNet-50 depth)
    nonlocal_blocks: int = 0  # 0, 1, 5 (every other block of res3+res4) or 10 (every block of res3+res4)
    nonlocal_stage: str = "res4"  # where the single block goes when nonlocal_blocks == 1
    nonlocal_mode: str = "embedded_gaussian"
    nonlocal_dims: str = "spacetime"
    nonlocal_subsample: bool = True
    nonlocal_zero_init: bool = True  # blocks start as the identity (False: default init, see NonLocal)
    nonlocal_scale: bool = True  # embedded Gaussian divided by sqrt(C') (official USE_SCALE; False: paper's Eq. 3)
    dropout: float = 0.5
    frames: int = 32  # 32 frames sampled with stride 2 from 64
    size: int = 224

    @property
    def inflate_flags(self) -> Tuple[Tuple[int, ...], ...]:
        """``inflate`` with ``None`` spelled out: one 0/1 per residual block of every stage."""
        return self.inflate if self.inflate is not None else tuple((0,) * n for n in self.layers)

    def __post_init__(self):
        check_num_classes(self.num_classes, f"{type(self).__name__}.num_classes")

    @classmethod
    def tiny(cls, **overrides) -> ResNet3DConfig:
        """A miniature of the same network: widths 4 to 32, 8 frames of 32x32.

        It chooses conv1's temporal stride explicitly: 1, not the paper's 2, so time is strided 4x (pool1,
        pool2) instead of 8x and an 8-frame clip keeps 2 frames at res3-res5 (the paper's strides would
        leave 1, and nothing for a non-local block to relate across time).
        """
        base = cls(num_classes=10, widths=(4, 8, 16, 32), stem_width=8, dropout=0.2, frames=8, size=32,
                   conv1_time_stride=1)
        return replace(base, **overrides)


def nonlocal_positions(cfg: ResNet3DConfig) -> Tuple[Tuple[int, ...], ...]:
    """Indices of the residual blocks, per stage, that are followed by a non-local block."""
    if cfg.nonlocal_blocks not in (0, 1, 5, 10):
        raise ValueError(f"nonlocal_blocks must be 0, 1, 5 or 10 (the paper's ablations), got {cfg.nonlocal_blocks}")
    if cfg.nonlocal_stage not in STAGES:
        raise ValueError(f"nonlocal_stage must be one of {STAGES}, got {cfg.nonlocal_stage!r}")
    pos: List[Tuple[int, ...]] = [(), (), (), ()]
    if cfg.nonlocal_blocks == 1:  # right before the stage's last residual block
        s = STAGES.index(cfg.nonlocal_stage)
        pos[s] = (cfg.layers[s] - 2,) if cfg.layers[s] > 1 else (0,)
    elif cfg.nonlocal_blocks in (5, 10):
        step = 2 if cfg.nonlocal_blocks == 5 else 1
        for s in (1, 2):  # res3, res4
            pos[s] = tuple(i for i in range(cfg.layers[s]) if i % step == step - 1)
    return tuple(pos)


class Bottleneck3D(nn.Module):
    """ResNet bottleneck: (t x 1 x 1) -> (1 x 3 x 3, stride) -> (1 x 1 x 1), optional non-local after.

    Shape: ``(B, C_in, T, H, W) -> (B, 4 * width, T, H / s, W / s)``.
    """

    expansion = 4

    def __init__(self, in_ch: int, width: int, stride: int, time: int, nl: Optional[NonLocal] = None):
        super().__init__()
        out = width * self.expansion
        self.conv1 = nn.Conv3d(in_ch, width, (time, 1, 1), padding=(time // 2, 0, 0), bias=False)
        self.bn1 = nn.BatchNorm3d(width)
        self.conv2 = nn.Conv3d(width, width, (1, 3, 3), (1, stride, stride), (0, 1, 1), bias=False)
        self.bn2 = nn.BatchNorm3d(width)
        self.conv3 = nn.Conv3d(width, out, 1, bias=False)
        self.bn3 = nn.BatchNorm3d(out)
        self.relu = nn.ReLU(inplace=True)
        self.downsample: Optional[nn.Sequential] = None
        if stride != 1 or in_ch != out:
            self.downsample = nn.Sequential(nn.Conv3d(in_ch, out, 1, (1, stride, stride), bias=False),
                                            nn.BatchNorm3d(out))
        self.nl = nl

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)  # (B, 4w, T, H', W')
        y = self.relu(self.bn1(self.conv1(x)))  # (B, w, T, H, W)
        y = self.relu(self.bn2(self.conv2(y)))  # (B, w, T, H', W')
        y = self.relu(self.bn3(self.conv3(y)) + shortcut)  # (B, 4w, T, H', W')
        return y if self.nl is None else self.nl(y)


class ResNet3D(nn.Module):
    """ResNet-50 for video: C2D, I3D, and either with non-local blocks.

    Shape:
        x: ``(B, in_channels, T, H, W)`` float (any T >= 1; the paper uses 32 frames of 224x224).
        returns: ``(B, num_classes)`` logits.
    """

    min_size = (1, 1)  # padded convs and a global pool: any frame size

    def __init__(self, cfg: ResNet3DConfig):
        super().__init__()
        flags = cfg.inflate_flags
        if len(flags) != 4 or any(len(f) != n for f, n in zip(flags, cfg.layers)):
            raise ValueError(f"inflate needs one 0/1 per residual block {cfg.layers}, got {cfg.inflate}")
        self.cfg = cfg
        t1 = cfg.conv1_time
        for field in ("conv1_time_stride", "pool1_time_stride", "pool2_time_stride"):
            if getattr(cfg, field) < 1:
                raise ValueError(f"{field} must be >= 1, got {getattr(cfg, field)}")
        self.conv1 = nn.Conv3d(cfg.in_channels, cfg.stem_width, (t1, 7, 7), (cfg.conv1_time_stride, 2, 2),
                               (t1 // 2, 3, 3), bias=False)
        self.bn1 = nn.BatchNorm3d(cfg.stem_width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool3d(3, (cfg.pool1_time_stride, 2, 2), 1)  # pool1: 3x3x3
        self.pool2 = nn.MaxPool3d((3, 1, 1), (cfg.pool2_time_stride, 1, 1), (1, 0, 0))  # after res2: time only
        positions = nonlocal_positions(cfg)
        in_ch = cfg.stem_width
        for s, (n, width, stage_flags) in enumerate(zip(cfg.layers, cfg.widths, flags)):
            blocks = []
            for i in range(n):
                out = width * Bottleneck3D.expansion
                nl = None
                if i in positions[s]:
                    nl = NonLocal(out, mode=cfg.nonlocal_mode, dims=cfg.nonlocal_dims,
                                  subsample=cfg.nonlocal_subsample, zero_init=cfg.nonlocal_zero_init,
                                  scale=cfg.nonlocal_scale)
                stride = 2 if (i == 0 and s > 0) else 1
                blocks.append(Bottleneck3D(in_ch, width, stride, 3 if stage_flags[i] else 1, nl))
                in_ch = out
            setattr(self, f"layer{s + 1}", nn.Sequential(*blocks))
        self.avgpool = nn.AdaptiveAvgPool3d(1)
        self.dropout = nn.Dropout(cfg.dropout)
        self.fc = nn.Linear(in_ch, cfg.num_classes)
        self.num_features = in_ch
        nl_convs = {id(m) for nl in self.nonlocal_blocks() for m in nl.modules()}  # keep their identity init
        for m in self.modules():
            if isinstance(m, nn.Conv3d) and id(m) not in nl_convs:
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def nonlocal_blocks(self) -> List[NonLocal]:
        """The non-local blocks, in network order."""
        return [m for m in self.modules() if isinstance(m, NonLocal)]

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled clip features ``(B, 2048)``."""
        check_video(x, channels=self.cfg.in_channels, model=type(self).__name__)
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # (B, 64, T/4, H/4, W/4) (tiny: T/2)
        x = self.pool2(self.layer1(x))  # (B, 256, T/8, H/4, W/4) (tiny: T/4)
        x = self.layer2(x)  # (B, 512, T/8, H/8, W/8)
        x = self.layer3(x)  # (B, 1024, T/8, H/16, W/16)
        x = self.layer4(x)  # (B, 2048, T/8, H/32, W/32)
        return self.avgpool(x).flatten(1)  # (B, 2048)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(self.forward_features(x)))  # (B, num_classes)

    @torch.no_grad()
    def attention_maps(self, x: torch.Tensor) -> List[torch.Tensor]:
        """The attention ``(B', N_query, N_key)`` of every non-local block on ``x`` (for visualisation)."""
        blocks = self.nonlocal_blocks()
        for nl in blocks:
            nl.keep_attention = True
        try:
            self.forward_features(x)
            return [nl.attention for nl in blocks]
        finally:
            for nl in blocks:
                nl.keep_attention, nl.attention = False, None

    def example_input(self, batch_size: int = 2, small: bool = False) -> torch.Tensor:
        """A random clip of the configured size (``small``: 8 frames of 32x32)."""
        t, s = (8, 32) if small else (self.cfg.frames, self.cfg.size)
        return torch.randn(batch_size, self.cfg.in_channels, t, s, s)

    def load_2d_weights(self, state_2d: Mapping[str, torch.Tensor], method: str = "bootstrap",
                        strict: bool = False) -> InflationReport:
        """Inflate a 2D ResNet-50 state dict (torchvision ``resnet50().state_dict()``) into this network.

        Non-local blocks keep their identity initialisation; the fc is skipped when class counts differ.
        """
        return inflate_state_dict(state_2d, self, method=method, strict=strict)


def _build(tiny: bool, overrides: dict, **recipe) -> ResNet3D:
    weights = overrides.pop("weights", None)  # a saved state dict of this architecture (path or dict)
    base = ResNet3DConfig.tiny(**recipe) if tiny else ResNet3DConfig(**recipe)
    model = ResNet3D(replace(base, **overrides))
    if weights is not None:
        load_weights(model, weights)  # weights_only=True; names the file, the keys and the shapes
    return model


@register_model
def c2d_r50(tiny: bool = False, **overrides) -> ResNet3D:
    """C2D ResNet-50: 2D kernels only; time is only strided (conv1, pool1, pool2), the non-local paper's baseline."""
    return _build(tiny, overrides)


@register_model
def i3d_r50(tiny: bool = False, **overrides) -> ResNet3D:
    """I3D ResNet-50 (3x1x1 variant): conv1 5x7x7 and every other block's first 1x1 inflated to 3x1x1."""
    return _build(tiny, overrides, conv1_time=5, inflate=I3D_INFLATE)


@register_model
def nl_c2d_r50(tiny: bool = False, **overrides) -> ResNet3D:
    """Non-local C2D ResNet-50: 5 embedded-Gaussian blocks in res3 (2) and res4 (3)."""
    return _build(tiny, overrides, nonlocal_blocks=5)


@register_model
def nl_i3d_r50(tiny: bool = False, **overrides) -> ResNet3D:
    """Non-local I3D ResNet-50: 5 embedded-Gaussian blocks in res3 (2) and res4 (3)."""
    return _build(tiny, overrides, conv1_time=5, inflate=I3D_INFLATE, nonlocal_blocks=5)
