"""DeepVideo: where should a CNN merge time? Single frame, late, early and slow fusion, multires.

Large-scale Video Classification with Convolutional Neural Networks
Karpathy, Toderici, Shetty, Leung, Sukthankar, Fei-Fei. CVPR 2014.
https://cs.stanford.edu/people/karpathy/deepvideo/

The idea: before asking *how* a CNN should merge time, measure how far a network that never merges
time gets. ``single_frame`` runs an AlexNet-like 2D tower on every frame independently and averages
the per-frame class scores over the clip, exactly the paper's way of turning frame predictions into a
video prediction. On data whose class lives only in motion it must stay at chance, however well it
is trained; on appearance-biased data (like Sports-1M) it is a strong baseline. The fusion variants
change only *where* the frames of a clip meet (Sec. 2.1, Fig. 1):

    single_frame   frames (B*T, C, H, W) --[2D tower]--> FC FC -> scores, averaged over the T frames
    late_fusion    frame 0 ---[tower]--+                 two single-frame towers (shared weights) on
                   frame 15 --[tower]--+--> FC FC -> K   frames 15 apart, merged at the first FC layer
    early_fusion   T frames --[conv1 spans all T: 11x11x3xT]--[2D tower]--> FC FC -> K
    slow_fusion    T=10 --conv1 (kt=4, st=2)--> 4 --conv2 (2, 2)--> 2 --conv3 (2, 2)--> 1 --> ... FC FC -> K
    multires       frame --centre crop (fovea)-------[tower]--+
                        +--downsample x2 (context)---[tower]--+--> FC FC -> K, averaged over the frames

The tower at paper size is the paper's C(96,11,3)-N-P-C(256,5,1)-N-P-C(384,3,1)-C(384,3,1)-C(256,3,1)-P-
FC(4096)-FC(4096) on 170x170 crops (178x178 for multires: two 89x89 streams); the fusion variants use
the same layers as 3D convolutions whose temporal kernel and stride come from the variant. The last
pooling is adaptive (to 2x2) so every tower takes any frame size. ``tiny=True`` keeps the structure at
widths a CPU trains in minutes. Paper, Sports-1M video hit@1: single frame 59.3, multires 60.0, early
57.7, late 59.3, slow 60.9: the variants differ little. :func:`temporal_receptive_fields` walks a
model's actual conv/pool/FC layers and reports how many frames each layer sees and where time merges.
Shapes: input ``(B, 3, T, H, W)`` float, output ``(B, num_classes)`` logits.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from einops import rearrange

from vidlearn.layers.checks import check_num_classes, check_video, min_side
from vidlearn.registry import register_model


@dataclass(frozen=True)
class DeepVideoConfig:
    num_classes: int = 487  # Sports-1M has 487 classes
    in_channels: int = 3
    # (out_channels, kernel, stride) of the five conv layers, as in the paper's Figure 1 caption
    convs: Tuple[Tuple[int, int, int], ...] = (
        (96, 11, 3), (256, 5, 1), (384, 3, 1), (384, 3, 1), (256, 3, 1))
    fc_dim: int = 4096
    dropout: float = 0.5
    frames: int = 10  # frames the model sees at paper size
    size: int = 170  # the paper's crop size
    late_gap: int = 15  # late fusion: its two frames are this many frames apart
    # slow fusion: (temporal kernel, temporal stride) of each conv layer; 10 frames -> 4 -> 2 -> 1
    slow_temporal: Tuple[Tuple[int, int], ...] = ((4, 2), (2, 2), (2, 2), (1, 1), (1, 1))
    multires_size: int = 178  # multires input: fovea = centre half, context = whole frame at half resolution

    def __post_init__(self):
        check_num_classes(self.num_classes, f"{type(self).__name__}.num_classes")

    @classmethod
    def tiny(cls, **overrides) -> DeepVideoConfig:
        base = cls(num_classes=10, convs=((16, 5, 2), (32, 3, 1), (48, 3, 1), (48, 3, 1), (32, 3, 1)),
                   fc_dim=64, dropout=0.2, frames=8, size=32, late_gap=7,
                   slow_temporal=((2, 2), (2, 2), (2, 2), (1, 1), (1, 1)), multires_size=64)
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


class Tower3D(nn.Module):
    """The same tower with 3D convolutions: layer i has temporal kernel/stride ``temporal[i]``.

    Temporal convolutions are 'valid' (no padding), as in the paper; all-``(1, 1)`` gives the 2D tower
    applied to each frame. Shape: ``(B, C, T, H, W) -> (B, D, T', 2, 2)`` with
    ``T' = (T - kt) // st + 1`` applied layer by layer.
    """

    def __init__(self, in_channels: int, convs: Tuple[Tuple[int, int, int], ...],
                 temporal: Tuple[Tuple[int, int], ...]):
        super().__init__()
        if len(temporal) != len(convs):
            raise ValueError(f"need one (kernel, stride) in time per conv: {len(convs)}, got {len(temporal)}")
        layers: List[nn.Module] = []
        cin = in_channels
        for i, ((c, k, s), (kt, st)) in enumerate(zip(convs, temporal)):
            layers += [nn.Conv3d(cin, c, (kt, k, k), (st, s, s), padding=(0, k // 2, k // 2)),
                       nn.ReLU(inplace=True)]
            if i < 2:  # C-N-P for the first two layers
                layers += [nn.LocalResponseNorm(5), nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1))]
            cin = c
        layers.append(nn.AdaptiveMaxPool3d((None, 2, 2)))
        self.features = nn.Sequential(*layers)
        self.channels = cin

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)  # (B, D, T', 2, 2)


def _head(in_dim: int, cfg: DeepVideoConfig) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(in_dim, cfg.fc_dim), nn.ReLU(inplace=True), nn.Dropout(cfg.dropout),
        nn.Linear(cfg.fc_dim, cfg.fc_dim), nn.ReLU(inplace=True), nn.Dropout(cfg.dropout),
        nn.Linear(cfg.fc_dim, cfg.num_classes),
    )


class SingleFrame(nn.Module):
    """Single-frame baseline: a 2D CNN on each frame, class scores averaged over time.

    Shape:
        x: ``(B, C, T, H, W)`` float; any ``T >= 1``.
        returns: ``(B, num_classes)`` logits (the mean of the per-frame logits).
    """

    merges_time_in_fc = False  # time only meets when the per-frame scores are averaged

    def __init__(self, cfg: DeepVideoConfig):
        super().__init__()
        self.cfg = cfg
        self.temporal_input = (cfg.frames, 1)  # (frames into the towers, their spacing in frames)
        self.tower = Tower2D(cfg.in_channels, cfg.convs)
        self.head = _head(self.tower.out_dim, cfg)
        self.min_size = (min_side(self.tower),) * 2  # smallest H x W the tower takes

    def forward_frames(self, x: torch.Tensor) -> torch.Tensor:
        """Per-frame logits ``(B, T, num_classes)``."""
        check_video(x, channels=self.cfg.in_channels, min_size=self.min_size, model=type(self).__name__)
        frames = rearrange(x, "b c t h w -> (b t) c h w")  # (B*T, C, H, W)
        logits = self.head(self.tower(frames))  # (B*T, K)
        return rearrange(logits, "(b t) k -> b t k", t=x.shape[2])  # (B, T, K); t, not b: B may be 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_frames(x).mean(dim=1)  # (B, K)

    def example_input(self, batch_size: int = 2, small: bool = False) -> torch.Tensor:
        """A random input of the size this model was configured for (``small``: 2 frames of 64x64)."""
        t, s = (2, 64) if small else (self.cfg.frames, self.cfg.size)
        return torch.randn(batch_size, self.cfg.in_channels, t, s, s)


class FusionNet(nn.Module):
    """Late, early or slow fusion: one 3D tower whose temporal kernels say where frames meet.

    ``variant``: ``"late"`` (frames 0 and ``late_gap`` through the per-frame tower, merged by the first
    FC layer), ``"early"`` (conv1's temporal kernel spans all ``frames``), ``"slow"`` (``slow_temporal``).
    Whatever time is left after the tower is flattened into the first FC layer, as in the paper.

    Shape:
        x: ``(B, C, T, H, W)`` float with ``T == frames`` (early, slow) or ``T >= late_gap + 1`` (late).
        returns: ``(B, num_classes)`` logits.
    """

    merges_time_in_fc = True

    def __init__(self, cfg: DeepVideoConfig, variant: str):
        super().__init__()
        n = len(cfg.convs)
        temporal = {
            "late": ((1, 1),) * n,
            "early": ((cfg.frames, 1),) + ((1, 1),) * (n - 1),
            "slow": cfg.slow_temporal,
        }
        if variant not in temporal:
            raise ValueError(f"unknown fusion variant {variant!r}; expected one of {', '.join(temporal)}")
        self.cfg, self.variant = cfg, variant
        self.temporal_input = (2, cfg.late_gap) if variant == "late" else (cfg.frames, 1)
        t = self.temporal_input[0]
        for kt, st in temporal[variant]:
            t = (t - kt) // st + 1
            if t < 1:
                raise ValueError(f"{variant} fusion: the temporal kernels {temporal[variant]} do not fit "
                                 f"frames={cfg.frames}; adjust frames or slow_temporal")
        self.frames_out = t
        self.tower = Tower3D(cfg.in_channels, cfg.convs, temporal[variant])
        self.head = _head(self.tower.channels * 4 * t, cfg)
        self.min_size = (min_side(self.tower),) * 2  # smallest H x W the tower takes

    def _check(self, x: torch.Tensor) -> None:
        name = f"{type(self).__name__}({self.variant})"
        if self.variant == "late":
            check_video(x, channels=self.cfg.in_channels, min_frames=self.cfg.late_gap + 1,
                        min_size=self.min_size, model=name)
        else:
            check_video(x, channels=self.cfg.in_channels, frames=self.cfg.frames, min_size=self.min_size,
                        model=name)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Tower features with the remaining time flattened in: ``(B, D * T' * 4)``."""
        self._check(x)
        if self.variant == "late":
            x = x[:, :, [0, self.cfg.late_gap]]  # (B, C, 2, H, W): two frames late_gap apart
        return self.tower(x).flatten(1)  # (B, D*T'*2*2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.forward_features(x))  # (B, K)

    def example_input(self, batch_size: int = 2, small: bool = False) -> torch.Tensor:
        """Random ``(B, C, T, H, W)``: T = frames (late: late_gap + 1); ``small``: frames of 64x64 or less."""
        t = self.cfg.late_gap + 1 if self.variant == "late" else self.cfg.frames
        s = min(64, self.cfg.size) if small else self.cfg.size
        return torch.randn(batch_size, self.cfg.in_channels, t, s, s)


class MultiRes(nn.Module):
    """Multi-resolution single-frame model: a fovea stream and a context stream, fused at the first FC.

    The fovea stream sees the centre ``H/2 x W/2`` crop at full resolution, the context stream the whole
    frame downsampled to ``H/2 x W/2``; the two towers do not share weights. Scores are averaged over
    frames as in ``single_frame``.

    Shape:
        x: ``(B, C, T, H, W)`` float, any ``T >= 1`` (paper: H = W = 178).
        returns: ``(B, num_classes)`` logits.
    """

    merges_time_in_fc = False

    def __init__(self, cfg: DeepVideoConfig):
        super().__init__()
        self.cfg = cfg
        self.temporal_input = (cfg.frames, 1)
        self.fovea = Tower2D(cfg.in_channels, cfg.convs)
        self.context = Tower2D(cfg.in_channels, cfg.convs)
        self.head = _head(self.fovea.out_dim + self.context.out_dim, cfg)
        self.min_size = (2 * min_side(self.fovea),) * 2  # each stream sees H/2 x W/2

    def streams(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """The two streams' inputs ``(B*T, C, H/2, W/2)`` each: (fovea, context)."""
        check_video(x, channels=self.cfg.in_channels, min_size=self.min_size, model=type(self).__name__)
        frames = rearrange(x, "b c t h w -> (b t) c h w")  # (B*T, C, H, W)
        h, w = frames.shape[-2:]
        top, left = (h - h // 2) // 2, (w - w // 2) // 2
        fovea = frames[..., top:top + h // 2, left:left + w // 2]  # (B*T, C, H/2, W/2)
        context = F.interpolate(frames, size=(h // 2, w // 2), mode="area")  # (B*T, C, H/2, W/2)
        return fovea, context

    def forward_frames(self, x: torch.Tensor) -> torch.Tensor:
        """Per-frame logits ``(B, T, num_classes)``."""
        fovea, context = self.streams(x)
        feats = torch.cat([self.fovea(fovea), self.context(context)], dim=1)  # (B*T, 2D)
        return rearrange(self.head(feats), "(b t) k -> b t k", t=x.shape[2])  # (B, T, K)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_frames(x).mean(dim=1)  # (B, K)

    def example_input(self, batch_size: int = 2, small: bool = False) -> torch.Tensor:
        """Random ``(B, C, T, H, W)`` at ``multires_size``; ``small``: 2 frames of 64x64."""
        t, s = (2, 64) if small else (self.cfg.frames, self.cfg.multires_size)
        return torch.randn(batch_size, self.cfg.in_channels, t, s, s)


# ---------------------------------------------------------------------------------------------------
# Where is time merged? Computed from the modules themselves, for the "fusion points" figure.


@dataclass(frozen=True)
class TemporalRF:
    """One layer of :func:`temporal_receptive_fields`: ``receptive_field`` input frames per output step."""

    name: str  # module name in the model
    kind: str  # "conv3d", "pool3d", "conv2d (per frame)", "fc (merges time)", ...
    kernel: int  # temporal kernel (1 for per-frame layers)
    stride: int  # temporal stride
    frames_out: int  # temporal length after the layer
    receptive_field: int  # input frames one output position depends on


def temporal_receptive_fields(model: nn.Module, frames: Optional[int] = None) -> List[TemporalRF]:
    """Temporal receptive field of every conv, pool and FC layer, walked in module order.

    Reads each layer's temporal kernel/stride/padding (2D layers run per frame: kernel 1). The model's
    ``temporal_input = (frames, spacing[, span])`` says what enters the towers (late fusion: 2 frames 15
    apart; a flow stack already spans L frames); when ``model.merges_time_in_fc`` the first FC layer sees
    all remaining time steps. Models with parallel branches give their main path as ``temporal_path()``.
    ``frames`` overrides the number of input frames.
    """
    t, jump, *rest = getattr(model, "temporal_input", (1, 1))
    t = frames if frames is not None else t
    rf = rest[0] if rest else 1  # frames a single input position already spans (e.g. a flow stack)
    merged_fc = not getattr(model, "merges_time_in_fc", False)
    out: List[TemporalRF] = []
    path = model.temporal_path() if hasattr(model, "temporal_path") else model.named_modules()
    for name, m in path:
        if isinstance(m, (nn.Conv3d, nn.MaxPool3d, nn.AvgPool3d)):
            triple = lambda v: v if isinstance(v, tuple) else (v, v, v)  # noqa: E731
            k, s, p = triple(m.kernel_size)[0], triple(m.stride)[0], triple(m.padding)[0]
            kind = "conv3d" if isinstance(m, nn.Conv3d) else "pool3d"
        elif isinstance(m, (nn.AdaptiveMaxPool3d, nn.AdaptiveAvgPool3d)):
            size = m.output_size if isinstance(m.output_size, tuple) else (m.output_size,) * 3
            if size[0] is None:
                k, s, p, kind = 1, 1, 0, "pool3d (spatial)"
            else:
                k, s, p, kind = t - size[0] + 1, 1, 0, "pool3d (adaptive)"
        elif isinstance(m, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveMaxPool2d,
                            nn.AdaptiveAvgPool2d)):
            k, s, p = 1, 1, 0
            kind = ("conv2d" if isinstance(m, nn.Conv2d) else "pool2d") + " (per frame)"
        elif isinstance(m, nn.Linear):
            if not merged_fc and t > 1:
                k, s, p, kind, merged_fc = t, 1, 0, "fc (merges time)", True
            else:
                k, s, p, kind = 1, 1, 0, "fc" if t == 1 else "fc (per frame)"
        else:
            continue
        rf += (k - 1) * jump
        jump *= s
        t = (t + 2 * p - k) // s + 1
        out.append(TemporalRF(name, kind, k, s, t, rf))
    return out


def fusion_point(model: nn.Module) -> Optional[str]:
    """Name of the first layer that combines several input frames (``None``: only scores are averaged)."""
    _, _, *rest = getattr(model, "temporal_input", (1, 1))
    start = rest[0] if rest else 1
    return next((lay.name for lay in temporal_receptive_fields(model) if lay.receptive_field > start), None)


def _config(tiny: bool, overrides: dict) -> DeepVideoConfig:
    return DeepVideoConfig.tiny(**overrides) if tiny else replace(DeepVideoConfig(), **overrides)


@register_model
def single_frame(tiny: bool = False, **overrides) -> SingleFrame:
    """DeepVideo's single-frame model (Karpathy et al. 2014): no temporal fusion at all."""
    return SingleFrame(_config(tiny, overrides))


@register_model
def late_fusion(tiny: bool = False, **overrides) -> FusionNet:
    """DeepVideo late fusion: two frames ``late_gap`` apart, shared towers, merged at the first FC."""
    return FusionNet(_config(tiny, overrides), "late")


@register_model
def early_fusion(tiny: bool = False, **overrides) -> FusionNet:
    """DeepVideo early fusion: the first conv spans the whole ``frames`` window."""
    return FusionNet(_config(tiny, overrides), "early")


@register_model
def slow_fusion(tiny: bool = False, **overrides) -> FusionNet:
    """DeepVideo slow fusion: time merged progressively by the first three convs (``slow_temporal``)."""
    return FusionNet(_config(tiny, overrides), "slow")


@register_model
def multires(tiny: bool = False, **overrides) -> MultiRes:
    """DeepVideo multiresolution: fovea (centre crop) + context (downsampled) streams per frame."""
    return MultiRes(_config(tiny, overrides))
