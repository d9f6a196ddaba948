"""SlowFast: a slow, wide pathway for appearance and a fast, thin pathway for motion.

SlowFast Networks for Video Recognition
Feichtenhofer, Fan, Malik, He. ICCV 2019. https://arxiv.org/abs/1812.03982

The idea: space and time should not be treated alike. The **Slow** pathway sees few frames (``T``,
one every ``tau`` frames of the video) with many channels, for semantics that change slowly; the **Fast**
pathway sees ``alpha`` times more frames (stride ``tau / alpha``) with only ``beta`` of the channels and
never downsamples time, for fast motion. Because it is thin, the Fast pathway costs only about 20% of the
computation. Lateral connections feed the Fast pathway into the Slow one after pool1, res2, res3 and res4;
each must turn ``alpha * T`` frames into ``T``: time-to-channel (pack the ``alpha`` frames into channels),
time-strided sampling (keep one frame in ``alpha``), or the paper's default, a time-strided ``5x1x1`` conv
with ``2 * beta * C`` outputs and stride ``alpha``. The fused features are concatenated to the Slow
pathway's. Both pathways are 3D ResNets; the Slow one uses temporal kernels only in res4-res5 (the paper
found temporal convolution in early layers hurts when frames are far apart), the Fast one everywhere.

    video
      |-- one frame in tau -------> Slow: T frames, C channels
      |                             stem --(+)--> res2 --(+)--> res3 --(+)--> res4 --(+)--> res5 -> pool -+
      |                                     ^             ^             ^             ^                 |
      |                                  lateral       lateral       lateral       lateral         concat, fc
      |                                     |             |             |             |                 |
      '-- one frame in tau/alpha -> Fast: alpha*T frames, beta*C channels, never strided in time      |
                                    stem ---+---> res2 ---+---> res3 ---+---> res4 ---+---> res5 -> pool -+

ResNet-50 recipe (Table 1), Slow | Fast: stem 1x7x7, 64 | 5x7x7, 8, then 1x3x3 max pool; res2-res5
bottlenecks ``[kt x1x1, 1x3x3, 1x1x1]`` with widths 64/128/256/512 | 8/16/32/64 (outputs 4x), depths 3-4-6-3,
temporal kernels ``kt`` 1-1-3-3 | 3-3-3-3, spatial stride 2 in res3-res5. ``slowfast_r50`` is the paper's
SlowFast 4x16 (``T=4, tau=16, alpha=8, beta=1/8``, 5x1x1 laterals), ``slowfast_r50_8x8`` the official
``SLOWFAST_8x8_R50`` recipe (facebookresearch/SlowFast ``configs/Kinetics/SLOWFAST_8x8_R50.yaml``: the Fast
pathway takes 32 frames at stride 2 and ``alpha=4``, so Slow takes 8 at stride 8, and the laterals are 7x1x1,
``FUSION_KERNEL_SZ: 7``; keeping ``alpha=8`` with ``slow_frames=8, tau=8`` is *not* that model: its Fast
pathway would take 64 frames at stride 1), ``slow_r50`` the Slow-only 8x8 baseline and ``fast_r50`` the
Fast-only one (Table 5a).

Sizes (400 classes): ``slowfast_r50`` 34,480,216 parameters (paper: 34.4M; with 7x1x1 laterals, as
pytorchvideo's ``slowfast_r50`` uses, 34,566,488), ``slow_r50`` 32,454,096, ``fast_r50`` 616,952.
Cost of SlowFast 4x16 at 256x256 (the paper's test size), counted by :func:`flops_by_part`: 36.1 G
multiply-adds (paper: 36.1 "GFLOPs", which are multiply-adds), of which the Fast pathway is 19.1%
(20.5% with the laterals; paper: ~20%); Slow-only 4x16 is 27.3 G (paper: 27.3). ``slowfast_r50_8x8``:
34,566,488 parameters (34.57 M, the official model zoo's) and 65.71 G multiply-adds on one 256x256 view
(paper Table 2: 65.7 "GFLOPs" per view, tested on 256x256 crops; at 224x224 it is 50.3 G).

Shapes: ``model([slow, fast])`` with slow ``(B, 3, T, H, W)`` and fast ``(B, 3, alpha*T, H, W)`` float
(:func:`pathway_inputs` makes the pair from one dense clip); Slow-only / Fast-only take one tensor.
Output ``(B, num_classes)`` logits.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from einops import rearrange
from torch.utils.flop_counter import FlopCounterMode

from vidlearn.layers.checks import check_num_classes, check_same_batch, check_video
from vidlearn.registry import register_model
from vidlearn.weights import load_weights

StateDict = Union[str, Path, Mapping[str, torch.Tensor]]
LATERALS = ("conv", "sample", "ttoc", "none")


@dataclass(frozen=True)
class SlowFastConfig:
    num_classes: int = 400  # Kinetics-400
    in_channels: int = 3
    pathways: str = "slowfast"  # "slowfast", "slow" (Slow-only) or "fast" (Fast-only)
    depths: Tuple[int, ...] = (3, 4, 6, 3)  # bottlenecks in res2..res5: ResNet-50
    width: int = 64  # Slow stem channels; res_i bottleneck width width * 2^(i-2), output 4x that
    slow_frames: int = 4  # T: frames of the Slow pathway
    tau: int = 16  # the Slow pathway takes one frame in tau of the video
    alpha: int = 8  # the Fast pathway takes alpha x more frames (stride tau / alpha)
    beta_inv: int = 8  # ... with 1 / beta_inv of the channels
    slow_stem_kernel_t: int = 1
    fast_stem_kernel_t: int = 5
    slow_kernels_t: Tuple[int, ...] = (1, 1, 3, 3)  # temporal size of conv_a in res2..res5
    fast_kernels_t: Tuple[int, ...] = (3, 3, 3, 3)  # "non-degenerate" temporal convs throughout
    lateral: str = "conv"  # "conv" (time-strided conv), "sample" (time-strided sampling), "ttoc", "none"
    lateral_kernel_t: int = 5
    lateral_ratio: int = 2  # the conv lateral outputs lateral_ratio * beta * C channels
    size: int = 224
    dropout: float = 0.5

    def __post_init__(self):
        check_num_classes(self.num_classes, f"{type(self).__name__}.num_classes")

    @classmethod
    def tiny(cls, **overrides) -> SlowFastConfig:
        # a clip of 8 frames: Fast takes all 8 (alpha=4), Slow 2
        base = cls(num_classes=10, depths=(1, 1, 1, 1), width=8, slow_frames=2, tau=4, alpha=4,
                   beta_inv=4, size=32, dropout=0.2)
        return replace(base, **overrides)

    @property
    def fast_frames(self) -> int:
        return self.alpha * self.slow_frames


def pathway_inputs(clip: torch.Tensor, alpha: int) -> List[torch.Tensor]:
    """``[slow, fast]`` from one dense clip: Fast takes every frame, Slow every ``alpha``-th from the first.

    The clip should be sampled with stride ``tau / alpha`` from the video; then Slow has stride ``tau``.

    Shape: ``(B, C, alpha*T, H, W)`` (or without ``B``) -> ``[(B, C, T, H, W), (B, C, alpha*T, H, W)]``.
    """
    t = clip.shape[-3]
    if clip.dim() not in (4, 5) or t % alpha != 0:
        raise ValueError(f"pathway_inputs expects a clip (B, C, T, H, W) or (C, T, H, W) with T a multiple "
                         f"of alpha={alpha}, got shape {tuple(clip.shape)}")
    return [clip[..., ::alpha, :, :], clip]


def _conv_bn_relu(c_in: int, c_out: int, kernel: Tuple[int, int, int],
                  stride: Tuple[int, int, int] = (1, 1, 1), relu: bool = True) -> nn.Sequential:
    padding = tuple(k // 2 for k in kernel)
    layers = [nn.Conv3d(c_in, c_out, kernel, stride, padding, bias=False), nn.BatchNorm3d(c_out)]
    return nn.Sequential(*layers, nn.ReLU(inplace=True)) if relu else nn.Sequential(*layers)


class Bottleneck3d(nn.Module):
    """ResNet bottleneck ``kt x1x1 -> 1x3x3 (spatial stride) -> 1x1x1`` plus shortcut (SlowFast Table 1).

    The last BN starts at zero (as in the paper's training recipe), so each block starts as its shortcut.

    Shape: ``(B, c_in, T, H, W) -> (B, c_out, T, H/s, W/s)``.
    """

    def __init__(self, c_in: int, inner: int, c_out: int, kernel_t: int, stride: int):
        super().__init__()
        self.conv_a = _conv_bn_relu(c_in, inner, (kernel_t, 1, 1))
        self.conv_b = _conv_bn_relu(inner, inner, (1, 3, 3), (1, stride, stride))
        self.conv_c = _conv_bn_relu(inner, c_out, (1, 1, 1), relu=False)
        nn.init.zeros_(self.conv_c[1].weight)
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = _conv_bn_relu(c_in, c_out, (1, 1, 1), (1, stride, stride), relu=False)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv_c(self.conv_b(self.conv_a(x)))  # (B, c_out, T, H/s, W/s)
        return self.relu(y + self.shortcut(x))


class Pathway(nn.Module):
    """One 3D ResNet pathway: stem (conv + 1x3x3 max pool) and four stages res2..res5.

    ``extra_in[i]`` channels arrive from a lateral connection before stage ``i`` (zero without fusion).

    Shape: stem ``(B, C, T, H, W) -> (B, width, T, H/4, W/4)``; stage i output ``4 * width * 2^i`` channels.
    """

    def __init__(self, in_channels: int, width: int, stem_kernel_t: int, depths: Sequence[int],
                 kernels_t: Sequence[int], extra_in: Sequence[int]):
        super().__init__()
        self.stem = nn.Sequential(
            _conv_bn_relu(in_channels, width, (stem_kernel_t, 7, 7), (1, 2, 2)),
            nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1)),
        )
        self.stages = nn.ModuleList()
        self.out_channels: List[int] = [width]  # after the stem, res2, ..., res5
        c = width
        for i, (depth, kt, extra) in enumerate(zip(depths, kernels_t, extra_in)):
            inner = width * 2 ** i
            blocks = [Bottleneck3d(c + extra if j == 0 else 4 * inner, inner, 4 * inner, kt,
                                   2 if (i > 0 and j == 0) else 1) for j in range(depth)]
            self.stages.append(nn.Sequential(*blocks))
            c = 4 * inner
            self.out_channels.append(c)


class Lateral(nn.Module):
    """Fast -> Slow lateral connection: ``alpha * T`` frames of ``c`` channels to ``T`` frames.

    Sec. 3.3 of the paper places the connections (after pool1, res2, res3, res4); Sec. 3.4 gives their three
    forms (time-to-channel, time-strided sampling, time-strided convolution) and the shapes they join.

    The ``"conv"`` kind is the official ``FuseFastToSlow`` (facebookresearch/SlowFast
    ``slowfast/models/video_model_builder.py``): ``[k, 1, 1]`` conv, stride ``[alpha, 1, 1]``, padding
    ``[k // 2, 0, 0]``, no bias, ``2 * c`` outputs (``FUSION_CONV_CHANNEL_RATIO: 2``), BN, ReLU, then
    concatenated after the Slow features; it sits after the stem (with its pool), res2, res3 and res4.

    ``"conv"``: time-strided ``k x1x1`` conv, stride ``alpha``, ``ratio * c`` outputs (+ BN, ReLU);
    ``"sample"``: keep every ``alpha``-th frame (``c`` channels); ``"ttoc"``: time-to-channel, pack the
    ``alpha`` frames of each step into channels (``alpha * c``).

    Shape: ``(B, c, alpha*T, H, W) -> (B, out_channels, T, H, W)``.
    """

    def __init__(self, kind: str, channels: int, alpha: int, kernel_t: int = 5, ratio: int = 2):
        super().__init__()
        self.kind, self.alpha = kind, alpha
        if kind == "conv":
            self.conv = _conv_bn_relu(channels, ratio * channels, (kernel_t, 1, 1), (alpha, 1, 1))
            self.out_channels = ratio * channels
        elif kind == "sample":
            self.out_channels = channels
        elif kind == "ttoc":
            self.out_channels = alpha * channels
        else:
            raise ValueError(f"lateral must be one of {LATERALS}, got {kind!r}")

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        if self.kind == "conv":
            return self.conv(f)  # (B, ratio*c, T, H, W)
        if self.kind == "sample":
            return f[:, :, :: self.alpha]  # (B, c, T, H, W)
        return rearrange(f, "b c (t a) h w -> b (c a) t h w", a=self.alpha)  # (B, alpha*c, T, H, W)


class SlowFast(nn.Module):
    """SlowFast network, or one of its pathways alone (``cfg.pathways``).

    Shape:
        x: ``[slow, fast]``, slow ``(B, C, T, H, W)``, fast ``(B, C, alpha*T, H, W)`` with the same
            ``B, H, W``; Slow-only / Fast-only: one tensor (or such a pair, of which it takes its own).
        returns: ``(B, num_classes)`` logits.
    """

    min_size = (1, 1)  # padded convs and a global pool: any frame size

    def __init__(self, cfg: SlowFastConfig):
        super().__init__()
        if cfg.pathways not in ("slowfast", "slow", "fast"):
            raise ValueError(f"pathways must be 'slowfast', 'slow' or 'fast', got {cfg.pathways!r}")
        if cfg.lateral not in LATERALS:
            raise ValueError(f"lateral must be one of {LATERALS}, got {cfg.lateral!r}")
        if cfg.width % cfg.beta_inv != 0:
            raise ValueError(f"width={cfg.width} must be divisible by beta_inv={cfg.beta_inv}")
        self.cfg = cfg
        n = len(cfg.depths)
        fast_width = cfg.width // cfg.beta_inv
        self.slow: Optional[Pathway] = None
        self.fast: Optional[Pathway] = None
        self.laterals = nn.ModuleList()
        if cfg.pathways != "slow":
            self.fast = Pathway(cfg.in_channels, fast_width, cfg.fast_stem_kernel_t, cfg.depths,
                                cfg.fast_kernels_t, [0] * n)
        if cfg.pathways == "slowfast" and cfg.lateral != "none":
            for c in self.fast.out_channels[:n]:  # after pool1, res2, res3, res4
                lateral = Lateral(cfg.lateral, c, cfg.alpha, cfg.lateral_kernel_t, cfg.lateral_ratio)
                self.laterals.append(lateral)
        if cfg.pathways != "fast":
            extra = [lat.out_channels for lat in self.laterals] or [0] * n
            self.slow = Pathway(cfg.in_channels, cfg.width, cfg.slow_stem_kernel_t, cfg.depths,
                                cfg.slow_kernels_t, extra)
        self.out_dim = sum(p.out_channels[-1] for p in (self.slow, self.fast) if p is not None)
        self.dropout = nn.Dropout(cfg.dropout)
        self.fc = nn.Linear(self.out_dim, cfg.num_classes)

    def _split(self, x) -> Tuple[Optional[torch.Tensor], Optional[torch.Tensor]]:
        cfg, name = self.cfg, type(self).__name__
        pair = isinstance(x, (list, tuple))
        if pair and len(x) != 2:
            raise ValueError(f"{name} expects [slow, fast] (two tensors), got a {type(x).__name__} of "
                             f"{len(x)}")
        if cfg.pathways != "slowfast":
            if pair:
                x = x[0] if cfg.pathways == "slow" else x[1]
            check_video(x, channels=cfg.in_channels, name=f"the {cfg.pathways} input", model=name)
            return (x, None) if cfg.pathways == "slow" else (None, x)
        if not pair:
            got = f"one tensor of shape {tuple(x.shape)}" if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"{name} expects [slow, fast]: a list of two (B, C, T, H, W) tensors, fast with "
                             f"alpha={cfg.alpha} x more frames (see pathway_inputs), got {got}")
        slow, fast = x
        check_video(slow, channels=cfg.in_channels, name="slow", model=name)
        check_video(fast, channels=cfg.in_channels, name="fast", model=name)
        check_same_batch(name, slow=slow, fast=fast)
        if fast.shape[2] != cfg.alpha * slow.shape[2]:
            raise ValueError(f"{name} expects the fast input to have alpha={cfg.alpha} x the slow frames: "
                             f"slow T={slow.shape[2]} needs fast T={cfg.alpha * slow.shape[2]}, got "
                             f"T={fast.shape[2]} (shapes {tuple(slow.shape)} and {tuple(fast.shape)})")
        s, f = slow.shape, fast.shape
        if (s[0], s[3], s[4]) != (f[0], f[3], f[4]):
            raise ValueError(f"{name} expects slow and fast with the same batch size and H x W, got "
                             f"{tuple(s)} and {tuple(f)}")
        return slow, fast

    def _pathways(self, x, shapes: Optional[Dict[str, Tuple[int, ...]]] = None) -> List[torch.Tensor]:
        """Run both pathways with their fusions; final feature maps, optionally recording every shape."""
        s, f = self._split(x)
        rec = shapes if shapes is not None else {}
        if s is not None:
            s = self.slow.stem(s)  # (B, C, T, H/4, W/4)
            rec["slow pool1"] = tuple(s.shape)
        if f is not None:
            f = self.fast.stem(f)  # (B, beta*C, alpha*T, H/4, W/4)
            rec["fast pool1"] = tuple(f.shape)
        for i in range(len(self.cfg.depths)):
            res = f"res{i + 2}"
            if len(self.laterals):
                lat = self.laterals[i](f)  # (B, C_lat, T, H', W')
                s = torch.cat([s, lat], dim=1)  # (B, C + C_lat, T, H', W')
                rec[f"lateral -> {res}"], rec[f"slow {res} input"] = tuple(lat.shape), tuple(s.shape)
            if s is not None:
                s = self.slow.stages[i](s)  # (B, 4*C*2^i, T, H'', W'')
                rec[f"slow {res}"] = tuple(s.shape)
            if f is not None:
                f = self.fast.stages[i](f)  # (B, 4*beta*C*2^i, alpha*T, H'', W'')
                rec[f"fast {res}"] = tuple(f.shape)
        return [t for t in (s, f) if t is not None]

    def forward_features(self, x) -> torch.Tensor:
        """Globally pooled features of the pathways, concatenated: ``(B, out_dim)`` (2048 + 256 at R50)."""
        return torch.cat([m.mean(dim=(2, 3, 4)) for m in self._pathways(x)], dim=1)  # (B, D_slow + D_fast)

    def forward(self, x) -> torch.Tensor:
        return self.fc(self.dropout(self.forward_features(x)))  # (B, K)

    @torch.no_grad()
    def feature_shapes(self, x) -> Dict[str, Tuple[int, ...]]:
        """The shape of every pathway, lateral and fused tensor, in forward order (for figures and tests)."""
        shapes: Dict[str, Tuple[int, ...]] = {}
        feats = self._pathways(x, shapes)
        shapes["pooled"] = (feats[0].shape[0], self.out_dim)
        return shapes

    def example_input(self, batch_size: int = 2, small: bool = False):
        """Random ``[slow, fast]`` made from one clip by :func:`pathway_inputs` (one tensor for one pathway).

        ``small``: 2 Slow frames (``2 * alpha`` Fast frames) of 32x32, the smallest the strides allow.
        """
        t, s = (2, 32) if small else (self.cfg.slow_frames, self.cfg.size)
        if self.cfg.pathways == "slow":
            return torch.randn(batch_size, self.cfg.in_channels, t, s, s)
        clip = torch.randn(batch_size, self.cfg.in_channels, self.cfg.alpha * t, s, s)
        return pathway_inputs(clip, self.cfg.alpha) if self.cfg.pathways == "slowfast" else clip


def flops_by_part(model: SlowFast, x) -> Dict[str, int]:
    """FLOPs of one forward pass split into ``slow``, ``fast``, ``lateral``, ``head`` and ``total``.

    Counted by ``torch.utils.flop_counter`` (a multiply-add is 2 FLOPs). Run it on the ``meta`` device
    to count paper-size models instantly: build the model and input under ``with torch.device("meta")``.
    """
    with FlopCounterMode(display=False) as counter:
        model(x)
    per_module = {k: sum(v.values()) for k, v in counter.get_flop_counts().items()}
    root = type(model).__name__

    def part(name: str) -> int:
        # containers (Pathway, ModuleList) are never called themselves: add up their outermost called children
        prefix = f"{root}.{name}"
        keys = [k for k in per_module if k == prefix or k.startswith(prefix + ".")]
        outer = [k for k in keys if not any(k.startswith(a + ".") for a in keys)]
        return sum(per_module[k] for k in outer)

    parts = {"slow": part("slow"), "fast": part("fast"), "lateral": part("laterals"), "head": part("fc")}
    parts["total"] = counter.get_total_flops()
    return parts


def _build(cfg: SlowFastConfig, weights: Optional[StateDict]) -> SlowFast:
    model = SlowFast(cfg)
    if weights is not None:
        load_weights(model, weights)  # weights_only=True; names the file, the keys and the shapes
    return model


def _config(tiny: bool, defaults: dict, overrides: dict) -> SlowFastConfig:
    base = SlowFastConfig.tiny(**defaults) if tiny else replace(SlowFastConfig(), **defaults)
    return replace(base, **overrides)


@register_model
def slowfast_r50(tiny: bool = False, weights: Optional[StateDict] = None, **overrides) -> SlowFast:
    """SlowFast 4x16 ResNet-50 (Feichtenhofer et al. 2019): T=4, tau=16, alpha=8, beta=1/8, conv laterals."""
    return _build(_config(tiny, {}, overrides), weights)


@register_model
def slowfast_r50_8x8(tiny: bool = False, weights: Optional[StateDict] = None, **overrides) -> SlowFast:
    """SlowFast 8x8 ResNet-50, the official ``SLOWFAST_8x8_R50``: T=8, tau=8, alpha=4, 7x1x1 laterals.

    The Fast pathway takes 32 frames at stride 2. Paper size at 256x256 (``size=256``): 34.57 M parameters,
    65.7 G multiply-adds per view. The tiny variant is ``slowfast_r50``'s (alpha=4 already) with 7x1x1 laterals.
    """
    defaults = {"lateral_kernel_t": 7}
    if not tiny:
        defaults.update(slow_frames=8, tau=8, alpha=4)
    return _build(_config(tiny, defaults, overrides), weights)


@register_model
def slow_r50(tiny: bool = False, weights: Optional[StateDict] = None, **overrides) -> SlowFast:
    """Slow-only 8x8 ResNet-50: the Slow pathway alone (8 frames, stride 8), no Fast pathway."""
    defaults = {"pathways": "slow"} if tiny else {"pathways": "slow", "slow_frames": 8, "tau": 8}
    return _build(_config(tiny, defaults, overrides), weights)


@register_model
def fast_r50(tiny: bool = False, weights: Optional[StateDict] = None, **overrides) -> SlowFast:
    """Fast-only ResNet-50: the Fast pathway alone (alpha*T = 32 frames, stride 2, beta = 1/8 channels)."""
    return _build(_config(tiny, {"pathways": "fast"}, overrides), weights)
