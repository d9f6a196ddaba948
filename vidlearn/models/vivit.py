"""ViViT: a pure-transformer video classifier on tubelet tokens, with the paper's four attention variants.

ViViT: A Video Vision Transformer
Arnab, Dehghani, Heigold, Sun, Lučić, Schmid. ICCV 2021. https://arxiv.org/abs/2103.15691
Official code: google-research/scenic, ``scenic/projects/vivit/model.py`` (Flax).

The idea: cut the clip into non-overlapping *tubelets* of ``t x h x w`` pixels (paper: 2 x 16 x 16), embed
each with one linear map (a Conv3d with kernel = stride), so a token already mixes ``t`` frames, and run a
ViT on the ``n_t * n_h * n_w`` tokens (ordered ``(t h w)``). Joint attention over all of them costs
``O((n_t n_h n_w)^2)``, so the paper factorises space and time in three ways: between two encoders
(Model 2, the fastest in the paper's Table 2, where Model 1 is the most accurate), inside each block
(Model 3) or across the heads of one attention (Model 4). The embedding can start from an image ViT's 2D patch filter
(:func:`inflate_patch_embedding`: "central frame", the paper's best, or "filter inflation" as I3D).

    clip (B, C, T, H, W) --TubeletEmbed--> (B, n_t*n_h*n_w, D) tokens, (t h w) order, N = n_h*n_w

    Model 1 spatio_temporal            [cls] + tokens + pos (1 + n_t*N)
                                        -> Block x L: x + MSA(LN x) over all tokens; x + MLP(LN x)
                                        -> LN -> cls -> Linear
    Model 2 factorised_encoder          per time index i: [cls_s] + tokens_i + pos_s (1 + N)  (shared weights)
                                        -> spatial Block x L_s -> LN -> cls_s          = h_i  (B, n_t, D)
                                        [cls_t] + h + pos_t (1 + n_t) -> temporal Block x L_t -> LN -> cls_t
                                        -> Linear
    Model 3 factorised_self_attention   tokens + pos (n_t*N), no cls
                                        -> Block x L: x + MSA_s(LN x) within each time index;
                                                      x + MSA_t(LN x) across time at each position;
                                                      x + MLP(LN x)
                                        -> LN -> mean over tokens -> Linear
    Model 4 factorised_dot_product      tokens + pos (n_t*N), no cls
                                        -> Block x L: one MSA whose heads [0, nh/2) attend across time
                                           and [nh/2, nh) within the time index, concatenated -> W_O;
                                           x + MLP(LN x)
                                        -> LN -> mean over tokens -> Linear

Model 3 has no class token in the paper ("to avoid ambiguities when reshaping the input tokens between
spatial and temporal dimensions") and the official code refuses one for Models 3 and 4 (``classifier``
must be gap); both pool by a global average after the final LayerNorm. Models 1 and 2 use class tokens
(the K400 configs: ``classifier = 'token'``); ``pool="gap"`` switches them to averaging as the code allows.

Against TimeSformer (:mod:`vidlearn.models.timesformer`), proved in ``tests/test_vivit.py`` with mapped
weights: Model 1 with 1-frame tubelets *is* TimeSformer's joint (ST) scheme (its space + time embedding sum
is one full position embedding). Model 3 in ``time_space`` order is TimeSformer's divided (T+S) without
the class token and with global average pooling, TimeSformer's extra ``temporal_fc`` folded into the
temporal attention's output projection (two linear maps in a row are one). The real TimeSformer differs:
its class token joins every frame's spatial attention, so patches read it. Model 2's spatial encoder is
TimeSformer's space-only (S) model frame by frame (shared weights and space embedding, no time embedding):
the same normalised class token per frame, which S averages where Model 2 runs its temporal encoder.
Model 4 has no TimeSformer counterpart. :func:`attention_cost` gives the analytic cost per block.

Departures from paper and official code, and why:

- Model 3 order: the paper's Eqs. 4-6 attend space, then time (our default ``factorised_order``); the
  official block defaults to ``time_space``. The paper reports that the order does not matter.
- Model 3 initialisation: the paper zeroes *all* weights of the temporal MSA so it starts as a residual;
  with query, key, value and output all zero no gradient reaches them (only the output bias learns), so
  we zero only its output projection: the same identity start, and the branch can learn.
- Model 4: the official code gives the first half of the heads to time and the second to space; we keep
  that order (the paper writes ``Concat(Y_s, Y_t)``), so converted official weights would fit.
- GELU is the tanh approximation (``gelu="tanh"``), as Flax's ``nn.gelu`` and Hugging Face's
  ``gelu_fast``; ``gelu="none"`` gives the exact GELU of TimeSformer.
- Initialisation follows the book's ViTs and Hugging Face (truncated normal 0.02 for linear layers and
  position embeddings, zero class tokens) rather than Flax's xavier and zero-initialised head, so a fresh
  model's logits are not all zero. Stochastic depth (default off, as the K400 configs) applies to every
  block; the official factorised self-attention block ignores it.
- Other clip sizes: fewer frames than ``num_frames`` or another patch grid resample the position
  embeddings (bicubic in space, linear in time), as :mod:`vidlearn.models.timesformer` does.

Shapes: input ``(B, 3, T, H, W)`` float with ``T`` a multiple of the tubelet's ``t`` and at most
``num_frames``, ``H, W`` multiples of ``h, w``; output ``(B, num_classes)``. Hugging Face weights (Model 1):
:mod:`vidlearn.models.hf_vivit`. Used by the ViViT chapter.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Dict, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from einops import rearrange

from vidlearn.layers.attention import Attention, attend_in_groups, softmax_attention
from vidlearn.layers.checks import check_num_classes, check_video
from vidlearn.layers.patch_embed import TubeletEmbed, inflate_patch_embedding  # noqa: F401 (re-exported)
from vidlearn.layers.transformer import Mlp, drop_path
from vidlearn.registry import register_model
from vidlearn.weights import load_weights

VARIANTS = ("spatio_temporal", "factorised_encoder", "factorised_self_attention", "factorised_dot_product")
Grid3 = Tuple[int, int, int]  # (n_t, n_h, n_w): tubelets along time, rows, columns


@dataclass(frozen=True)
class ViViTConfig:
    variant: str = "spatio_temporal"  # Model 1..4, see VARIANTS
    num_classes: int = 400  # Kinetics-400
    img_size: int = 224
    num_frames: int = 32  # K400 setting: 32 frames (sampled with stride 2), 224 x 224 crops
    tubelet_size: Tuple[int, int, int] = (2, 16, 16)  # (t, h, w): "ViViT-B/16x2"
    in_chans: int = 3
    embed_dim: int = 768  # ViViT-B = ViT-B
    depth: int = 12  # layers; for Model 2 those of the spatial encoder
    temporal_depth: int = 4  # Model 2 only: layers of the temporal encoder (paper: L_t = 4)
    num_heads: int = 12
    mlp_ratio: float = 4.0
    qkv_bias: bool = True
    drop_rate: float = 0.0  # dropout after embeddings, attention projections and MLP layers
    attn_drop_rate: float = 0.0
    drop_path_rate: float = 0.0  # stochastic depth, linear from 0 to this in the last block
    norm_eps: float = 1e-6
    gelu: str = "tanh"  # GELU approximation: "tanh" (Flax nn.gelu, HF gelu_fast) or "none" (exact)
    pool: Optional[str] = None  # "token" or "gap"; None: the variant's own (token for 1 and 2, gap for 3, 4)
    factorised_order: str = "space_time"  # Model 3: "space_time" (paper) or "time_space" (official default)
    use_sdpa: bool = True  # False: the readable softmax path (same numbers)

    def __post_init__(self):
        check_num_classes(self.num_classes, f"{type(self).__name__}.num_classes")
        if self.variant not in VARIANTS:
            raise ValueError(f"unknown ViViT variant {self.variant!r}; expected one of {', '.join(VARIANTS)}")
        if self.pool not in (None, "token", "gap"):
            raise ValueError(f"pool must be 'token', 'gap' or None, got {self.pool!r}")
        if self.pool == "token" and self.variant in VARIANTS[2:]:
            raise ValueError(f"{self.variant} has no class token (paper Sec. 3.3, official code): use pool='gap'")
        if self.factorised_order not in ("space_time", "time_space"):
            raise ValueError(f"factorised_order must be 'space_time' or 'time_space', got {self.factorised_order!r}")
        if self.variant == "factorised_dot_product" and self.num_heads % 2:
            raise ValueError(f"factorised_dot_product splits the heads in two halves, got num_heads={self.num_heads}")
        t, h, w = self.tubelet_size
        if self.img_size % h or self.img_size % w or self.num_frames % t:
            raise ValueError(f"img_size={self.img_size} and num_frames={self.num_frames} must be multiples of the "
                             f"tubelet_size={tuple(self.tubelet_size)} (t, h, w)")

    @property
    def with_cls(self) -> bool:
        return (self.pool or ("token" if self.variant in VARIANTS[:2] else "gap")) == "token"

    @property
    def grid(self) -> Grid3:
        t, h, w = self.tubelet_size
        return self.num_frames // t, self.img_size // h, self.img_size // w

    @classmethod
    def tiny(cls, **overrides) -> ViViTConfig:
        base = cls(num_classes=10, img_size=32, num_frames=8, tubelet_size=(2, 8, 8), embed_dim=32, depth=2,
                   temporal_depth=1, num_heads=4, mlp_ratio=2.0)
        return replace(base, **overrides)


def resample_positions(pos: torch.Tensor, src: Grid3, dst: Grid3) -> torch.Tensor:
    """Position embeddings ``(1, prod(src), D)`` of a ``(t h w)`` grid resampled to ``dst``.

    Bicubic in space and linear in time (as TimeSformer's); unchanged when the grids agree.
    """
    if tuple(src) == tuple(dst):
        return pos
    t, h, w = src
    grid = rearrange(pos, "1 (t h w) d -> t d h w", t=t, h=h, w=w)  # (t, D, h, w)
    if (h, w) != tuple(dst[1:]):
        grid = F.interpolate(grid, size=dst[1:], mode="bicubic", align_corners=False)  # (t, D, h', w')
    seq = rearrange(grid, "t d h w -> (h w) d t")  # (h'w', D, t)
    if t != dst[0]:
        seq = F.interpolate(seq, size=dst[0], mode="linear", align_corners=False)  # (h'w', D, t')
    return rearrange(seq, "(h w) d t -> 1 (t h w) d", h=dst[1])  # (1, t'h'w', D)


class FactorisedDotProductAttention(Attention):
    """Model 4's attention: one ``qkv`` and one output projection (as :class:`Attention`), but heads
    ``[0, nh/2)`` attend across time (same position) and heads ``[nh/2, nh)`` within the time index.

    Shape: x ``(B, n_t*N, D)`` in ``(t h w)`` order and grid ``(n_t, n_h, n_w)`` -> ``(B, n_t*N, D)``.
    """

    def _attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        dropout_p = self.attn_drop if self.training else 0.0  # never in eval mode
        if self.use_sdpa:
            return F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p)  # the shape of q
        return softmax_attention(q, k, v, dropout_p=dropout_p)[0]

    def forward(self, x: torch.Tensor, grid: Grid3) -> torch.Tensor:
        t, half = grid[0], self.num_heads // 2
        qkv = rearrange(self.qkv(x), "b l (three nh hd) -> three b nh l hd", three=3, nh=self.num_heads)
        q, k, v = qkv.unbind(0)  # (B, nh, n_t*N, hd) each
        qt, kt, vt = (rearrange(z[:, :half], "b nh (t n) hd -> b nh n t hd", t=t) for z in (q, k, v))
        time = self._attend(qt, kt, vt)  # (B, nh/2, N, n_t, hd): across time, per position
        qs, ks, vs = (rearrange(z[:, half:], "b nh (t n) hd -> b nh t n hd", t=t) for z in (q, k, v))
        space = self._attend(qs, ks, vs)  # (B, nh/2, n_t, N, hd): within each time index
        out = torch.cat([rearrange(time, "b nh n t hd -> b nh (t n) hd"),
                         rearrange(space, "b nh t n hd -> b nh (t n) hd")], dim=1)  # (B, nh, L, hd): time first
        return self.proj_drop(self.proj(rearrange(out, "b nh l hd -> b l (nh hd)")))  # (B, L, D)


def _attention(cfg: ViViTConfig, cls=Attention) -> Attention:
    return cls(cfg.embed_dim, cfg.num_heads, cfg.qkv_bias, cfg.attn_drop_rate, cfg.drop_rate, cfg.use_sdpa)


class Block(nn.Module):
    """A pre-norm transformer block: ``x + MSA(LN x)``, ``x + MLP(LN x)``.

    ``attention="joint"``: every token attends to every token (Models 1, 2); ``"dot_product"``: the
    head-factorised attention of Model 4. Shape: ``(B, L, D)`` (and the grid) -> ``(B, L, D)``.
    """

    def __init__(self, cfg: ViViTConfig, drop_path: float, attention: str = "joint"):
        super().__init__()
        self.norm1 = nn.LayerNorm(cfg.embed_dim, eps=cfg.norm_eps)
        self.attn = _attention(cfg, FactorisedDotProductAttention if attention == "dot_product" else Attention)
        self.norm2 = nn.LayerNorm(cfg.embed_dim, eps=cfg.norm_eps)
        self.mlp = Mlp(cfg.embed_dim, int(cfg.embed_dim * cfg.mlp_ratio), cfg.drop_rate, cfg.gelu)
        self.drop_path = drop_path

    def forward(self, x: torch.Tensor, grid: Grid3) -> torch.Tensor:
        h = self.norm1(x)
        h = self.attn(h, grid) if isinstance(self.attn, FactorisedDotProductAttention) else self.attn(h)
        x = x + drop_path(h, self.drop_path, self.training)  # (B, L, D)
        return x + drop_path(self.mlp(self.norm2(x)), self.drop_path, self.training)


class FactorisedSelfAttentionBlock(nn.Module):
    """Model 3's block (paper Eqs. 4-6): ``x + MSA_s(LN x)`` within each time index, ``x + MSA_t(LN x)``
    across time at each position (in ``cfg.factorised_order``), then ``x + MLP(LN x)``.

    Shape: x ``(B, n_t*N, D)`` in ``(t h w)`` order, grid ``(n_t, n_h, n_w)`` -> ``(B, n_t*N, D)``.
    """

    def __init__(self, cfg: ViViTConfig, drop_path: float):
        super().__init__()
        order = ("space", "time") if cfg.factorised_order == "space_time" else ("time", "space")
        self.steps = nn.ModuleDict({s: nn.ModuleDict({"norm": nn.LayerNorm(cfg.embed_dim, eps=cfg.norm_eps),
                                                      "attn": _attention(cfg)}) for s in order})
        self.norm2 = nn.LayerNorm(cfg.embed_dim, eps=cfg.norm_eps)
        self.mlp = Mlp(cfg.embed_dim, int(cfg.embed_dim * cfg.mlp_ratio), cfg.drop_rate, cfg.gelu)
        self.drop_path = drop_path

    def forward(self, x: torch.Tensor, grid: Grid3) -> torch.Tensor:
        for name, step in self.steps.items():  # groups: (B*n_t, N, D) for space, (B*N, n_t, D) for time
            y = attend_in_groups(step["attn"], step["norm"](x), name, grid)[0]  # (B, n_t*N, D)
            x = x + drop_path(y, self.drop_path, self.training)
        return x + drop_path(self.mlp(self.norm2(x)), self.drop_path, self.training)


class Encoder(nn.Module):
    """[class token] + tokens + learned position embedding, the blocks, a final LayerNorm.

    ``grid`` is the token grid the position embedding covers (``(1, n_h, n_w)`` for Model 2's spatial
    encoder, ``(n_t, 1, 1)`` for its temporal one). Shape: ``(B, L, D)`` -> ``(B, [1 +] L, D)`` normalised.
    """

    def __init__(self, cfg: ViViTConfig, grid: Grid3, depth: int, attention: str = "joint"):
        super().__init__()
        d, self.grid, self.with_cls = cfg.embed_dim, tuple(grid), cfg.with_cls
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d)) if self.with_cls else None
        self.pos_embed = nn.Parameter(torch.zeros(1, int(self.with_cls) + grid[0] * grid[1] * grid[2], d))
        self.pos_drop = nn.Dropout(cfg.drop_rate)
        rates = [cfg.drop_path_rate * i / max(depth - 1, 1) for i in range(depth)]  # linear in depth
        make = (lambda r: FactorisedSelfAttentionBlock(cfg, r)) if attention == "factorised" else (
            lambda r: Block(cfg, r, attention))
        self.blocks = nn.ModuleList(make(r) for r in rates)
        self.norm = nn.LayerNorm(d, eps=cfg.norm_eps)

    def forward(self, x: torch.Tensor, grid: Grid3) -> torch.Tensor:
        n = int(self.with_cls)
        pos = resample_positions(self.pos_embed[:, n:], self.grid, grid)  # (1, L, D)
        x = x + pos
        if self.with_cls:
            cls = (self.cls_token + self.pos_embed[:, :1]).expand(x.shape[0], -1, -1)  # (B, 1, D)
            x = torch.cat([cls, x], dim=1)  # (B, 1+L, D)
        x = self.pos_drop(x)
        for block in self.blocks:
            x = block(x, grid)
        return self.norm(x)  # (B, [1+]L, D)

    def pool(self, x: torch.Tensor) -> torch.Tensor:
        """The class token, or the mean over tokens. Shape: ``(B, [1+]L, D) -> (B, D)``."""
        return x[:, 0] if self.with_cls else x.mean(1)


class ViViT(nn.Module):
    """ViViT, variant ``cfg.variant`` (Model 1 to 4).

    Shape:
        x: ``(B, in_chans, T, H, W)`` float; ``T`` a multiple of the tubelet's ``t``, ``t <= T <= num_frames``;
        ``H``, ``W`` multiples of its ``h``, ``w``.
        returns: ``(B, num_classes)`` logits.
    """

    def __init__(self, cfg: ViViTConfig):
        super().__init__()
        self.cfg, self.name = cfg, f"ViViT({cfg.variant})"
        nt, nh, nw = cfg.grid
        self.patch_embed = TubeletEmbed(cfg.tubelet_size, cfg.in_chans, cfg.embed_dim)
        if cfg.variant == "factorised_encoder":
            self.spatial = Encoder(cfg, (1, nh, nw), cfg.depth)  # shared by every time index
            self.temporal = Encoder(cfg, (nt, 1, 1), cfg.temporal_depth)
        else:
            kind = {"spatio_temporal": "joint", "factorised_self_attention": "factorised",
                    "factorised_dot_product": "dot_product"}[cfg.variant]
            self.encoder = Encoder(cfg, cfg.grid, cfg.depth, kind)
        self.head = nn.Linear(cfg.embed_dim, cfg.num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)
            elif isinstance(m, Encoder):
                nn.init.trunc_normal_(m.pos_embed, std=0.02)
        for m in self.modules():  # Model 3: the temporal MSA starts as the identity (paper Sec. 3.4)
            if isinstance(m, FactorisedSelfAttentionBlock):
                nn.init.zeros_(m.steps["time"]["attn"].proj.weight)

    @property
    def min_size(self) -> Tuple[int, int]:
        """The smallest H x W: one tubelet."""
        return tuple(self.cfg.tubelet_size[1:])

    def embed(self, x: torch.Tensor) -> Tuple[torch.Tensor, Grid3]:
        """Checked input to tubelet tokens. Shape: ``(B, C, T, H, W)`` -> ``(B, n_t*n_h*n_w, D)``, grid."""
        t = self.cfg.tubelet_size[0]
        check_video(x, channels=self.cfg.in_chans, min_frames=t, min_size=self.min_size, model=self.name)
        if x.shape[2] > self.cfg.num_frames:
            raise ValueError(
                f"{self.name} has position embeddings for at most num_frames={self.cfg.num_frames} frames, got "
                f"T={x.shape[2]} (shape {tuple(x.shape)}); build it with num_frames={x.shape[2]} or sample fewer"
            )
        return self.patch_embed(x, model=self.name)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The pooled representation, ``(B, C, T, H, W) -> (B, D)``."""
        tokens, (nt, nh, nw) = self.embed(x)  # (B, n_t*N, D)
        if self.cfg.variant != "factorised_encoder":
            return self.encoder.pool(self.encoder(tokens, (nt, nh, nw)))  # (B, D)
        frames = rearrange(tokens, "b (t n) d -> (b t) n d", t=nt)  # (B*n_t, N, D): one image per time index
        h = self.spatial.pool(self.spatial(frames, (1, nh, nw)))  # (B*n_t, D)
        h = h.view(x.shape[0], nt, h.shape[-1])  # (B, n_t, D); explicit sizes: B may be 0
        return self.temporal.pool(self.temporal(h, (nt, 1, 1)))  # (B, D)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(features)  # (B, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))  # (B, num_classes)

    def example_input(self, batch_size: int = 2, small: bool = False) -> torch.Tensor:
        """A random clip of the configured size (``small``: 2 x 2 x 2 tubelets, 8 tokens)."""
        t, h, w = self.cfg.tubelet_size
        if small:
            return torch.randn(batch_size, self.cfg.in_chans, min(2 * t, self.cfg.num_frames), 2 * h, 2 * w)
        return torch.randn(batch_size, self.cfg.in_chans, self.cfg.num_frames, self.cfg.img_size, self.cfg.img_size)


def attention_cost(variant: str, T: int, N: int, D: int, mlp_ratio: float = 4.0) -> Dict[str, int]:
    """What one block costs on ``T`` time indices of ``N`` spatial tokens of width ``D`` (no class token).

    Returns ``{"pairs", "attention_flops", "flops"}``: the (query, key) pairs compared (``(TN)^2`` joint,
    ``T N^2`` within time indices, ``N T^2`` across time), the FLOPs of the scores and the weighted sum
    (``4 * pairs * width`` of the heads that compare them; 2 FLOPs per multiply-add), and the whole block's
    FLOPs with the ``qkv``/output projections (``8 T N D^2`` per attention) and the MLP. For
    ``factorised_encoder`` it is one spatial-encoder layer over all ``T`` frames; a temporal-encoder layer
    costs ``attention_cost("spatio_temporal", T, 1, D)``. Compare with TimeSformer's
    :func:`vidlearn.layers.attention_pattern.block_flops`: ``spatio_temporal`` equals its ``joint``, and
    ``factorised_self_attention`` its ``divided`` minus the ``temporal_fc`` (``2 T N D^2``).
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown ViViT variant {variant!r}; expected one of {', '.join(VARIANTS)}")
    L, space, time = T * N, T * N * N, N * T * T  # tokens; pairs within time indices; pairs across time
    if variant == "spatio_temporal":
        pairs, attention, msas = L * L, 4 * L * L * D, 1
    elif variant == "factorised_encoder":
        pairs, attention, msas = space, 4 * space * D, 1
    elif variant == "factorised_self_attention":
        pairs, attention, msas = space + time, 4 * (space + time) * D, 2
    else:  # half the heads (D/2 of the width) on each axis
        pairs, attention, msas = space + time, 4 * (space + time) * (D // 2), 1
    flops = attention + msas * 2 * L * D * D * 4 + 4 * L * D * int(D * mlp_ratio)
    return {"pairs": pairs, "attention_flops": attention, "flops": flops}


def _build(tiny: bool, overrides: dict, fixed: Optional[str] = None, name: str = "") -> ViViT:
    weights = overrides.pop("weights", None)
    if fixed is not None:
        if overrides.get("variant", fixed) != fixed:
            raise ValueError(f"{name} fixes variant={fixed!r}; use create_model('vivit_b_16x2', variant=...)")
        overrides["variant"] = fixed
    cfg = ViViTConfig.tiny(**overrides) if tiny else replace(ViViTConfig(), **overrides)
    model = ViViT(cfg)
    if weights is not None:  # a vidlearn ViViT state dict (or a path to one); Hugging Face: hf_vivit
        load_weights(model, weights)
    return model


@register_model
def vivit_b_16x2(tiny: bool = False, **overrides) -> ViViT:
    """ViViT-B/16x2 (Model 1, spatio-temporal attention): 32 x 224 x 224 clips; ``variant=`` picks the model."""
    return _build(tiny, overrides)


@register_model
def vivit_b_16x2_fe(tiny: bool = False, **overrides) -> ViViT:
    """ViViT-B/16x2 factorised encoder (Model 2): a 12-layer spatial ViT per time index, 4 temporal layers."""
    return _build(tiny, overrides, "factorised_encoder", "vivit_b_16x2_fe")


@register_model
def vivit_b_16x2_fsa(tiny: bool = False, **overrides) -> ViViT:
    """ViViT-B/16x2 factorised self-attention (Model 3): space, then time attention in every block."""
    return _build(tiny, overrides, "factorised_self_attention", "vivit_b_16x2_fsa")


@register_model
def vivit_b_16x2_fdp(tiny: bool = False, **overrides) -> ViViT:
    """ViViT-B/16x2 factorised dot-product attention (Model 4): half the heads over space, half over time."""
    return _build(tiny, overrides, "factorised_dot_product", "vivit_b_16x2_fdp")
