"""Convolutional two-stream fusion: where and how to merge appearance, motion and time.

Convolutional Two-Stream Network Fusion for Video Action Recognition
Christoph Feichtenhofer, Axel Pinz, Andrew Zisserman. CVPR 2016. https://arxiv.org/abs/1604.06573

The idea: Two-Stream only averages the two streams' class scores, so it can never learn which pixels
of the motion stream go with which pixels of the appearance stream. Fuse the streams' *conv feature
maps* instead (Sec. 3.1: sum, max, concatenation, conv = concatenation + learned 1x1 conv, bilinear =
outer product of the two feature vectors at every location, summed over space), at a chosen depth
(Sec. 3.2: best after conv5, and fusing at conv5 *and* fc8 helps a bit more), then merge time with 3D
operations over T fused frames (Sec. 3.3: 2D pooling ignores time; 3D pooling; 3D conv + 3D pooling).
The final model (Fig. 6) fuses at conv5 with a 3x3x3 conv over the stacked streams, 3D-pools, and keeps
the temporal stream as a second branch with its own 3D pooling and loss. UCF-101 / HMDB51 with VGG-16:
92.5% / 65.4% (two-stream late fusion of the same nets: 91.4% / 58.0%). Conv fusion at conv5 matched
late fusion's accuracy with half the parameters.

    rgb frame t  ---[VGG conv1..conv5]--+                      T positions, each: one RGB frame and
                                        +--f(sum|max|cat|conv|bilinear)    its stack of L flow fields
    flow stack t ---[VGG conv1..conv5]--+------------------------+
                        (fused at conv5, or earlier)             |
    fused (B, C, T, h, w) --3D conv 3x3x3 --3D pool (T x 2 x 2)--> fc6 fc7 fc8 --> spatiotemporal loss
    temporal (B, C, T, h, w) -------------3D pool (T x 2 x 2)----> fc6 fc7 fc8 --> temporal loss
    prediction = average of the two branches' softmax scores

Shapes: one tuple ``(rgb, flow)``: rgb ``(B, 3, T, H, W)`` (T frames), flow ``(B, 2, T*L, H, W)`` (the
L fields of position t are ``t*L ... t*L + L - 1``, stacked to 2L channels ``[x_1, y_1, ...]``); returns
``(B, num_classes)`` logits; ``forward_branches`` gives each branch's logits and :func:`fusion_losses`
their losses. ``fusion_point`` / ``temporal_receptive_fields`` (from ``deepvideo``) walk
``temporal_path()``, the layers along the fused branch. ``fuse_at="fc8"`` is the paper's baseline, Two-Stream's
late fusion (two towers, scores averaged); :class:`BranchLosses` lets ``fit`` train a model on the sum of its
branches' losses and :func:`branch_accuracies` scores each branch alone (the Fusion chapter's miniature).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Dict, List, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from einops import rearrange

from vidlearn.layers.checks import check_num_classes, check_video, min_side
from vidlearn.models.two_stream import unpack_pair
from vidlearn.registry import register_model

FUSIONS = ("sum", "max", "concat", "conv", "bilinear")
TEMPORAL_FUSIONS = ("2d_pool", "3d_pool", "3d_conv_pool")
VGG16 = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))


@dataclass(frozen=True)
class FusionConfig:
    num_classes: int = 101  # UCF-101
    stages: Tuple[Tuple[int, ...], ...] = VGG16  # conv widths of stage conv1..conv5 (3x3 convs, pool between)
    fc_dims: Tuple[int, int] = (4096, 4096)  # fc6, fc7
    grid: int = 7  # spatial grid of pool5 feeding fc6 (7x7 on 224x224 inputs)
    dropout: float = 0.5
    frames: int = 5  # T fused positions
    frame_step: int = 5  # frames between positions (only used to report temporal receptive fields)
    flow_frames: int = 10  # L flow fields per position
    size: int = 224
    fusion: str = "conv"  # one of FUSIONS
    fuse_at: str = "conv5"  # "conv1".."conv5"; "+fc8" also keeps the spatial tower, averaged at fc8;
    # "fc8" alone: late fusion (Two-Stream's), two whole towers whose softmax scores are averaged
    temporal_fusion: str = "3d_conv_pool"  # one of TEMPORAL_FUSIONS
    temporal_branch: bool = True  # the final model: the temporal stream continues as a second branch

    def __post_init__(self):
        check_num_classes(self.num_classes, f"{type(self).__name__}.num_classes")

    @classmethod
    def tiny(cls, **overrides) -> FusionConfig:
        base = cls(num_classes=10, stages=((16,), (32,), (48,), (64,), (64,)), fc_dims=(64, 64), grid=1,
                   dropout=0.2, frames=4, frame_step=2, flow_frames=2, size=32)
        return replace(base, **overrides)


def vgg_stage(cin: int, widths: Sequence[int], pool: bool) -> nn.Sequential:
    """Optional 2x2 max-pool, then 3x3 conv + ReLU per width. Shape: ``(N, cin, h, w) -> (N, w_last, h', w')``."""
    layers: List[nn.Module] = [nn.MaxPool2d(2, 2)] if pool else []
    for w in widths:
        layers += [nn.Conv2d(cin, w, 3, padding=1), nn.ReLU(inplace=True)]
        cin = w
    return nn.Sequential(*layers)


def vgg_stages(cin: int, stages: Sequence[Sequence[int]], first: int = 0) -> nn.ModuleList:
    """Stages ``first..`` of a VGG tower (stage i > 0 starts with a pool)."""
    out = []
    for i, widths in enumerate(stages):
        if i >= first:
            out.append(vgg_stage(cin, widths, pool=i > 0))
        cin = widths[-1]
    return nn.ModuleList(out)


class SpatialFusion(nn.Module):
    """Fuse two feature maps at the same locations (Sec. 3.1).

    Shape: ``(N, D, h, w), (N, D, h, w) ->`` sum/max/conv: ``(N, D, h, w)``; concat: ``(N, 2D, h, w)``;
    bilinear: ``(N, D*D)`` (outer product at each location, summed over locations, then signed square
    root and L2 normalisation). ``out_channels`` says which.
    """

    def __init__(self, mode: str, channels: int):
        super().__init__()
        if mode not in FUSIONS:
            raise ValueError(f"unknown fusion {mode!r}; expected one of {', '.join(FUSIONS)}")
        self.mode = mode
        self.out_channels = {"concat": 2 * channels, "bilinear": channels * channels}.get(mode, channels)
        self.conv = None
        if mode == "conv":
            self.conv = nn.Conv2d(2 * channels, channels, 1)
            with torch.no_grad():  # start as sum fusion: f = [I, I], bias 0
                eye = torch.eye(channels)[:, :, None, None]
                self.conv.weight.copy_(torch.cat([eye, eye], dim=1))
                self.conv.bias.zero_()

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        if a.shape != b.shape:
            raise ValueError(f"fusion needs equal feature maps, got {tuple(a.shape)} and {tuple(b.shape)}")
        if self.mode == "sum":
            return a + b  # (N, D, h, w)
        if self.mode == "max":
            return torch.maximum(a, b)  # (N, D, h, w)
        if self.mode in ("concat", "conv"):
            cat = torch.cat([a, b], dim=1)  # (N, 2D, h, w)
            return cat if self.conv is None else self.conv(cat)  # (N, 2D | D, h, w)
        y = torch.einsum("nihw,njhw->nij", a, b).flatten(1)  # (N, D*D): sum over locations of a x b^T
        y = torch.sign(y) * torch.sqrt(y.abs() + 1e-12)
        return F.normalize(y, dim=1)  # (N, D*D)


class TemporalHead(nn.Module):
    """Merge time over the T positions, then fc6-fc8.

    ``2d_pool``: 2x2 pool per frame, fc6-fc8 per frame, scores averaged over T (time ignored);
    ``3d_pool``: max-pool over T x 2 x 2; ``3d_conv_pool``: 3x3x3 conv (``in_channels -> channels``), then
    the 3D pool (without the conv, ``channels`` is unused). Shape: ``(B, in_channels, T, h, w) -> (B, num_classes)``.
    """

    def __init__(self, in_channels: int, channels: int, cfg: FusionConfig, mode: str):
        super().__init__()
        if mode not in TEMPORAL_FUSIONS:
            raise ValueError(f"unknown temporal fusion {mode!r}; expected one of {', '.join(TEMPORAL_FUSIONS)}")
        self.conv3d = (nn.Sequential(nn.Conv3d(in_channels, channels, 3, padding=1), nn.ReLU(inplace=True))
                       if mode == "3d_conv_pool" else None)
        kt = 1 if mode == "2d_pool" else cfg.frames
        self.pool = nn.MaxPool3d((kt, 2, 2), (kt, 2, 2))  # pool5, over time too unless 2d_pool
        self.grid = nn.AdaptiveMaxPool3d((None, cfg.grid, cfg.grid))  # identity at 224x224
        f6, f7 = cfg.fc_dims
        c = channels if self.conv3d is not None else in_channels
        self.fcs = nn.Sequential(
            nn.Linear(c * cfg.grid ** 2, f6), nn.ReLU(inplace=True), nn.Dropout(cfg.dropout),
            nn.Linear(f6, f7), nn.ReLU(inplace=True), nn.Dropout(cfg.dropout),
            nn.Linear(f7, cfg.num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.conv3d is not None:
            x = self.conv3d(x)  # (B, C, T, h, w)
        x = self.grid(self.pool(x))  # (B, C, T', grid, grid); T' = 1 unless 2d_pool
        x = rearrange(x, "b c t h w -> b t (c h w)")  # (B, T', C*grid*grid)
        return self.fcs(x).mean(dim=1)  # (B, num_classes): average over T' (a no-op once time is pooled)


class FusionTwoStream(nn.Module):
    """Two VGG towers fused at ``fuse_at`` by ``fusion``, time merged by ``temporal_fusion``.

    Branches (``forward_branches``): ``spatiotemporal`` (always, except late fusion), ``temporal``
    (``temporal_branch``, and late fusion), and ``spatial`` (``fuse_at`` ending in ``fc8``). ``forward``
    averages their softmax scores. ``fuse_at="fc8"`` is the paper's baseline, late fusion: the two towers
    never meet before their class scores (``temporal_fusion`` then only picks 2D or 3D pooling).

    Shape:
        inputs: ``(rgb, flow)``: rgb ``(B, 3, T, H, W)``, flow ``(B, 2, T*L, H, W)``, ``T == frames``.
        returns: ``(B, num_classes)`` logits.
    """

    def __init__(self, cfg: FusionConfig):
        super().__init__()
        names = [f"conv{i + 1}" for i in range(len(cfg.stages))]
        self.late = cfg.fuse_at == "fc8"  # Two-Stream's late fusion: no feature map is ever fused
        at = names[-1] if self.late else cfg.fuse_at.split("+")[0]
        plus_fc8 = self.late or cfg.fuse_at.endswith("+fc8")
        if at not in names or cfg.fuse_at.count("+") > int(plus_fc8 and not self.late):
            raise ValueError(f"unknown fuse_at {cfg.fuse_at!r}; expected one of {', '.join(names)}, "
                             "optionally with '+fc8', or 'fc8' (late fusion of the class scores)")
        k, last = names.index(at), len(cfg.stages) - 1
        if cfg.fusion == "bilinear" and (k != last or cfg.temporal_fusion != "2d_pool"):
            raise ValueError("bilinear fusion leaves no spatial map: use it at the last conv stage "
                             f"({names[-1]}) with temporal_fusion='2d_pool'")
        self.cfg, self.fuse_index = cfg, k
        self.temporal_input = (cfg.frames, cfg.frame_step, cfg.flow_frames)  # for the receptive-field report
        d, top = cfg.stages[k][-1], cfg.stages[-1][-1]
        self.spatial = vgg_stages(3, cfg.stages[:k + 1])
        self.temporal = vgg_stages(2 * cfg.flow_frames, cfg.stages[:k + 1])
        # the paper's final model: at the last stage, conv fusion + 3D conv are one 3x3x3 conv on the stack
        conv_in_3d = cfg.fusion == "conv" and cfg.temporal_fusion == "3d_conv_pool" and k == last
        self.fuse = SpatialFusion("concat" if conv_in_3d else cfg.fusion, d)
        if self.late:  # two whole towers, each to its own fc8 (the branches "spatial" and "temporal")
            self.fuse, self.fused_stages, self.head = None, nn.ModuleList(), None
        elif cfg.fusion == "bilinear":
            self.fused_stages = nn.ModuleList()
            self.head: nn.Module = nn.Linear(self.fuse.out_channels, cfg.num_classes)
        else:
            widths = list(cfg.stages)
            widths[k] = (self.fuse.out_channels,)  # the fused map's channels enter stage k+1
            self.fused_stages = vgg_stages(3, widths, first=k + 1)
            cin = self.fuse.out_channels if k == last else top
            self.head = TemporalHead(cin, top, cfg, cfg.temporal_fusion)
            if conv_in_3d and d == top:  # start as sum fusion, as SpatialFusion("conv") does
                with torch.no_grad():  # centre tap [I, I], every other tap and the bias 0
                    conv = self.head.conv3d[0]
                    eye = torch.eye(d)
                    conv.weight.zero_()
                    conv.weight[:, :, 1, 1, 1] = torch.cat([eye, eye], dim=1)
                    conv.bias.zero_()
        pool_only = "2d_pool" if cfg.temporal_fusion == "2d_pool" else "3d_pool"
        self.temporal_rest = self.temporal_head = self.spatial_rest = self.spatial_head = None
        if cfg.temporal_branch or self.late:
            self.temporal_rest = vgg_stages(3, cfg.stages, first=k + 1)
            self.temporal_head = TemporalHead(top, top, cfg, pool_only)
        if plus_fc8:
            self.spatial_rest = vgg_stages(3, cfg.stages, first=k + 1)
            self.spatial_head = TemporalHead(top, top, cfg, pool_only)
        # the smallest H x W every branch's pools leave at least one pixel of (32 for VGG's 5 pools)
        branches = [(self.spatial, self.fused_stages, self.head), (self.temporal, self.temporal_rest,
                    self.temporal_head), (self.spatial, self.spatial_rest, self.spatial_head)]
        side = max(min_side(*[m for m in b if m is not None]) for b in branches)
        self.min_size = (side, side)

    def _inputs(self, inputs: Sequence[torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
        rgb, flow = unpack_pair(inputs, "FusionTwoStream")
        t, n = self.cfg.frames, self.cfg.flow_frames
        check_video(rgb, channels=3, frames=t, min_size=self.min_size, name="rgb", model="FusionTwoStream")
        check_video(flow, channels=2, frames=t * n, min_size=self.min_size, name=f"flow (T*L = {t}*{n} fields)",
                    model="FusionTwoStream")
        if rgb.shape[-2:] != flow.shape[-2:] or rgb.shape[0] != flow.shape[0]:
            raise ValueError(f"FusionTwoStream needs rgb and flow of the same batch and frame size, got "
                             f"{tuple(rgb.shape)} and {tuple(flow.shape)}")
        rgb = rearrange(rgb, "b c t h w -> (b t) c h w")  # (B*T, 3, H, W)
        flow = rearrange(flow, "b c (t l) h w -> (b t) (l c) h w", t=t)  # (B*T, 2L, H, W)
        return rgb, flow

    @staticmethod
    def _run(x: torch.Tensor, stages: nn.ModuleList) -> torch.Tensor:
        for stage in stages:
            x = stage(x)
        return x

    def _to_clip(self, x: torch.Tensor) -> torch.Tensor:
        return rearrange(x, "(b t) c h w -> b c t h w", t=self.cfg.frames)  # (B, C, T, h, w)

    def forward_branches(self, inputs: Sequence[torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Logits ``(B, num_classes)`` of every branch: spatiotemporal [, temporal] [, spatial]."""
        rgb, flow = self._inputs(inputs)
        a = self._run(rgb, self.spatial)  # (B*T, D, h, w)
        b = self._run(flow, self.temporal)  # (B*T, D, h, w)
        out: Dict[str, torch.Tensor] = {}
        if self.late:
            pass  # nothing fused: only the two streams' own branches below
        elif self.cfg.fusion == "bilinear":
            fused = self.fuse(a, b)  # (B*T, D*D)
            scores = self.head(fused)  # (B*T, num_classes)
            out["spatiotemporal"] = rearrange(scores, "(b t) k -> b t k", t=self.cfg.frames).mean(dim=1)
        else:
            fused = self.fuse(a, b)  # (B*T, D', h, w)
            out["spatiotemporal"] = self.head(self._to_clip(self._run(fused, self.fused_stages)))  # (B, num_classes)
        if self.temporal_head is not None:
            out["temporal"] = self.temporal_head(self._to_clip(self._run(b, self.temporal_rest)))  # (B, num_classes)
        if self.spatial_head is not None:
            out["spatial"] = self.spatial_head(self._to_clip(self._run(a, self.spatial_rest)))  # (B, num_classes)
        return out

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        branches = list(self.forward_branches(inputs).values())
        if len(branches) == 1:
            return branches[0]  # (B, num_classes)
        probs = torch.stack([s.softmax(-1) for s in branches]).mean(dim=0)  # (B, num_classes)
        return probs.clamp_min(1e-12).log()  # (B, num_classes)

    def temporal_path(self) -> List[Tuple[str, nn.Module]]:
        """The layers along the fused branch, in order (for ``temporal_receptive_fields``)."""
        if self.late:  # no fused branch: the flow stream's own path
            parts = [("temporal", self.temporal), ("temporal_rest", self.temporal_rest),
                     ("temporal_head", self.temporal_head)]
        else:
            parts = [("temporal", self.temporal), ("fuse", self.fuse), ("fused_stages", self.fused_stages),
                     ("head", self.head)]
        return [(f"{p}.{n}" if n else p, m) for p, mod in parts for n, m in mod.named_modules()]

    def example_input(self, batch_size: int = 2, small: bool = False) -> Tuple[torch.Tensor, torch.Tensor]:
        """``(rgb (B, 3, T, H, W), flow (B, 2, T*L, H, W))``; ``small``: 32x32, the least 5 pools take."""
        c = self.cfg
        s = 2 ** len(c.stages) if small else c.size
        return (torch.randn(batch_size, 3, c.frames, s, s),
                torch.randn(batch_size, 2, c.frames * c.flow_frames, s, s))


