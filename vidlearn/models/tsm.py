"""TSM: a 2D CNN that models time by shifting channels between neighbouring frames.

TSM: Temporal Shift Module for Efficient Video Understanding
Lin, Gan, Han. ICCV 2019. https://arxiv.org/abs/1811.08383

The idea: a 3D convolution mixes time by multiplying; TSM mixes time by *moving memory*. Inside every
residual block of an ordinary 2D ResNet, 1/8 of the channels are shifted one frame back in time and
1/8 one frame forward before the block's first convolution; the 2D convolution that follows then
combines the current frame with its neighbours, so stacked blocks see a growing temporal window, at the
parameters and FLOPs of the 2D network. The shift sits on the residual branch ("residual shift") so the
identity path keeps each frame's own features; the online variant shifts only from the past, so the
network can run frame by frame on a live stream. As in the official code (mit-han-lab/temporal-shift-module
``ops/temporal_shift.py``: fold ``C // 8``, the first fold from frame t+1, the second from t-1, zeros at the
clip's ends, ``place='blockres'``), every block is shifted, every second one in ResNet-101/152. As in
TSN, the ``T`` frames (one per segment) share the backbone and the per-frame class scores are averaged.

    clip (B, C, T, H, W)
        |  fold time into the batch
        v
    frames (B*T, C, H, W) -> stem -> [res block: shift -> conv1 -> ... -> + identity] x depth -> pool
                                                                                                 |
    video logits (B, K) <-- mean over T <-- per-frame logits (B, T, K) <-- dropout, fc <---------+

Backbones: any torchvision ResNet (``resnet50`` at paper size, built with ``weights=None``; pass
torchvision's ImageNet state dict as ``backbone_weights=`` to start from it, as the paper does), or our
small :class:`TinyResNet2D` for ``tiny=True``. ``shift=False`` gives the same 2D network without shifts
(a TSN-style baseline) for comparisons. The paper's TSM-ResNet50 (8 frames, Kinetics-400) has 24.3M
parameters and 33 GFLOPs (multiply-adds); here ``tsm_r50`` has 24,327,632 parameters, exactly the 2D
ResNet-50's with a 400-way classifier: the shift adds none.

Shapes: input ``(B, 3, T, H, W)`` float with ``T = frames`` (the shift layers are built for a fixed
number of segments, as in the paper), output ``(B, num_classes)`` logits.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Mapping, Optional, Tuple, Union

import torch
import torch.nn as nn
import torchvision
from einops import rearrange
from torchvision.models.resnet import BasicBlock

from vidlearn.layers.checks import check_num_classes, check_video
from vidlearn.layers.temporal_shift import DIRECTIONS, PLACEMENTS, insert_temporal_shift, shift_layers
from vidlearn.registry import register_model
from vidlearn.weights import load_weights, read_state_dict

StateDict = Union[str, Path, Mapping[str, torch.Tensor]]


@dataclass(frozen=True)
class TSMConfig:
    num_classes: int = 400  # Kinetics-400
    in_channels: int = 3
    backbone: str = "resnet50"  # a torchvision ResNet ("resnet18" ... "resnet152") or "tiny"
    tiny_widths: Tuple[int, ...] = (16, 32, 64, 128)  # stage widths of the "tiny" backbone
    frames: int = 8  # segments T, one frame each (the paper's 8-frame TSM)
    size: int = 224
    fold_div: int = 8  # 1/8 of the channels shifted each way
    direction: str = "bidirectional"  # or "online": shift from the past only
    placement: str = "residual"  # shift inside the residual branch, or "inplace" before the whole block
    shift: bool = True  # False: the same 2D network without shifts (the TSN-style baseline)
    dropout: float = 0.5

    def __post_init__(self):
        check_num_classes(self.num_classes, f"{type(self).__name__}.num_classes")

    @classmethod
    def tiny(cls, **overrides) -> TSMConfig:
        base = cls(num_classes=10, backbone="tiny", frames=8, size=32, dropout=0.2)
        return replace(base, **overrides)


class TinyResNet2D(nn.Module):
    """A small 2D ResNet (one ``BasicBlock`` per stage) with torchvision's ResNet attribute names.

    A 3x3 stride-1 stem and no max pool suit 32x32 frames; the stages halve the size three times.

    Shape: ``(N, C, H, W) -> (N, widths[-1])`` (``fc`` is an ``Identity`` until a head is attached).
    """

    def __init__(self, in_channels: int = 3, widths: Tuple[int, ...] = (16, 32, 64, 128)):
        super().__init__()
        if len(widths) != 4:
            raise ValueError(f"TinyResNet2D needs 4 stage widths, got {widths}")
        self.conv1 = nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.Identity()
        c = widths[0]
        for i, w in enumerate(widths):
            stride = 1 if i == 0 else 2
            down = None
            if stride != 1 or c != w:
                down = nn.Sequential(nn.Conv2d(c, w, 1, stride, bias=False), nn.BatchNorm2d(w))
            setattr(self, f"layer{i + 1}", nn.Sequential(BasicBlock(c, w, stride, down)))
            c = w
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc: nn.Module = nn.Identity()
        self.out_dim = c

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))  # (N, w0, H, W)
        x = self.layer4(self.layer3(self.layer2(self.layer1(self.maxpool(x)))))  # (N, w3, H/8, W/8)
        return self.fc(torch.flatten(self.avgpool(x), 1))  # (N, w3)


def _load(weights: StateDict) -> Mapping[str, torch.Tensor]:
    return read_state_dict(weights)  # a path is loaded with weights_only=True, errors name it


def build_backbone(cfg: TSMConfig, backbone_weights: Optional[StateDict] = None) -> Tuple[nn.Module, int]:
    """The 2D network with its classifier removed, and its feature width.

    ``backbone_weights``: a state dict (or its path) of the same 2D network, e.g. torchvision's ImageNet
    ResNet-50; its ``fc.*`` entries are ignored.
    """
    if cfg.backbone == "tiny":
        net: nn.Module = TinyResNet2D(cfg.in_channels, cfg.tiny_widths)
        dim = net.out_dim
    elif cfg.backbone.startswith("resnet") and hasattr(torchvision.models, cfg.backbone):
        net = getattr(torchvision.models, cfg.backbone)(weights=None)  # nothing downloads
        dim = net.fc.in_features
        if cfg.in_channels != 3:
            net.conv1 = nn.Conv2d(cfg.in_channels, net.conv1.out_channels, 7, 2, 3, bias=False)
        net.fc = nn.Identity()
    else:
        raise ValueError(f"backbone must be a torchvision ResNet name (e.g. 'resnet50') or 'tiny', "
                         f"got {cfg.backbone!r}")
    if backbone_weights is not None:
        state = {k: v for k, v in _load(backbone_weights).items() if not k.startswith("fc.")}
        net.load_state_dict(state, strict=True)
    return net, dim


class TSM(nn.Module):
    """Temporal Shift Module network: a 2D ResNet with shifts, per-frame logits averaged over time.

    Shape:
        x: ``(B, C, T, H, W)`` float with ``T = cfg.frames``.
        returns: ``(B, num_classes)`` logits.
    """

    min_size = (1, 1)  # padded convs and a global pool: any frame size

    def __init__(self, cfg: TSMConfig, backbone_weights: Optional[StateDict] = None):
        super().__init__()
        if cfg.direction not in DIRECTIONS or cfg.placement not in PLACEMENTS:
            raise ValueError(f"direction must be one of {DIRECTIONS} and placement one of {PLACEMENTS}, "
                             f"got {cfg.direction!r} and {cfg.placement!r}")
        self.cfg = cfg
        self.backbone, dim = build_backbone(cfg, backbone_weights)
        if cfg.shift:
            insert_temporal_shift(self.backbone, cfg.frames, cfg.fold_div, cfg.direction, cfg.placement)
        self.dropout = nn.Dropout(cfg.dropout)
        self.fc = nn.Linear(dim, cfg.num_classes)

    def _check(self, x: torch.Tensor) -> None:
        check_video(x, channels=self.cfg.in_channels, model=type(self).__name__)
        if self.cfg.shift and x.shape[2] != self.cfg.frames:
            raise ValueError(
                f"TSM was built for T={self.cfg.frames} frames (config frames; the shift layers fold "
                f"(B*T) with a fixed T), got T={x.shape[2]} (shape {tuple(x.shape)}); sample "
                f"{self.cfg.frames} segments or build with frames={x.shape[2]}"
            )

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Per-frame pooled features ``(B, T, D)``."""
        self._check(x)
        frames = rearrange(x, "b c t h w -> (b t) c h w")  # (B*T, C, H, W)
        return rearrange(self.backbone(frames), "(b t) d -> b t d", t=x.shape[2])  # (B, T, D)

    def forward_frames(self, x: torch.Tensor) -> torch.Tensor:
        """Per-frame logits ``(B, T, num_classes)``."""
        return self.fc(self.dropout(self.forward_features(x)))  # (B, T, K)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_frames(x).mean(dim=1)  # (B, K): the average consensus

    @torch.no_grad()
    def stream(self, x: torch.Tensor) -> torch.Tensor:
        """Online TSM: feed the clip one frame at a time, as a live camera would; per-frame logits.

        Each shift layer caches the channels it passes to the next frame, so frame ``t`` only ever
        sees frames ``<= t``. Needs ``direction="online"``; any number of frames. Equal (eval mode) to
        :meth:`forward_frames` on the whole clip.

        Shape: ``(B, C, T, H, W) -> (B, T, num_classes)``.
        """
        check_video(x, channels=self.cfg.in_channels, model=type(self).__name__)
        layers = shift_layers(self.backbone)
        if self.cfg.direction != "online" or not layers:
            raise ValueError(f"streaming needs the online shift (direction='online', shift=True), this "
                             f"model has direction={self.cfg.direction!r}, shift={self.cfg.shift}")
        for layer in layers:
            layer.start_stream()
        try:
            logits = [self.fc(self.backbone(x[:, :, t])) for t in range(x.shape[2])]  # T x (B, K)
        finally:
            for layer in layers:
                layer.stop_stream()
        return torch.stack(logits, dim=1)  # (B, T, K)

    def example_input(self, batch_size: int = 2, small: bool = False) -> torch.Tensor:
        """A random clip of the configured size (``small``: the configured frames at 32x32)."""
        s = 32 if small else self.cfg.size
        return torch.randn(batch_size, self.cfg.in_channels, self.cfg.frames, s, s)


def _config(tiny: bool, overrides: dict) -> TSMConfig:
    return TSMConfig.tiny(**overrides) if tiny else replace(TSMConfig(), **overrides)


def _build(cfg: TSMConfig, weights: Optional[StateDict], backbone_weights: Optional[StateDict]) -> TSM:
    model = TSM(cfg, backbone_weights)
    if weights is not None:
        load_weights(model, weights)  # weights_only=True; names the file, the keys and the shapes
    return model


@register_model
def tsm_r50(tiny: bool = False, weights: Optional[StateDict] = None,
            backbone_weights: Optional[StateDict] = None, **overrides) -> TSM:
    """TSM-ResNet50 (Lin et al. 2019): residual bidirectional shift of 1/8 + 1/8 channels, 8 frames.

    ``weights``: a state dict (or path) of this model. ``backbone_weights``: a 2D ResNet-50 state dict,
    e.g. ``torchvision.models.ResNet50_Weights.IMAGENET1K_V1.get_state_dict()``, loaded before the shifts
    are inserted. ``tiny=True`` uses :class:`TinyResNet2D`.
    """
    return _build(_config(tiny, overrides), weights, backbone_weights)
