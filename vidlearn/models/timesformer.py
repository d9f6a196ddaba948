"""TimeSformer: a video transformer with all five space-time attention schemes of the paper.

Is Space-Time Attention All You Need for Video Understanding?
Bertasius, Wang, Torresani. ICML 2021. https://arxiv.org/abs/2102.05095

The idea: drop convolutions and run a ViT on the patches of all frames. Full (joint) attention over
``T*H*W`` patches costs ``O((THW)^2)``, so the paper factorises it: each block applies one or more
attention *steps*, and in each step a patch attends only to a subset of the others (see
:mod:`vidlearn.layers.attention_pattern` for the exact sets). Divided space-time attention (T+S), time
then space, was the best trade-off and is "TimeSformer"; the official code releases only S, ST and T+S.
We build all five from the paper: ``space`` (S), ``joint`` (ST), ``divided`` (T+S),
``sparse_local_global`` (L+G) and ``axial`` (T+W+H).

    clip (B, C, T, H, W)
      | PatchEmbed: P x P patches of every frame            -> (B, T*H'*W', D) tokens, (t h w) order
      | + space position embedding (shared by the frames) + time embedding (shared by the positions)
      | [class token] prepended
      v
    Block x depth:   for each step of the scheme (e.g. time, space):
      |                x = x + fc( Attention_step( LayerNorm(x) ) )    (no fc in the last step)
      |              x = x + MLP( LayerNorm(x) )
      v
    LayerNorm -> class token (B, D) -> Linear -> logits (B, num_classes)

Every step before a block's last one carries its own LayerNorm, attention and a zero-initialised output
projection (the paper's ``temporal_fc``), so the parameter counts match the paper's Table 1 (S and ST one
attention per block, T+S and L+G two, axial three) and a model built from image ViT weights starts as the
image model. The class token joins only the last step (replicated into each group, averaged back), as in
the official divided block. ``space`` (S) follows the official code: each frame is an image with its own
class token and no time embedding; the frames' class tokens are averaged, then the final LayerNorm is
applied (``vit.py``: ``torch.mean(x, 1)`` before ``self.norm``), then the head.

Initialisation and regularisation, against the official ``vit.py``: every block's ``temporal_fc`` starts at
zero. (The official loop reads ``if i > 0`` as if it skipped block 0, but its counter also counts the
``ModuleList`` holding the blocks, which comes first in ``self.blocks.modules()``; so block 0 is zeroed too.)
Stochastic depth grows linearly from 0 to ``drop_path_rate`` = 0.1 in the last block, the official default
(``VisionTransformer(drop_path_rate=0.1)`` and the ``TimeSformer`` builder). It drops a sample's whole
residual branch: one mask per sample, shared by the class token's and the patches' residuals of a step.
The official code applies ``drop_path`` inside the attention groups instead (one mask per frame in the
space step, one per patch position in the time step), so it can drop part of a sample's branch; we follow
the definition of stochastic depth (Huang et al. 2016).

Shapes: input ``(B, 3, T, H, W)`` float, ``H, W`` multiples of ``patch_size``, ``T <= num_frames`` (fewer
frames linearly resample the time embedding; another patch grid bicubically resamples the space one);
output ``(B, num_classes)`` logits. Pretrained K400 weights: :mod:`vidlearn.models.hf_timesformer`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Dict, List, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from einops import rearrange

from vidlearn.layers.attention import Attention, attend_in_groups, dense_weights
from vidlearn.layers.attention_pattern import SCHEMES, resolve_scheme
from vidlearn.layers.checks import check_num_classes, check_video
from vidlearn.layers.patch_embed import Grid3, PatchEmbed
from vidlearn.layers.transformer import Mlp, drop_path, drop_path_mask  # noqa: F401 (also importable from here)
from vidlearn.registry import register_model


@dataclass(frozen=True)
class TimeSformerConfig:
    attention: str = "divided"  # space, joint, divided, sparse_local_global, axial (or paper names: T+S...)
    num_classes: int = 400  # Kinetics-400
    img_size: int = 224  # field names follow timm's VisionTransformer
    patch_size: int = 16
    num_frames: int = 8  # frames the time embedding covers
    in_chans: int = 3
    embed_dim: int = 768  # ViT-B/16
    depth: int = 12
    num_heads: int = 12
    mlp_ratio: float = 4.0
    qkv_bias: bool = True
    drop_rate: float = 0.0  # dropout after embeddings, attention projections and MLP layers
    attn_drop_rate: float = 0.0  # dropout on attention weights
    drop_path_rate: float = 0.1  # stochastic depth, linear from 0 to this in the last block (official default)
    norm_eps: float = 1e-6
    use_sdpa: bool = True  # False: the readable softmax path (same numbers, slower)
    # std of the time embedding at initialisation. 0 (all zeros) as the official code, which starts from
    # ImageNet weights; with zeros, attention across frames is blind to their order until training moves
    # the embedding, so from scratch use about 0.5 (the TimeSformer chapter measures this)
    time_embed_std: float = 0.0

    def __post_init__(self):
        check_num_classes(self.num_classes, f"{type(self).__name__}.num_classes")

    @classmethod
    def tiny(cls, **overrides) -> TimeSformerConfig:
        base = cls(num_classes=10, img_size=32, patch_size=4, num_frames=8, embed_dim=64, depth=4,
                   num_heads=4, mlp_ratio=2.0, drop_rate=0.0, drop_path_rate=0.1)
        return replace(base, **overrides)


class AttentionStep(nn.Module):
    """One pre-norm attention step: ``x + fc(Attention(LayerNorm(x)))`` within the step's groups."""

    def __init__(self, step: str, cfg: TimeSformerConfig, with_cls: bool, out_fc: bool, drop_path: float):
        super().__init__()
        self.step, self.with_cls, self.drop_path = step, with_cls, drop_path
        self.norm = nn.LayerNorm(cfg.embed_dim, eps=cfg.norm_eps)
        self.attn = Attention(cfg.embed_dim, cfg.num_heads, cfg.qkv_bias, cfg.attn_drop_rate, cfg.drop_rate,
                              cfg.use_sdpa)
        self.fc = nn.Linear(cfg.embed_dim, cfg.embed_dim) if out_fc else nn.Identity()

    def forward(self, x: torch.Tensor, cls: torch.Tensor, grid: Grid3, return_weights: bool = False):
        """Shape: x ``(B, T*H'*W', D)``, cls ``(B, 1, D)`` -> the same, plus grouped weights or None."""
        y, cls_y, weights = attend_in_groups(self.attn, self.norm(x), self.step, grid,
                                             self.norm(cls) if self.with_cls else None, return_weights)
        mask = drop_path_mask(y, self.drop_path, self.training)  # (B, 1, 1) or None: one per sample
        x = x + self.fc(y if mask is None else y * mask)  # (B, N, D)
        if cls_y is not None:
            cls = cls + (cls_y if mask is None else cls_y * mask)  # (B, 1, D): the same mask
        return x, cls, weights


