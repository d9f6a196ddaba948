"""Two-Stream ConvNets: appearance from one RGB frame, motion from a stack of optical flow fields.

Two-Stream Convolutional Networks for Action Recognition in Videos
Karen Simonyan, Andrew Zisserman. NeurIPS 2014. https://arxiv.org/abs/1406.2199

The idea: DeepVideo's 3D-ish fusion barely beat a single frame because a CNN struggles to learn motion
from raw pixels. So give it motion explicitly: a *spatial* stream classifies one RGB frame (appearance,
like an image classifier), a *temporal* stream classifies L consecutive optical flow fields stacked as
2L input channels ``[x_1, y_1, x_2, y_2, ...]`` (Sec. 3.1, "optical flow stacking"; the mean flow of
each field is subtracted to cancel camera motion). The two streams are trained separately and fused
late, by averaging their softmax scores or by a linear classifier on the stacked scores (the paper
uses an SVM). On UCF-101 split 1: spatial 72.7%, temporal 81.0%, fusion by averaging 86.2%, by SVM 87.0%.

    rgb frame (B, 3, H, W) ----[CNN-M-2048]----> softmax --+
                                                            +--> average (or linear layer) --> (B, K)
    flow (B, 2, L, H, W) --stack--> (B, 2L, H, W) --[CNN-M-2048, no 2nd norm]--> softmax --+

Each stream is the paper's CNN-M-2048 (Fig. 1): conv1 7x7x96 /2, norm, pool 2x2; conv2 5x5x256 /2,
norm, pool 2x2; conv3-5 3x3x512; pool 2x2; full6 4096, dropout; full7 2048, dropout; softmax. The
temporal stream drops the second normalisation. On 224x224 inputs conv5 pools to 6x6, as in the paper;
an adaptive pool keeps that 6x6 grid for other sizes.

Shapes: ``TwoStream`` takes ``(rgb, flow)`` as one tuple: rgb ``(B, 3, T, H, W)`` (T frames, usually 1,
scores averaged over them), flow ``(B, 2, L, H, W)`` (L flow fields, channel 0 = x, 1 = y); returns
``(B, num_classes)`` logits. Each stream is also a model on its own (``two_stream_spatial``,
``two_stream_temporal``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import List, Sequence, Tuple

import torch
import torch.nn as nn
from einops import rearrange

from vidlearn.layers.checks import check_num_classes, check_pair, check_video, min_side
from vidlearn.registry import register_model


@dataclass(frozen=True)
class TwoStreamConfig:
    num_classes: int = 101  # UCF-101
    # (out_channels, kernel, stride, padding) of conv1..conv5 of CNN-M-2048
    convs: Tuple[Tuple[int, int, int, int], ...] = (
        (96, 7, 2, 0), (256, 5, 2, 1), (512, 3, 1, 1), (512, 3, 1, 1), (512, 3, 1, 1))
    fc_dims: Tuple[int, int] = (4096, 2048)  # full6, full7
    grid: int = 6  # spatial grid of pool5 that feeds full6 (6x6 on 224x224 inputs)
    dropout: float = 0.9  # the paper's high dropout ratio
    flow_frames: int = 10  # L: flow fields stacked into 2L input channels
    size: int = 224
    subtract_mean_flow: bool = True  # Sec. 3.1, "mean flow subtraction": each field minus its mean (camera motion)
    fusion: str = "average"  # "average" of softmax scores, or "linear": a learned layer on the scores

    def __post_init__(self):
        check_num_classes(self.num_classes, f"{type(self).__name__}.num_classes")

    @classmethod
    def tiny(cls, **overrides) -> TwoStreamConfig:
        base = cls(num_classes=10, convs=((16, 5, 2, 0), (32, 3, 2, 1), (48, 3, 1, 1), (48, 3, 1, 1),
                                          (32, 3, 1, 1)),
                   fc_dims=(64, 64), grid=2, dropout=0.5, flow_frames=4, size=32)
        return replace(base, **overrides)


class CNNM(nn.Module):
    """CNN-M-2048 (Chatfield et al. 2014) as used by both streams; ``norm2=False`` for the temporal one.

    Shape: ``(N, C, H, W) -> (N, num_classes)``; ``features``: ``(N, C, H, W) -> (N, fc_dims[1])``.
    """

    def __init__(self, in_channels: int, cfg: TwoStreamConfig, norm2: bool = True):
        super().__init__()
        layers: List[nn.Module] = []
        cin = in_channels
        for i, (c, k, s, p) in enumerate(cfg.convs):
            layers += [nn.Conv2d(cin, c, k, s, padding=p), nn.ReLU(inplace=True)]
            if i == 0 or (i == 1 and norm2):
                layers.append(nn.LocalResponseNorm(5))
            if i in (0, 1, len(cfg.convs) - 1):
                layers.append(nn.MaxPool2d(2, 2))
            cin = c
        layers.append(nn.AdaptiveAvgPool2d(cfg.grid))  # (N, C5, grid, grid)
        self.convs = nn.Sequential(*layers)
        f6, f7 = cfg.fc_dims
        self.fcs = nn.Sequential(
            nn.Linear(cin * cfg.grid ** 2, f6), nn.ReLU(inplace=True), nn.Dropout(cfg.dropout),
            nn.Linear(f6, f7), nn.ReLU(inplace=True), nn.Dropout(cfg.dropout),
        )
        self.classifier = nn.Linear(f7, cfg.num_classes)
        self.min_size = (min_side(self.convs),) * 2  # below it a pool has nothing left (31 tiny, 41 paper)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.fcs(self.convs(x).flatten(1))  # (N, full7)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))  # (N, K)


class SpatialStream(nn.Module):
    """The appearance stream: CNN-M-2048 on RGB frames, scores averaged over the frames given.

    Shape:
        x: ``(B, 3, T, H, W)`` float; the paper trains on ``T = 1`` and tests on 25 frames.
        returns: ``(B, num_classes)`` logits (mean over the T frames).
    """

    def __init__(self, cfg: TwoStreamConfig):
        super().__init__()
        self.cfg = cfg
        self.net = CNNM(3, cfg, norm2=True)
        self.min_size = self.net.min_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_video(x, channels=3, min_size=self.min_size, name="rgb", model="SpatialStream")
        frames = rearrange(x, "b c t h w -> (b t) c h w")  # (B*T, 3, H, W)
        logits = self.net(frames)  # (B*T, K)
        return rearrange(logits, "(b t) k -> b t k", t=x.shape[2]).mean(dim=1)  # (B, K)

    def example_input(self, batch_size: int = 2, small: bool = False) -> torch.Tensor:
        """One random RGB frame per clip, ``(B, 3, 1, H, W)``; ``small``: 64x64."""
        s = min(64, self.cfg.size) if small else self.cfg.size
        return torch.randn(batch_size, 3, 1, s, s)


def stack_flow_channels(flow: torch.Tensor) -> torch.Tensor:
    """Stack L flow fields into 2L channels ordered ``[x_1, y_1, x_2, y_2, ..., x_L, y_L]``.

    Shape: ``(B, 2, L, H, W) -> (B, 2L, H, W)``; channel ``2l`` is field l's x, ``2l + 1`` its y
    (the same order as ``vidlearn.flow``'s stack).
    """
    return rearrange(flow, "b c l h w -> b (l c) h w")  # (B, 2L, H, W)


class TemporalStream(nn.Module):
    """The motion stream: CNN-M-2048 (without the second norm) on L stacked flow fields.

    Shape:
        flow: ``(B, 2, L, H, W)`` float, ``L == flow_frames``, channel 0 = horizontal, 1 = vertical.
        returns: ``(B, num_classes)`` logits.
    """

    def __init__(self, cfg: TwoStreamConfig):
        super().__init__()
        self.cfg = cfg
        self.net = CNNM(2 * cfg.flow_frames, cfg, norm2=False)
        self.min_size = self.net.min_size

    def stack(self, flow: torch.Tensor) -> torch.Tensor:
        """Checked, mean-subtracted (if configured) and stacked: ``(B, 2, L, H, W) -> (B, 2L, H, W)``."""
        check_video(flow, channels=2, frames=self.cfg.flow_frames, min_size=self.min_size, name="flow",
                    model="TemporalStream")
        if self.cfg.subtract_mean_flow:
            flow = flow - flow.mean(dim=(3, 4), keepdim=True)  # (B, 2, L, H, W), zero mean per field
        return stack_flow_channels(flow)  # (B, 2L, H, W)

    def forward(self, flow: torch.Tensor) -> torch.Tensor:
        return self.net(self.stack(flow))  # (B, K)

    def example_input(self, batch_size: int = 2, small: bool = False) -> torch.Tensor:
        """Random flow ``(B, 2, L, H, W)``; ``small``: 64x64."""
        s = min(64, self.cfg.size) if small else self.cfg.size
        return torch.randn(batch_size, 2, self.cfg.flow_frames, s, s)


def unpack_pair(inputs: Sequence[torch.Tensor], model: str, names: Tuple[str, str] = ("rgb", "flow")):
    """Check that a two-input model got one ``(a, b)`` pair of the same batch size and return it.

    Raises ``ValueError`` for a single tensor (wrong input shape) or batch sizes that differ,
    ``TypeError`` for anything else (:func:`vidlearn.layers.checks.check_pair`).
    """
    return check_pair(inputs, model, names)


class TwoStream(nn.Module):
    """Spatial + temporal stream with late fusion of their class scores.

    ``fusion="average"``: the log of the mean of the two softmax distributions (cross-entropy on it is
    the NLL of the averaged prediction); ``fusion="linear"``: a linear layer on the concatenated softmax
    scores (the paper's SVM, trained by gradient descent here), typically on top of trained streams.

    Shape:
        inputs: ``(rgb, flow)`` with rgb ``(B, 3, T, H, W)`` and flow ``(B, 2, L, H, W)``.
        returns: ``(B, num_classes)`` logits.
    """

    def __init__(self, cfg: TwoStreamConfig):
        super().__init__()
        if cfg.fusion not in ("average", "linear"):
            raise ValueError(f"unknown fusion {cfg.fusion!r}; expected 'average' or 'linear'")
        self.cfg = cfg
        self.spatial = SpatialStream(cfg)
        self.temporal = TemporalStream(cfg)
        self.fuse = nn.Linear(2 * cfg.num_classes, cfg.num_classes) if cfg.fusion == "linear" else None
        self.min_size = tuple(max(a, b) for a, b in zip(self.spatial.min_size, self.temporal.min_size))

    def forward_streams(self, inputs: Sequence[torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
        """The two streams' logits ``(B, K)`` each: (spatial, temporal)."""
        rgb, flow = unpack_pair(inputs, "TwoStream")
        return self.spatial(rgb), self.temporal(flow)

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        s, t = self.forward_streams(inputs)  # (B, K) each
        probs = torch.stack([s.softmax(-1), t.softmax(-1)])  # (2, B, K)
        if self.fuse is None:
            return probs.mean(dim=0).clamp_min(1e-12).log()  # (B, K)
        return self.fuse(rearrange(probs, "s b k -> b (s k)"))  # (B, K)

    def example_input(self, batch_size: int = 2, small: bool = False) -> Tuple[torch.Tensor, torch.Tensor]:
        """``(rgb (B, 3, 1, H, W), flow (B, 2, L, H, W))``; ``small``: 64x64."""
        return (self.spatial.example_input(batch_size, small), self.temporal.example_input(batch_size, small))


def _config(tiny: bool, overrides: dict) -> TwoStreamConfig:
    return TwoStreamConfig.tiny(**overrides) if tiny else replace(TwoStreamConfig(), **overrides)


@register_model
def two_stream(tiny: bool = False, **overrides) -> TwoStream:
    """Two-Stream ConvNet (Simonyan & Zisserman 2014): RGB + stacked flow, late fusion of scores."""
    return TwoStream(_config(tiny, overrides))


@register_model
def two_stream_spatial(tiny: bool = False, **overrides) -> SpatialStream:
    """Two-Stream's spatial stream alone: CNN-M-2048 on RGB frames."""
    return SpatialStream(_config(tiny, overrides))


@register_model
def two_stream_temporal(tiny: bool = False, **overrides) -> TemporalStream:
    """Two-Stream's temporal stream alone: CNN-M-2048 on L stacked optical flow fields."""
    return TemporalStream(_config(tiny, overrides))