def fusion_losses(model: FusionTwoStream, inputs: Sequence[torch.Tensor],
                  target: torch.Tensor) -> Dict[str, torch.Tensor]:
    """Cross-entropy of every branch and their sum (``"total"``): the final model trains on both losses."""
    losses = {k: F.cross_entropy(v, target) for k, v in model.forward_branches(inputs).items()}
    losses["total"] = torch.stack(list(losses.values())).sum()
    return losses


def _config(tiny: bool, overrides: dict) -> FusionConfig:
    return FusionConfig.tiny(**overrides) if tiny else replace(FusionConfig(), **overrides)


@register_model
def fusion_two_stream(tiny: bool = False, **overrides) -> FusionTwoStream:
    """Feichtenhofer et al. 2016's final model: VGG-16 streams, conv fusion at conv5, 3D conv + 3D pool,
    plus the temporal branch. ``fusion``, ``fuse_at``, ``temporal_fusion``, ``temporal_branch`` select
    the paper's other variants."""
    return FusionTwoStream(_config(tiny, overrides))


class BranchLosses(nn.Module):
    """A :class:`FusionTwoStream` that ``fit`` trains on the sum of its branches' losses (the paper's final
    model has two: the spatiotemporal and the temporal branch's).

    ``forward`` gives what the model gives (the log of the branches' averaged softmax scores, ``(B, num_classes)``) and
    keeps each branch's logits for :meth:`loss`, the ``loss_fn`` to hand to ``fit`` with it::

        two = BranchLosses(model)
        fit(two, train, val, loss_fn=two.loss, ...)
    """

    def __init__(self, model: FusionTwoStream):
        super().__init__()
        self.model = model
        self._branches: Dict[str, torch.Tensor] = {}

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        self._branches = self.model.forward_branches(inputs)  # name -> (B, num_classes)
        probs = torch.stack([s.softmax(-1) for s in self._branches.values()]).mean(dim=0)  # (B, num_classes)
        return probs.clamp_min(1e-12).log()  # (B, num_classes)

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Sum of the cross-entropies of the branches of the last ``forward`` (``logits`` is not used)."""
        return torch.stack([F.cross_entropy(v.float(), target) for v in self._branches.values()]).sum()


@torch.no_grad()
def branch_accuracies(model: FusionTwoStream, data, batch_size: int = 64) -> Dict[str, float]:
    """Validation accuracy of every branch of ``model`` alone and of their averaged scores (``"all"``).

    ``data``: items ``((rgb, flow), label)`` (e.g. :class:`vidlearn.flow.FlowPairs`); runs in eval mode on
    the model's device and gives the mode back. Late fusion's ``"spatial"`` and ``"temporal"`` are the
    appearance and motion streams alone (the Fusion chapter's miniature).
    """
    from torch.utils.data import DataLoader

    was_training, device = model.training, next(model.parameters()).device
    model.eval()
    correct: Dict[str, int] = {}
    n = 0
    for (rgb, flow), labels in DataLoader(data, batch_size=batch_size):
        branches = model.forward_branches((rgb.to(device), flow.to(device)))  # name -> (B, num_classes)
        branches["all"] = torch.stack([s.softmax(-1) for s in branches.values()]).mean(dim=0)  # as forward
        for name, logits in branches.items():
            correct[name] = correct.get(name, 0) + int((logits.argmax(1).cpu() == labels).sum())
        n += len(labels)
    model.train(was_training)
    return {name: c / n for name, c in correct.items()}