class Block(nn.Module):
    """A TimeSformer block: the scheme's attention steps in order, then the MLP (all pre-norm, residual)."""

    def __init__(self, cfg: TimeSformerConfig, steps: Tuple[str, ...], drop_path: float):
        super().__init__()
        last = len(steps) - 1
        self.steps = nn.ModuleDict({
            s: AttentionStep(s, cfg, with_cls=i == last, out_fc=i < last, drop_path=drop_path)
            for i, s in enumerate(steps)
        })
        self.norm2 = nn.LayerNorm(cfg.embed_dim, eps=cfg.norm_eps)
        self.mlp = Mlp(cfg.embed_dim, int(cfg.embed_dim * cfg.mlp_ratio), cfg.drop_rate)
        self.drop_path = drop_path

    def forward(self, x: torch.Tensor, cls: torch.Tensor, grid: Grid3, return_weights: bool = False):
        """Shape: x ``(B, T*H'*W', D)``, cls ``(B, 1, D)`` -> the same, plus ``{step: grouped weights}``."""
        weights = {}
        for name, step in self.steps.items():
            x, cls, weights[name] = step(x, cls, grid, return_weights)
        tokens = torch.cat([cls, x], dim=1)  # (B, 1+N, D)
        tokens = tokens + drop_path(self.mlp(self.norm2(tokens)), self.drop_path, self.training)  # same
        return tokens[:, 1:], tokens[:, :1], weights


