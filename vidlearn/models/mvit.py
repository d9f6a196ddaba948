"""MViT and MViTv2: multiscale vision transformers with pooling attention.

Multiscale Vision Transformers. Fan, Xiong, Mangalam, Li, Yan, Malik, Feichtenhofer. ICCV 2021.
https://arxiv.org/abs/2104.11227
MViTv2: Improved Multiscale Vision Transformers for Classification and Detection. Li, Wu, Fan, Mangalam,
Xiong, Malik, Feichtenhofer. CVPR 2022. https://arxiv.org/abs/2112.01526

The idea: a ViT keeps one resolution and one width from the first block to the last. MViT brings back the
feature pyramid of CNNs: it starts with many tokens of few channels and, stage by stage, halves the space
resolution while doubling the width. The tool is *pooling attention* (MHPA): inside attention, a strided
depthwise 3D conv + LayerNorm pools the queries (where a stage begins: the output has fewer tokens) and the
keys/values (always, to about the last stage's 7 x 7 grid: attention costs ``N_q * N_kv``, not ``N^2``).
MViTv2 keeps the architecture and changes three things: a decomposed relative position bias (time, height,
width) instead of absolute embeddings, a residual pooling connection (the pooled query is added back to the
attention output), and widening inside attention (the stage's first block projects to the new width).

MViT-B / MViTv2-S on a 16 x 224 x 224 clip (tokens in ``(t h w)`` order; ``+1`` is the class token):

    clip (B, 3, 16, 224, 224)
      | cube embedding: Conv3d 3x7x7, stride 2x4x4        -> 8x56x56 = 25088 tokens (+1), width 96
      | + v1: space (56*56) + time (8) + class position embeddings;  v2: none (bias in attention)
      v
    scale2   1 block  8x56x56 = 25088 tokens  width  96  1 head   k,v pooled 1x8x8 -> 8x7x7 = 392
    scale3   2 blocks 8x28x28 =  6272 tokens  width 192  2 heads  k,v pooled 1x4x4 -> 392   } q pooled
    scale4  11 blocks 8x14x14 =  1568 tokens  width 384  4 heads  k,v pooled 1x2x2 -> 392   } 1x2x2 in the
    scale5   2 blocks  8x7x7  =   392 tokens  width 768  8 heads  k,v kernel 3, stride 1    } first block
      v
    LayerNorm -> class token (B, 768) -> Dropout -> Linear -> logits (B, num_classes)

One block (pre-norm; ``P`` is pooling, ``|`` marks v2 only):

    x -> LN -> qkv -> P_q(q), P_k(k), P_v(v) -> softmax(q k^T / sqrt(d) | + bias_rel(q)) v | + P_q(q) -> proj
    x -> MaxPool (where q is pooled; v1: x, v2: Linear(LN(x)) when the width grows) -------------> + = y
    y -> LN -> MLP (4x) -> + (v1: Linear(LN(y)) when the width grows, else y) -> out

Shapes: input ``(B, 3, T, H, W)`` float at exactly the size the model was built for (``num_frames`` x
``img_size`` x ``img_size``, 16 x 224 x 224 at paper size, 8 x 32 x 32 tiny); output ``(B, num_classes)``.

State dicts: parameter names and shapes are torchvision's (``torchvision.models.video.mvit_v1_b``,
``mvit_v2_s``), so their Kinetics-400 weights load through ``weights=`` (a path or a state dict; nothing is
downloaded) and give the same outputs. Some module names exist only for that: ``pool_q.norm_act.0`` is the
pooling's LayerNorm, ``attn.project.0`` the output projection, ``mlp.0``/``mlp.3`` the MLP's linears.

Where we depart from the papers or the official code (facebookresearch/SlowFast):
- The input size is fixed: other T x H x W are refused with an error naming the size the embeddings cover
  (v1's absolute embeddings, v2's relative tables). The official code resamples v1's embedding
  trilinearly and torchvision fails deep inside a reshape; resampling silently changes a trained model.
- The classifier dropout is 0.5 as in torchvision; the official K400 configs set ``DROPOUT_RATE: 0.0``.
- As in the official code and torchvision (and unlike a literal reading of the papers): the class token is
  pooled with no change (it is split off, the grid is pooled, it is put back) and is included in the
  pooling's LayerNorm; v2's residual pooling and relative bias skip it. v1 pools queries only where a
  stage begins; v2 runs a stride-1 query pooling conv in every block. The key/value stride adapts: it
  starts at 1x8x8 and is divided by every query stride, so keys/values stay at about 8x7x7.
- A relative position table whose length differs from ``2 * max(q, k) - 1`` (only for unusual sizes) is
  resampled linearly, as the official code does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import List, NamedTuple, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from vidlearn.layers.checks import check_num_classes, check_video
from vidlearn.layers.pooling_attention import (  # noqa: F401 (re-exported: the chapter reads them here)
    AttentionPool,
    conv_out,
    pool_tokens,
    relative_position_bias,
    relative_table,
)
from vidlearn.layers.transformer import drop_path
from vidlearn.registry import register_model
from vidlearn.weights import load_weights

Grid3 = Tuple[int, int, int]  # (T', H', W'): the token grid


@dataclass(frozen=True)
class MViTConfig:
    num_classes: int = 400  # Kinetics-400
    num_frames: int = 16  # the clip the model is built for: 16 frames (sampled every 4th: "16x4")
    img_size: int = 224
    in_chans: int = 3
    patch_kernel: Grid3 = (3, 7, 7)  # the cube embedding
    patch_stride: Grid3 = (2, 4, 4)
    patch_padding: Grid3 = (1, 3, 3)
    embed_dim: int = 96  # width of the first stage; doubles at every stage start
    depth: int = 16
    num_heads: int = 1  # heads of the first stage; double at every stage start (head width stays 96)
    stage_starts: Tuple[int, ...] = (1, 3, 14)  # blocks that open scale3, scale4, scale5 (MViT-B: 1+2+11+2)
    q_stride: Grid3 = (1, 2, 2)  # query pooling where a stage starts: halves H' and W'
    kv_stride: Grid3 = (1, 8, 8)  # key/value pooling of the first stage, divided by every q_stride after
    pool_kernel: Grid3 = (3, 3, 3)  # kernel of every pooling conv (q, k, v)
    mlp_ratio: float = 4.0
    # the MViTv2 changes (all off: MViT v1)
    relative_pos: bool = False  # decomposed relative position bias instead of absolute embeddings
    residual_pooling: bool = False  # add the pooled query to the attention output
    widen_in_attention: bool = False  # a stage's first block widens in attention (v1: in the MLP before)
    pool_q_every_block: bool = False  # a stride-1 query pooling conv in every block (v1: only at stage starts)
    dropout: float = 0.5  # before the classifier (torchvision; the official configs use 0.0)
    proj_dropout: float = 0.0  # after the attention projection and in the MLP (torchvision's attention_dropout)
    drop_path_rate: float = 0.2  # stochastic depth, linear from 0 to this in the last block
    norm_eps: float = 1e-6
    use_sdpa: bool = True  # False: the readable softmax path (same numbers up to rounding)

    def __post_init__(self):
        check_num_classes(self.num_classes, f"{type(self).__name__}.num_classes")
        if any(not 0 < s < self.depth for s in self.stage_starts) or list(self.stage_starts) != sorted(
                set(self.stage_starts)):
            raise ValueError(f"stage_starts={self.stage_starts} must be increasing block indices in 1..depth-1 "
                             f"(depth={self.depth})")

    @classmethod
    def tiny(cls, **overrides) -> MViTConfig:
        """All four stages, one block each, on 8 x 32 x 32 clips (a 4 x 8 x 8 token grid), width 16 to 128."""
        base = cls(num_classes=10, num_frames=8, img_size=32, embed_dim=16, depth=4, stage_starts=(1, 2, 3),
                   kv_stride=(1, 4, 4), dropout=0.0, drop_path_rate=0.1)
        return replace(base, **overrides)


class BlockSpec(NamedTuple):
    """One block's row of the architecture table (as torchvision's ``MSBlockConfig``)."""

    dim_in: int
    dim_out: int
    num_heads: int
    kernel_q: Grid3  # (1, 1, 1): no query pooling
    stride_q: Grid3
    kernel_kv: Grid3
    stride_kv: Grid3


def block_specs(cfg: MViTConfig) -> List[BlockSpec]:
    """The per-block widths, heads and pooling of ``cfg``: the papers' architecture table, one row per block."""
    widths, heads, kv, rows = [], [], [], []
    width, head, stride_kv = cfg.embed_dim, cfg.num_heads, cfg.kv_stride
    for i in range(cfg.depth):
        if i in cfg.stage_starts:  # a new stage: twice the width and heads, queries pooled
            width, head = 2 * width, 2 * head
            stride_kv = tuple(max(k // q, 1) for k, q in zip(stride_kv, cfg.q_stride))
        widths.append(width), heads.append(head), kv.append(stride_kv)
    for i in range(cfg.depth):
        starts = i in cfg.stage_starts
        if cfg.widen_in_attention:  # v2: the stage's first block widens (in its attention)
            dim_in, dim_out = widths[max(i - 1, 0)], widths[i]
        else:  # v1: the last block of the previous stage widens (in its MLP)
            dim_in, dim_out = widths[i], widths[min(i + 1, cfg.depth - 1)]
        stride_q = cfg.q_stride if starts else (1, 1, 1)
        kernel_q = cfg.pool_kernel if starts or cfg.pool_q_every_block else (1, 1, 1)
        rows.append(BlockSpec(dim_in, dim_out, heads[i], kernel_q, stride_q, cfg.pool_kernel, kv[i]))
    return rows


class MultiscaleAttention(nn.Module):
    """Multi-head pooling attention (MHPA), with v2's relative bias and residual pooling when asked.

    Shape: ``(B, 1+T*H*W, dim_in) -> (B, 1+T'*H'*W', dim_attn)`` and the query grid ``(T', H', W')``.
    """

    def __init__(self, spec: BlockSpec, dim_attn: int, grid: Grid3, cfg: MViTConfig):
        super().__init__()
        self.num_heads, self.head_dim, self.dim_attn = spec.num_heads, dim_attn // spec.num_heads, dim_attn
        self.residual_pooling, self.use_sdpa = cfg.residual_pooling, cfg.use_sdpa
        self.qkv = nn.Linear(spec.dim_in, 3 * dim_attn)
        self.project = nn.Sequential(nn.Linear(dim_attn, dim_attn),
                                     *([nn.Dropout(cfg.proj_dropout)] if cfg.proj_dropout > 0 else []))

        def pool(kernel, stride):  # no pooling for a 1x1x1 kernel of stride 1
            return AttentionPool(self.head_dim, kernel, stride, cfg.norm_eps) if math.prod(kernel) > 1 or \
                math.prod(stride) > 1 else None

        self.pool_q = pool(spec.kernel_q, spec.stride_q)
        self.pool_k = pool(spec.kernel_kv, spec.stride_kv)
        self.pool_v = pool(spec.kernel_kv, spec.stride_kv)
        self.rel_pos_h = self.rel_pos_w = self.rel_pos_t = None
        if cfg.relative_pos:  # table lengths as the official code and torchvision (so their weights load)
            size = max(grid[1:])
            span = 2 * max(size // spec.stride_q[1], size // spec.stride_kv[1]) - 1
            self.rel_pos_h = nn.Parameter(torch.zeros(span, self.head_dim))
            self.rel_pos_w = nn.Parameter(torch.zeros(span, self.head_dim))
            self.rel_pos_t = nn.Parameter(torch.zeros(2 * grid[0] - 1, self.head_dim))
            for table in (self.rel_pos_h, self.rel_pos_w, self.rel_pos_t):
                nn.init.trunc_normal_(table, std=0.02)

    def forward(self, x: torch.Tensor, grid: Grid3) -> Tuple[torch.Tensor, Grid3]:
        b, n, _ = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, self.head_dim)  # (B, 1+N, 3, heads, C)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each (B, heads, 1+N, C)
        k_grid = q_grid = grid
        if self.pool_k is not None:
            k, k_grid = self.pool_k(k, grid)  # (B, heads, 1+Nk, C): keys at a coarse grid
            v, _ = self.pool_v(v, grid)  # (B, heads, 1+Nk, C)
        if self.pool_q is not None:
            q, q_grid = self.pool_q(q, grid)  # (B, heads, 1+Nq, C): fewer queries -> fewer output tokens
        bias = None
        if self.rel_pos_h is not None:
            bias = relative_position_bias(q, q_grid, k_grid, self.rel_pos_t, self.rel_pos_h, self.rel_pos_w)
        if self.use_sdpa:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)  # (B, heads, 1+Nq, C)
        else:
            logits = (q / math.sqrt(self.head_dim)) @ k.transpose(-2, -1)  # (B, heads, 1+Nq, 1+Nk)
            out = (logits if bias is None else logits + bias).softmax(-1) @ v  # (B, heads, 1+Nq, C)
        if self.residual_pooling:  # v2: the pooled query joins the output (not the class token's)
            out = torch.cat([out[:, :, :1], out[:, :, 1:] + q[:, :, 1:]], dim=2)
        out = out.transpose(1, 2).reshape(b, out.shape[2], self.dim_attn)  # (B, 1+Nq, heads*C)
        return self.project(out), q_grid


class MultiscaleBlock(nn.Module):
    """A transformer block around pooling attention; see the module docstring for the residual paths.

    Shape: ``(B, 1+T*H*W, dim_in) -> (B, 1+T'*H'*W', dim_out)`` and the new grid.
    """

    def __init__(self, spec: BlockSpec, grid: Grid3, cfg: MViTConfig, drop_path_rate: float):
        super().__init__()
        self.widen_in_attention, self.drop_path = cfg.widen_in_attention, drop_path_rate
        dim_attn = spec.dim_out if cfg.widen_in_attention else spec.dim_in
        self.norm1 = nn.LayerNorm(spec.dim_in, eps=cfg.norm_eps)
        self.attn = MultiscaleAttention(spec, dim_attn, grid, cfg)
        self.norm2 = nn.LayerNorm(dim_attn, eps=cfg.norm_eps)
        hidden, drop = int(cfg.mlp_ratio * dim_attn), cfg.proj_dropout
        self.mlp = nn.Sequential(nn.Linear(dim_attn, hidden), nn.GELU(), nn.Dropout(drop),
                                 nn.Linear(hidden, spec.dim_out), nn.Dropout(drop))
        # the skip path follows the tokens: pooled as the queries (max pool), widened by a Linear
        self.pool_skip = None
        if math.prod(spec.stride_q) > 1:
            kernel = [s + 1 if s > 1 else 1 for s in spec.stride_q]
            self.pool_skip = nn.MaxPool3d(kernel, stride=spec.stride_q, padding=[k // 2 for k in kernel])
        self.project = nn.Linear(spec.dim_in, spec.dim_out) if spec.dim_in != spec.dim_out else None

    def forward(self, x: torch.Tensor, grid: Grid3) -> Tuple[torch.Tensor, Grid3]:
        x_norm = self.norm1(x)
        attn, new_grid = self.attn(x_norm, grid)  # (B, 1+N', dim_attn)
        if self.widen_in_attention and self.project is not None:
            x = self.project(x_norm)  # (B, 1+N, dim_out): v2 widens the skip with the attention
        if self.pool_skip is not None:
            x = pool_tokens(x[:, None], self.pool_skip, grid)[0][:, 0]  # (B, 1+N', D)
        x = x + drop_path(attn, self.drop_path, self.training)  # (B, 1+N', dim_attn)
        x_norm = self.norm2(x)
        skip = x if self.widen_in_attention or self.project is None else self.project(x_norm)  # v1 widens here
        return skip + drop_path(self.mlp(x_norm), self.drop_path, self.training), new_grid  # (B, 1+N', dim_out)


class PositionEncoding(nn.Module):
    """Prepends the class token; v1 adds separable absolute embeddings (space + time, and the class's).

    Shape: ``(B, T*H*W, D) -> (B, 1+T*H*W, D)``.
    """

    def __init__(self, dim: int, grid: Grid3, absolute: bool):
        super().__init__()
        self.class_token = nn.Parameter(torch.zeros(dim))
        self.spatial_pos = self.temporal_pos = self.class_pos = None
        if absolute:  # T + H*W vectors instead of T*H*W (names as torchvision's)
            self.spatial_pos = nn.Parameter(torch.zeros(grid[1] * grid[2], dim))
            self.temporal_pos = nn.Parameter(torch.zeros(grid[0], dim))
            self.class_pos = nn.Parameter(torch.zeros(dim))
        for p in self.parameters():
            nn.init.trunc_normal_(p, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cls = self.class_token.expand(x.shape[0], 1, -1)  # (B, 1, D)
        x = torch.cat([cls, x], dim=1)  # (B, 1+T*H*W, D)
        if self.spatial_pos is None:
            return x
        pos = (self.temporal_pos[:, None] + self.spatial_pos[None]).flatten(0, 1)  # (T*H*W, D), (t h w) order
        return x + torch.cat([self.class_pos[None], pos])  # (B, 1+T*H*W, D)


class MViT(nn.Module):
    """MViT (v1) or MViTv2, as ``cfg`` says.

    Shape:
        x: ``(B, in_chans, num_frames, img_size, img_size)`` float.
        returns: ``(B, num_classes)`` logits.
    """

    def __init__(self, cfg: MViTConfig):
        super().__init__()
        self.cfg = cfg
        self.name = "MViTv2" if cfg.relative_pos else "MViT"
        self.specs = block_specs(cfg)
        self.conv_proj = nn.Conv3d(cfg.in_chans, cfg.embed_dim, cfg.patch_kernel, stride=cfg.patch_stride,
                                   padding=cfg.patch_padding)  # the cube embedding
        grid = conv_out((cfg.num_frames, cfg.img_size, cfg.img_size), cfg.patch_kernel, cfg.patch_stride,
                        cfg.patch_padding)
        self.grid = grid  # (T', H', W') of the embedded tokens
        self.pos_encoding = PositionEncoding(cfg.embed_dim, grid, absolute=not cfg.relative_pos)
        self.blocks = nn.ModuleList()
        for i, spec in enumerate(self.specs):
            self.blocks.append(MultiscaleBlock(spec, grid, cfg, cfg.drop_path_rate * i / max(cfg.depth - 1, 1)))
            if math.prod(spec.stride_q) > 1:  # the grid the next block sees
                grid = conv_out(grid, spec.kernel_q, spec.stride_q, [k // 2 for k in spec.kernel_q])
        self.norm = nn.LayerNorm(self.specs[-1].dim_out, eps=cfg.norm_eps)
        self.head = nn.Sequential(nn.Dropout(cfg.dropout), nn.Linear(self.specs[-1].dim_out, cfg.num_classes))
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)

    @property
    def min_size(self) -> Tuple[int, int]:
        """The frame size the embeddings cover (the only one taken)."""
        return (self.cfg.img_size, self.cfg.img_size)

    def stages(self) -> List[List[int]]:
        """The block indices of each stage (scale2, scale3, ...)."""
        bounds = [0, *self.cfg.stage_starts, self.cfg.depth]
        return [list(range(a, b)) for a, b in zip(bounds, bounds[1:])]

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Cube embedding + class token (+ v1 position embeddings): ``(B, C, T, H, W) -> (B, 1+T'H'W', D)``."""
        cfg = self.cfg
        check_video(x, channels=cfg.in_chans, min_size=self.min_size, model=self.name)
        if tuple(x.shape[2:]) != (cfg.num_frames, cfg.img_size, cfg.img_size):
            what = "relative position tables" if cfg.relative_pos else "position embeddings"
            raise ValueError(
                f"{self.name} has {what} for T x H x W = {cfg.num_frames} x {cfg.img_size} x {cfg.img_size} "
                f"clips, got {x.shape[2]} x {x.shape[3]} x {x.shape[4]} (shape {tuple(x.shape)}); sample "
                f"{cfg.num_frames} frames and crop to {cfg.img_size}, or build the model with num_frames= "
                "and img_size= (pretrained weights then no longer fit)"
            )
        x = self.conv_proj(x)  # (B, D, T', H', W')
        return self.pos_encoding(x.flatten(2).transpose(1, 2))  # (B, 1+T'*H'*W', D)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The normalised class token after the last stage: ``(B, C, T, H, W) -> (B, D_last)``."""
        x, grid = self.embed(x), self.grid  # (B, 1+T'H'W', D)
        for block in self.blocks:
            x, grid = block(x, grid)  # (B, 1+N', D')
        return self.norm(x[:, 0])  # (B, D_last): LayerNorm is per token, so only the class token's

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(features)  # (B, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))  # (B, num_classes)

    def example_input(self, batch_size: int = 2, small: bool = False) -> torch.Tensor:
        """A random clip of the configured size (``small`` too: the embeddings take only that size)."""
        return torch.randn(batch_size, self.cfg.in_chans, self.cfg.num_frames, self.cfg.img_size,
                           self.cfg.img_size)


class StageShape(NamedTuple):
    tokens: int  # T' * H' * W' (the class token not counted)
    t: int
    h: int
    w: int
    channels: int  # the width the stage's attention works at


@torch.no_grad()
def stage_shapes(model: MViT, x: Optional[torch.Tensor] = None) -> List[StageShape]:
    """Token grid and width of every stage, measured on ``x`` (default: ``model.example_input(1)``).

    Read off the output of each stage's first attention (where queries are pooled and, in v2, the width
    grows). Runs on any device, ``"meta"`` included (shapes without compute).
    """
    x = model.example_input(1) if x is None else x
    seen = {}
    hooks = [model.blocks[blocks[0]].attn.register_forward_hook(
        lambda m, i, out, s=s: seen.__setitem__(s, (out[0].shape[-1], out[1]))) for s, blocks in
        enumerate(model.stages())]
    was_training = model.training
    try:  # eval mode: shapes only, and no drop-path mask (random numbers on "meta" fail on older torch)
        model.eval()
        with torch.no_grad():
            model(x)
    finally:
        model.train(was_training)
        for h in hooks:
            h.remove()
    return [StageShape(math.prod(g), *g, c) for c, g in (seen[s] for s in sorted(seen))]


# the three MViTv2 changes; everything else is shared with MViT-B
V2 = dict(relative_pos=True, residual_pooling=True, widen_in_attention=True, pool_q_every_block=True)


def _build(tiny: bool, num_classes: Optional[int], weights, overrides: dict) -> MViT:
    if num_classes is not None:
        overrides["num_classes"] = num_classes
    model = MViT(MViTConfig.tiny(**overrides) if tiny else MViTConfig(**overrides))
    if weights is not None:
        load_weights(model, weights)  # names missing/unexpected keys, refuses shape mismatches
    return model


@register_model
def mvit_v1_b(num_classes: Optional[int] = None, tiny: bool = False, weights=None, **overrides) -> MViT:
    """MViT-B 16x4 (Fan et al. 2021) as torchvision's ``mvit_v1_b``; ``weights=``: a path or a state dict.

    ``num_classes`` defaults to 400 (Kinetics-400), 10 when ``tiny``; ``overrides`` are fields of
    :class:`MViTConfig`.
    """
    return _build(tiny, num_classes, weights, overrides)


@register_model
def mvit_v2_s(num_classes: Optional[int] = None, tiny: bool = False, weights=None, **overrides) -> MViT:
    """MViTv2-S 16x4 (Li et al. 2022) as torchvision's ``mvit_v2_s``; arguments as :func:`mvit_v1_b`."""
    return _build(tiny, num_classes, weights, {**V2, **overrides})
