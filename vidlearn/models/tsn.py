"""TSN: Temporal Segment Networks, long-range structure from K sparsely sampled snippets.

Temporal Segment Networks: Towards Good Practices for Deep Action Recognition
Limin Wang, Yuanjun Xiong, Zhe Wang, Yu Qiao, Dahua Lin, Xiaoou Tang, Luc Van Gool. ECCV 2016.
https://arxiv.org/abs/1608.00859

The idea: a two-stream network sees a single frame (or 10 flow fields), a few percent of a video, yet
actions unfold over seconds. TSN splits the video into K equal segments, samples one short *snippet* per
segment (one RGB frame, or L stacked flow fields), runs the same 2D network on each and merges the K
class-score vectors with a *segmental consensus* (average works best) before the softmax, so the loss
and its gradient see the whole video at the cost of K frames. The paper's good practices, all here:
cross-modality pre-training (the flow network starts from ImageNet RGB weights, the first conv's filters
averaged over RGB and replicated over the 2L flow channels), partial BN (every batch norm frozen, its
statistics *and* scale/shift, except the first), high dropout, and corner cropping + scale jittering
(``vidlearn.data.transforms``; segments from ``vidlearn.data.samplers.SegmentSampler``). UCF-101 (3 splits):
RGB 85.1%, flow 89.7%, RGB + flow 94.0% (BN-Inception, K = 3).

    video --K segments--> snippet_1 ... snippet_K --[shared 2D CNN]--> scores_1 ... scores_K
                                                                          |  consensus (avg/max/weighted)
                                                                          v
                                                                     (B, num_classes)
    tsn_two_stream: softmax(RGB TSN) x 1 + softmax(flow TSN) x 1.5, weighted average (the paper's 1:1.5)

Backbone: any of ``vidlearn.layers.cnn2d.BACKBONES``; the paper's BN-Inception is not in torchvision, so
paper size uses torchvision's GoogLeNet (Inception v1 *with* batch norm, its nearest relative).

Shapes: RGB ``(B, 3, K, H, W)`` (one frame per segment); flow ``(B, 2, K*L, H, W)``, segment k's snippet
being fields ``k*L ... k*L + L - 1``, stacked to 2L channels ``[x_1, y_1, ..., x_L, y_L]``; output
``(B, num_classes)`` logits.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from einops import rearrange

from vidlearn.layers.checks import check_num_classes, check_video, min_side
from vidlearn.layers.cnn2d import WeightsLike, build_backbone
from vidlearn.models.two_stream import unpack_pair
from vidlearn.registry import register_model


@dataclass(frozen=True)
class TSNConfig:
    num_classes: int = 101  # UCF-101
    backbone: str = "googlenet"  # stand-in for BN-Inception; any of cnn2d.BACKBONES
    widths: Tuple[int, ...] = (16, 32, 64)  # only for backbone="tiny"
    segments: int = 3  # K
    modality: str = "rgb"  # "rgb" (one frame per snippet) or "flow" (L stacked flow fields)
    flow_frames: int = 5  # L
    consensus: str = "avg"  # "avg", "max" or "weighted" (learned, softmax-normalised segment weights)
    dropout: Optional[float] = None  # before the classifier; None: the paper's 0.8 (RGB) / 0.7 (flow)
    partial_bn: bool = True  # freeze every BN (statistics and affine) but the first
    size: int = 224

    def __post_init__(self):
        check_num_classes(self.num_classes, f"{type(self).__name__}.num_classes")

    @classmethod
    def tiny(cls, **overrides) -> TSNConfig:
        return replace(cls(num_classes=10, backbone="tiny", widths=(32, 64, 96), flow_frames=2, size=32),
                       **overrides)


class SegmentalConsensus(nn.Module):
    """Merge per-snippet class scores: ``avg``, ``max`` or ``weighted`` (learned weights summing to 1).

    Shape: ``(B, K, num_classes) -> (B, num_classes)``. For K identical snippets every mode returns the
    snippet's own scores.
    """

    def __init__(self, mode: str = "avg", segments: int = 3):
        super().__init__()
        if mode not in ("avg", "max", "weighted"):
            raise ValueError(f"unknown consensus {mode!r}; expected 'avg', 'max' or 'weighted'")
        self.mode, self.segments = mode, segments
        # zeros -> uniform weights after the softmax: starts as the average
        self.logits = nn.Parameter(torch.zeros(segments)) if mode == "weighted" else None

    def forward(self, scores: torch.Tensor) -> torch.Tensor:
        if self.mode == "avg":
            return scores.mean(dim=1)  # (B, K_cls)
        if self.mode == "max":
            return scores.amax(dim=1)  # (B, K_cls)
        if scores.shape[1] != self.segments:
            raise ValueError(f"weighted consensus was built for {self.segments} segments, got {scores.shape[1]}")
        w = self.logits.softmax(0)  # (K,)
        return torch.einsum("bkc,k->bc", scores, w)  # (B, K_cls)


class TSN(nn.Module):
    """Temporal Segment Network for one modality.

    Shape:
        x: RGB ``(B, 3, K', H, W)`` or flow ``(B, 2, K'*L, H, W)``; ``K'`` may differ from ``segments``
            at test time (e.g. 25) except with ``weighted`` consensus.
        returns: ``(B, num_classes)`` logits (the consensus of the snippet scores).
    """

    def __init__(self, cfg: TSNConfig, weights: WeightsLike | None = None):
        super().__init__()
        if cfg.modality not in ("rgb", "flow"):
            raise ValueError(f"unknown modality {cfg.modality!r}; expected 'rgb' or 'flow'")
        self.cfg = cfg
        self.in_channels = 3 if cfg.modality == "rgb" else 2
        self.snippet_len = 1 if cfg.modality == "rgb" else cfg.flow_frames
        # weights: an RGB state dict of the backbone; for flow it gets cross-modality initialised
        self.backbone = build_backbone(cfg.backbone, self.in_channels * self.snippet_len, cfg.widths, weights)
        dropout = cfg.dropout if cfg.dropout is not None else (0.8 if cfg.modality == "rgb" else 0.7)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(self.backbone.out_dim, cfg.num_classes)
        self.min_size = (min_side(self.backbone),) * 2  # smallest H x W the 2D CNN takes
        self.consensus = SegmentalConsensus(cfg.consensus, cfg.segments)
        if cfg.partial_bn:
            for bn in self.frozen_bns():
                bn.weight.requires_grad_(False)
                bn.bias.requires_grad_(False)
        self.train(self.training)  # frozen from construction: a new module is in training mode

    def frozen_bns(self) -> List[nn.modules.batchnorm._BatchNorm]:
        """Partial BN: every batch norm of the backbone but the first (empty if ``partial_bn`` is off)."""
        if not self.cfg.partial_bn:
            return []
        bns = [m for m in self.backbone.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        return bns[1:]

    def train(self, mode: bool = True) -> TSN:
        """As ``nn.Module.train``, but the partial-BN layers stay in eval mode (statistics frozen)."""
        super().train(mode)
        for bn in self.frozen_bns():
            bn.eval()
        return self

    def snippets(self, x: torch.Tensor) -> torch.Tensor:
        """Checked input to snippet batch: ``(B, C, K*L, H, W) -> (B*K, L*C, H, W)``."""
        name = "rgb" if self.cfg.modality == "rgb" else "flow"
        check_video(x, channels=self.in_channels, min_frames=self.snippet_len, min_size=self.min_size, name=name,
                    model="TSN")
        if x.shape[2] % self.snippet_len:
            raise ValueError(f"TSN(flow) expects K*L flow fields with L={self.snippet_len}, got "
                             f"T={x.shape[2]} (shape {tuple(x.shape)})")
        # within a snippet, fields are stacked as [x_1, y_1, x_2, y_2, ...]
        return rearrange(x, "b c (k l) h w -> (b k) (l c) h w", l=self.snippet_len)  # (B*K, L*C, H, W)

    def forward_snippets(self, x: torch.Tensor) -> torch.Tensor:
        """Per-snippet class scores ``(B, K, num_classes)``."""
        feats = self.backbone(self.snippets(x))  # (B*K, D)
        scores = self.fc(self.dropout(feats))  # (B*K, K_cls)
        return rearrange(scores, "(b k) c -> b k c", k=x.shape[2] // self.snippet_len)  # (B, K, K_cls)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.consensus(self.forward_snippets(x))  # (B, K_cls)

    def example_input(self, batch_size: int = 2, small: bool = False) -> torch.Tensor:
        """Random ``(B, C, K*L, H, W)`` at the configured size; ``small``: 64x64 (or less)."""
        s = min(64, self.cfg.size) if small else self.cfg.size
        return torch.randn(batch_size, self.in_channels, self.cfg.segments * self.snippet_len, s, s)


class TSNTwoStream(nn.Module):
    """RGB TSN + flow TSN, fused by a weighted average of their softmax scores (paper: 1 : 1.5).

    Shape:
        inputs: ``(rgb, flow)``: rgb ``(B, 3, K, H, W)``, flow ``(B, 2, K*L, H, W)``.
        returns: ``(B, num_classes)`` logits: the log of the weighted average of the two distributions.
    """

    def __init__(self, cfg: TSNConfig, fusion_weights: Sequence[float] = (1.0, 1.5)):
        super().__init__()
        self.cfg = cfg
        self.rgb = TSN(replace(cfg, modality="rgb"))
        self.flow = TSN(replace(cfg, modality="flow"))
        self.min_size = tuple(max(a, b) for a, b in zip(self.rgb.min_size, self.flow.min_size))
        w = torch.tensor([float(v) for v in fusion_weights])
        self.register_buffer("fusion_weights", w / w.sum(), persistent=False)

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        rgb, flow = unpack_pair(inputs, "TSNTwoStream")
        probs = torch.stack([self.rgb(rgb).softmax(-1), self.flow(flow).softmax(-1)])  # (2, B, K_cls)
        return torch.einsum("sbc,s->bc", probs, self.fusion_weights).clamp_min(1e-12).log()  # (B, K_cls)

    def example_input(self, batch_size: int = 2, small: bool = False) -> Tuple[torch.Tensor, torch.Tensor]:
        return self.rgb.example_input(batch_size, small), self.flow.example_input(batch_size, small)


def _config(tiny: bool, overrides: dict) -> TSNConfig:
    return TSNConfig.tiny(**overrides) if tiny else replace(TSNConfig(), **overrides)


@register_model
def tsn(tiny: bool = False, weights: WeightsLike | None = None, **overrides) -> TSN:
    """TSN (Wang et al. 2016), RGB by default (``modality="flow"`` for the temporal network).

    ``weights``: optional state dict/path of the backbone's RGB network (e.g. torchvision ImageNet
    weights saved locally); a flow TSN gets them through cross-modality initialisation.
    """
    return TSN(_config(tiny, overrides), weights=weights)


@register_model
def tsn_two_stream(tiny: bool = False, **overrides) -> TSNTwoStream:
    """TSN with both modalities, RGB and flow, fused 1 : 1.5 as in the paper."""
    return TSNTwoStream(_config(tiny, overrides))