class TimeSformer(nn.Module):
    """TimeSformer with the attention scheme ``cfg.attention``.

    Shape:
        x: ``(B, in_chans, T, H, W)`` float, ``1 <= T <= num_frames`` (any ``T`` for ``space``), ``H`` and
        ``W`` multiples of ``patch_size``.
        returns: ``(B, num_classes)`` logits.
    """

    def __init__(self, cfg: TimeSformerConfig):
        super().__init__()
        cfg = replace(cfg, attention=resolve_scheme(cfg.attention))
        if cfg.img_size % cfg.patch_size:
            raise ValueError(f"img_size={cfg.img_size} must be a multiple of patch_size={cfg.patch_size}")
        self.cfg = cfg
        self.name = f"TimeSformer({cfg.attention})"
        d, grid = cfg.embed_dim, cfg.img_size // cfg.patch_size
        self.patch_embed = PatchEmbed(cfg.patch_size, cfg.in_chans, d)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + grid * grid, d))  # class token + (h w) positions
        # space-only treats frames as separate images: no time embedding (as the official code)
        time_embed = None if cfg.attention == "space" else nn.Parameter(torch.zeros(1, cfg.num_frames, d))
        self.time_embed = time_embed
        self.pos_drop = nn.Dropout(cfg.drop_rate)
        rates = [cfg.drop_path_rate * i / max(cfg.depth - 1, 1) for i in range(cfg.depth)]  # linear in depth
        self.blocks = nn.ModuleList(Block(cfg, SCHEMES[cfg.attention], r) for r in rates)
        self.norm = nn.LayerNorm(d, eps=cfg.norm_eps)
        self.head = nn.Linear(d, cfg.num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        if self.time_embed is not None and self.cfg.time_embed_std > 0:
            nn.init.trunc_normal_(self.time_embed, std=self.cfg.time_embed_std)
        for block in self.blocks:  # every block's step output fc starts at zero (official: temporal_fc)
            for step in block.steps.values():
                if isinstance(step.fc, nn.Linear):
                    nn.init.zeros_(step.fc.weight)

    def embed(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, Tuple[int, int, int]]:
        """Patch tokens with position (and time) embeddings, and the class token.

        Shape: ``(B, C, T, H, W)`` -> patches ``(B', T'*H'*W', D)``, cls ``(B', 1, D)`` and the grid
        ``(T', H', W')``; ``B' = B, T' = T``, except for ``space``, where every frame is its own image:
        ``B' = B*T, T' = 1``.
        """
        check_video(x, channels=self.cfg.in_chans, min_frames=1, min_size=self.min_size, model=self.name)
        t = x.shape[2]
        if self.time_embed is not None and t > self.cfg.num_frames:
            raise ValueError(
                f"{self.name} has a time embedding for at most num_frames={self.cfg.num_frames} frames, got "
                f"T={t} (shape {tuple(x.shape)}); build it with num_frames={t} or sample fewer frames"
            )
        x, (t, h, w) = self.patch_embed(x, model=self.name)  # (B, T*H'*W', D)
        pos, g = self.pos_embed[:, 1:], self.cfg.img_size // self.cfg.patch_size  # (1, G*G, D)
        if (h, w) != (g, g):  # another patch grid: resample the space embedding
            pos = F.interpolate(rearrange(pos, "1 (h w) d -> 1 d h w", h=g), size=(h, w), mode="bicubic",
                                align_corners=False)  # (1, D, H', W')
            pos = rearrange(pos, "1 d h w -> 1 (h w) d")  # (1, H'*W', D)
        x = rearrange(x, "b (t n) d -> b t n d", t=t) + pos[:, None]  # (B, T, H'*W', D)
        cls = self.cls_token + self.pos_embed[:, :1]  # (1, 1, D)
        if self.time_embed is None:  # space-only: frames are separate images
            x = rearrange(x, "b t n d -> (b t) n d")  # (B*T, H'*W', D)
            return self.pos_drop(x), self.pos_drop(cls.expand(x.shape[0], -1, -1)), (1, h, w)
        time = self.time_embed
        if t != time.shape[1]:  # fewer frames: resample the time embedding
            time = F.interpolate(time.transpose(1, 2), t, mode="linear", align_corners=False)  # (1, D, T)
            time = time.transpose(1, 2)  # (1, T, D)
        x = rearrange(x + time[:, :, None], "b t n d -> b (t n) d")  # (B, T*H'*W', D)
        return self.pos_drop(x), self.pos_drop(cls.expand(x.shape[0], -1, -1)), (t, h, w)

    @property
    def min_size(self) -> Tuple[int, int]:
        """The smallest H x W: one patch (and H, W multiples of ``patch_size``)."""
        return (self.cfg.patch_size, self.cfg.patch_size)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The normalised class token, ``(B, C, T, H, W) -> (B, D)``.

        For ``space``: the frames' class tokens are averaged, then normalised (as the official code).
        """
        clip = x
        x, cls, grid = self.embed(clip)  # (B', N, D), (B', 1, D)
        for block in self.blocks:
            x, cls, _ = block(x, cls, grid)
        t = clip.shape[2] if self.time_embed is None else 1  # space-only: B' = B*T (explicit: B may be 0)
        cls = cls[:, 0].view(clip.shape[0], t, cls.shape[-1]).mean(1)  # (B, D): space-only averages frames
        return self.norm(cls)  # (B, D)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(features)  # (B, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))  # (B, num_classes)

    @torch.no_grad()
    def attention_maps(self, x: torch.Tensor) -> List[Dict[str, torch.Tensor]]:
        """Per block, ``{step: weights}``, each ``(B', heads, 1+N, 1+N)`` over [class token, patches].

        Row ``q`` holds the weights with which token ``q``'s output mixes every token's value in that step
        (zero outside the step's groups; a step without the class token leaves its row as identity).
        ``B'`` and ``N`` as in :meth:`embed`.
        """
        x, cls, grid = self.embed(x)
        maps = []
        for block in self.blocks:
            x, cls, weights = block(x, cls, grid, return_weights=True)
            block_maps = {}
            for name, w in weights.items():
                with_cls = block.steps[name].with_cls
                dense = dense_weights(w, name, grid, x.shape[0], with_cls)  # (B', nh, M, M)
                if not with_cls:  # the class token keeps its value in this step
                    dense = F.pad(dense, (1, 0, 1, 0))
                    dense[:, :, 0, 0] = 1.0
                block_maps[name] = dense  # (B', nh, 1+N, 1+N)
            maps.append(block_maps)
        return maps

    @torch.no_grad()
    def attention_rollout(self, x: torch.Tensor) -> torch.Tensor:
        """Attention rollout (Abnar & Zuidema, 2020) of the class token: how much each patch feeds it.

        Each step's head-averaged map ``A`` becomes ``(I + A) / 2`` (the residual), the steps and blocks are
        multiplied in order, and the class token's row is read off the patches.

        Shape: ``(B, C, T, H, W) -> (B, T, H', W')``, non-negative.
        """
        b, t = x.shape[0], x.shape[2]
        rollout = None
        for block_maps in self.attention_maps(x):
            for dense in block_maps.values():
                a = dense.mean(1)  # (B', M, M)
                a = 0.5 * a + 0.5 * torch.eye(a.shape[-1], dtype=a.dtype, device=a.device)
                rollout = a if rollout is None else a @ rollout  # (B', M, M)
        h = x.shape[3] // self.cfg.patch_size
        relevance = rollout[:, 0, 1:]  # (B', N)
        if self.time_embed is None:  # space-only: one image per frame, each 1/T of the features
            return rearrange(relevance, "(b t) (h w) -> b t h w", b=b, h=h) / t
        return rearrange(relevance, "b (t h w) -> b t h w", t=t, h=h)

    def example_input(self, batch_size: int = 2, small: bool = False) -> torch.Tensor:
        """A random clip of the configured size (``small``: 2 frames of a 2 x 2 patch grid, 8 tokens)."""
        t, s = (min(2, self.cfg.num_frames), 2 * self.cfg.patch_size) if small else (self.cfg.num_frames,
                                                                                     self.cfg.img_size)
        return torch.randn(batch_size, self.cfg.in_chans, t, s, s)


def _build(tiny: bool, overrides: dict) -> TimeSformer:
    cfg = TimeSformerConfig.tiny(**overrides) if tiny else replace(TimeSformerConfig(), **overrides)
    return TimeSformer(cfg)


def _scheme_model(scheme: str, tiny: bool, overrides: dict) -> TimeSformer:
    if "attention" in overrides:
        raise ValueError(f"timesformer_{scheme} fixes attention={scheme!r}; use create_model('timesformer', "
                         f"attention=...) to choose the scheme")
    return _build(tiny, {**overrides, "attention": scheme})


@register_model
def timesformer(tiny: bool = False, **overrides) -> TimeSformer:
    """TimeSformer (Bertasius et al. 2021): ViT-B/16 on 8 x 224 x 224; ``attention=`` picks the scheme."""
    return _build(tiny, overrides)


@register_model
def timesformer_space(tiny: bool = False, **overrides) -> TimeSformer:
    """TimeSformer with space-only attention (S): frames attend within themselves only."""
    return _scheme_model("space", tiny, overrides)


@register_model
def timesformer_joint(tiny: bool = False, **overrides) -> TimeSformer:
    """TimeSformer with joint space-time attention (ST): every patch attends to every patch."""
    return _scheme_model("joint", tiny, overrides)


@register_model
def timesformer_sparse_local_global(tiny: bool = False, **overrides) -> TimeSformer:
    """TimeSformer with sparse local-global attention (L+G): frame quadrants, then a stride-2 sub-grid."""
    return _scheme_model("sparse_local_global", tiny, overrides)


@register_model
def timesformer_axial(tiny: bool = False, **overrides) -> TimeSformer:
    """TimeSformer with axial attention (T+W+H): along time, then width, then height."""
    return _scheme_model("axial", tiny, overrides)
